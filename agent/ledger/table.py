"""The analysis input: pair weights over a range of weeks, read from the ledger."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from agent.ledger.conversations import Groups, entries_of
from agent.ledger.storage import LedgerFiles, WeekContacts


@dataclass(frozen=True)
class Conversations:
    """A table's conversations (``agent.ledger.conversations``) beside its rows: ``alone``
    says whether a row's two people had one of just the two of them that week; the groups of
    three or more are listed in week order (``week``: an offset from the table's first week),
    with their size and their members one after another. ``known`` says which weeks have
    them: a week with a part written before the ledger kept conversations (schema 5) does
    not."""

    alone: np.ndarray  # [row] bool (False in a week that is not known)
    week: np.ndarray  # [group] int32
    size: np.ndarray  # [group]
    member: np.ndarray  # int32, ``size`` entries per group
    known: np.ndarray  # [week] bool

    def reordered(self, order: np.ndarray) -> Conversations:
        """The same conversations with week ``w`` moved to ``order[w]`` (still in week order)."""
        known = np.empty_like(self.known)
        known[order] = self.known
        week = order[self.week].astype(np.int32)
        moved = np.argsort(week, kind="stable")
        return Conversations(self.alone, week[moved], self.size[moved],
                             self.member[entries_of(self.size, moved)], known)


@dataclass
class ContactTable:
    """Pair weights over a range of weeks, as flat arrays (the analysis input)."""

    first_week: int
    last_week: int  # inclusive
    week: np.ndarray  # offset from first_week
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    # the part of each row's weight that came from messages: NaN in a week written before the
    # ledger kept it (schema 3), None when no week has it
    mail: np.ndarray | None = None
    conversations: Conversations | None = None  # None: not read (a table built by hand)

    @property
    def n_weeks(self) -> int:
        return self.last_week - self.first_week + 1

    def reordered(self, order: np.ndarray) -> ContactTable:
        """The same table with week ``w`` moved to ``order[w]`` (the week-shuffle placebo)."""
        return replace(self, week=order[self.week].astype(self.week.dtype),
                       conversations=None if self.conversations is None
                       else self.conversations.reordered(order))


def read_table(ledger: LedgerFiles, first_week: int, last_week: int) -> ContactTable:
    parts: list[WeekContacts] = []
    offsets: list[np.ndarray] = []
    for week in range(first_week, last_week + 1):
        contacts = ledger.load_week(week, digests=False)
        parts.append(contacts)
        offsets.append(np.full(contacts.a.size, week - first_week, np.int32))
    if not parts:
        empty = np.empty(0, np.int32)
        return ContactTable(first_week, last_week, empty, empty, empty, np.empty(0, np.float32),
                            np.empty(0, np.float32),
                            Conversations(np.empty(0, bool), empty, empty, empty,
                                          np.empty(0, bool)))
    return ContactTable(
        first_week,
        last_week,
        np.concatenate(offsets),
        np.concatenate([p.a for p in parts]),
        np.concatenate([p.b for p in parts]),
        np.concatenate([p.weight for p in parts]),
        np.concatenate([np.full(p.a.size, np.nan, np.float32) if p.mail is None else p.mail
                        for p in parts]),
        _conversations(parts),
    )


def _conversations(parts: list[WeekContacts]) -> Conversations:
    groups = [p.groups or Groups.empty() for p in parts]
    return Conversations(
        np.concatenate([np.zeros(p.a.size, bool) if p.alone is None else p.alone for p in parts]),
        np.concatenate([np.full(len(g), offset, np.int32) for offset, g in enumerate(groups)]),
        np.concatenate([g.size for g in groups]),
        np.concatenate([g.member for g in groups]),
        np.array([p.alone is not None and p.groups is not None for p in parts], bool),
    )
