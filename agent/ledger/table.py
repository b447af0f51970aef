"""The analysis input: pair weights over a range of weeks, read from the ledger."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from agent.ledger.conversations import WeekConversations
from agent.ledger.storage import LedgerFiles, WeekContacts


@dataclass(frozen=True)
class Conversations:
    """Every conversation of a table's weeks (``agent.ledger.conversations``): its week (an
    offset from the table's first week), its size and its members one after another.
    ``known`` says which weeks have them: a week with a part written before the ledger kept
    conversations (schema 5) does not."""

    week: np.ndarray  # [conversation] int32
    size: np.ndarray  # [conversation] int32
    member: np.ndarray  # int32, ``size`` entries per conversation
    known: np.ndarray  # [week] bool

    def reordered(self, order: np.ndarray) -> Conversations:
        """The same conversations with week ``w`` moved to ``order[w]``."""
        known = np.empty_like(self.known)
        known[order] = self.known
        return Conversations(order[self.week].astype(np.int32), self.size, self.member, known)


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
                            Conversations(empty, empty, empty, np.empty(0, bool)))
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
    weeks = [p.conversations or WeekConversations.empty() for p in parts]
    return Conversations(
        np.concatenate([np.full(len(w), offset, np.int32) for offset, w in enumerate(weeks)]),
        np.concatenate([w.size for w in weeks]).astype(np.int32),
        np.concatenate([w.member for w in weeks]).astype(np.int32),
        np.array([p.conversations is not None for p in parts], bool),
    )
