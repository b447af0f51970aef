"""People's levels as numbers: a directory may write them as numbers or as names.

``people.csv`` (or a directory's level attribute) may say ``3`` or ``Senior``.
Pairing and peer circles compare levels as numbers, so a name is looked up in
the rules' ``levels:`` (``{Junior: 1, Senior: 3}``, or a list of names from
the lowest up); a name the rules do not map leaves the person's level unknown,
which pairing treats as fitting anyone, and is reported once per name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace

from agent.grouping import with_groups
from agent.pipeline.org import Org
from connectors.base import Person
from rules.model import Rules

log = logging.getLogger(__name__)


def level_number(label: str, levels: Mapping[str, int]) -> int | None:
    """The number a level label stands for: itself when it is one, else the rules' mapping."""
    text = label.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    by_case = {name.casefold(): number for name, number in levels.items()}
    return by_case.get(text.casefold())


def resolve_levels(people: Iterable[Person], levels: Mapping[str, int]
                   ) -> tuple[list[Person], dict[str, list[str]]]:
    """Everyone with a named level given its number; the names left unmapped, with who has them.

    A person whose directory entry already carries a number keeps it.
    """
    out: list[Person] = []
    unmapped: dict[str, list[str]] = {}
    for person in people:
        if person.level is not None or not person.level_label:
            out.append(person)
            continue
        number = level_number(person.level_label, levels)
        if number is None:
            unmapped.setdefault(person.level_label.strip(), []).append(person.email)
            out.append(person)
        else:
            out.append(replace(person, level=number))
    return out, {name: sorted(emails) for name, emails in sorted(unmapped.items())}


def unmapped_lines(unmapped: Mapping[str, list[str]], mapped: Mapping[str, int],
                   details: bool = False) -> list[str]:
    """One line per level name the rules do not map, with how many people carry it; with
    ``details``, who they are (for the terminal only: logs hold no addresses)."""
    if not unmapped:
        return []
    names = sorted(unmapped)
    example = ", ".join(names[:3])
    lines = []
    for name in names:
        count = len(unmapped[name])
        lines.append(f"{count} {'person' if count == 1 else 'people'}: level {name!r} is not a "
                     "number; map it in the rules' participants.levels (names lowest first, "
                     f"like levels: [{example}], or levels: {{{names[0]}: 1}}); until then the "
                     "level counts as unknown")
        if details:
            lines.append(f"  level {name!r}: {', '.join(unmapped[name])}")
    if mapped:
        lines.append(f"  (participants.levels maps: {', '.join(sorted(mapped))})")
    return lines


def with_levels(org: Org, rules: Rules) -> Org:
    """The organisation with named levels numbered by the rules; each unmapped name is
    logged once per cycle with how many people carry it (who, with -v)."""
    people, unmapped = resolve_levels(org.people.values(), rules.participants.levels)
    for line in unmapped_lines(unmapped, rules.participants.levels):
        log.warning("%s", line)
    if not any(p.level_label for p in org.people.values()):
        return org
    return Org({p.email: p for p in people}, org.pseudonym, org.by_pseudonym)


def as_ruled(org: Org, rules: Rules) -> Org:
    """The organisation as the rules see it: departments grouped, named levels numbered."""
    return with_levels(with_groups(org, rules.departments), rules)
