"""What the sequential and the parallel sync share: the report they fill, stored
cursors under keyed names, and the opt-out and pause mail they notice on the way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from agent.ledger import AddStats
from agent.pipeline.org import Org
from agent.pseudonym import Pseudonymiser
from agent.store import Store
from connectors.base import Interaction, InteractionKind


@dataclass
class SyncReport:
    stats: AddStats = field(default_factory=AddStats)
    new: int = 0
    resyncs: list[str] = field(default_factory=list)
    opt_outs: list[str] = field(default_factory=list)  # senders who wrote to the opt-out address
    pauses: list[str] = field(default_factory=list)  # senders who wrote to the pause address


class KeyedCursors(Mapping[str, str]):
    """Stored cursors as connectors ask for them: by plain name, kept under a keyed one."""

    def __init__(self, stored: Mapping[str, str], pseudonymiser: Pseudonymiser) -> None:
        self._stored = stored
        self._key = pseudonymiser.cursor_key

    def __getitem__(self, name: str) -> str:
        return self._stored[self._key(name)]

    def __iter__(self) -> Iterator[str]:
        raise TypeError("stored cursor names are keyed and cannot be listed")

    def __len__(self) -> int:
        return len(self._stored)

    def keyed(self, cursors: Mapping[str, str]) -> dict[str, str]:
        """New cursors ready to store."""
        return {self._key(name): value for name, value in cursors.items()}


def _mailed(interactions: Iterable[Interaction], address: str) -> list[Interaction]:
    return [i for i in interactions
            if i.kind is InteractionKind.EMAIL and address in i.participants[1:]]


def opt_out_senders(interactions: Iterable[Interaction], address: str) -> list[str]:
    """People who mailed the opt-out address: metadata is enough, no body is read."""
    return [i.participants[0] for i in _mailed(interactions, address)]


def pause_requests(interactions: Iterable[Interaction], address: str) -> list[tuple[str, dt.datetime]]:
    """Who mailed the pause address ("not now") and when; as with opt-outs, no body is read."""
    return [(i.participants[0], i.start) for i in _mailed(interactions, address)]


def record_pauses(requests: Iterable[tuple[str, dt.datetime]], org: Org, store: Store,
                  report: SyncReport, now: dt.datetime) -> None:
    """Pause the senders who are people of the organisation from when they asked (a mail
    dated ahead of the clock counts from now)."""
    for sender, when in requests:
        if sender in org.pseudonym:
            store.add_pause(org.pseudonym[sender], min(when, now))
            report.pauses.append(sender)


def record_opt_outs(senders: Iterable[str], org: Org, store: Store, report: SyncReport) -> None:
    """Opt out the senders who are people of the organisation (others are ignored)."""
    for sender in senders:
        if sender in org.pseudonym:
            store.add_opt_out(org.pseudonym[sender])
            report.opt_outs.append(sender)
