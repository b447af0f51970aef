"""The analysis input: pair weights over a range of weeks, read from the ledger."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.ledger.storage import LedgerFiles, WeekContacts


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

    @property
    def n_weeks(self) -> int:
        return self.last_week - self.first_week + 1


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
                            np.empty(0, np.float32))
    return ContactTable(
        first_week,
        last_week,
        np.concatenate(offsets),
        np.concatenate([p.a for p in parts]),
        np.concatenate([p.b for p in parts]),
        np.concatenate([p.weight for p in parts]),
        np.concatenate([np.full(p.a.size, np.nan, np.float32) if p.mail is None else p.mail
                        for p in parts]),
    )
