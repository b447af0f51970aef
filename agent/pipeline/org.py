"""The organisation as one cycle sees it, and the progress callback the steps take."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agent.pseudonym import Pseudonymiser
from connectors.base import Person

Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """A progress callback that says nothing."""


@dataclass
class Org:
    """The directory as this cycle sees it, with pseudonyms both ways."""

    people: dict[str, Person]
    pseudonym: dict[str, str]
    by_pseudonym: dict[str, str]

    @property
    def departments(self) -> list[str]:
        return sorted({p.department for p in self.people.values()})


def load_org(people: Iterable[Person], pseudonymiser: Pseudonymiser) -> Org:
    by_email = {p.email: p for p in people}
    pseudonyms = {email: pseudonymiser.person(email) for email in by_email}
    return Org(by_email, pseudonyms, {v: k for k, v in pseudonyms.items()})
