"""Week-by-week contact for the digests' charts, read once from the ledger's table.

The analysis answers "is this seam drifting"; a digest also needs the shape
of the last weeks: one person's own cross-department contact, a team's
average, a seam's volume. ``ContactSeries`` holds those as small arrays and
answers questions about them; it never sees an e-mail it was not given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from agent.ledger import ContactTable, week_start

#: How many weeks the charts show (the analysis may read more).
CHART_WEEKS = 12


@dataclass(frozen=True)
class ContactSeries:
    """Cross-department contact per person and week, and contact per seam and week."""

    weeks: tuple[dt.date, ...]  # Monday of each week, oldest first
    recent_weeks: int  # how many of the last weeks count as "lately"
    index: Mapping[str, int]  # e-mail -> row of ``person``
    person: np.ndarray  # [people, weeks] cross-department contact (meeting-hour equivalents)
    departments: tuple[str, ...]
    seam: np.ndarray  # [weeks, departments, departments], symmetric
    _table: ContactTable
    _dept_of: np.ndarray
    _first_offset: int

    def of(self, email: str) -> tuple[float, ...]:
        row = self.index.get(email)
        if row is None:
            return (0.0,) * len(self.weeks)
        return tuple(float(x) for x in self.person[row])

    def average(self, emails: Iterable[str]) -> tuple[float, ...]:
        """The group's mean cross-department contact per member, week by week."""
        rows = [self.index[e] for e in emails if e in self.index]
        if not rows:
            return (0.0,) * len(self.weeks)
        return tuple(float(x) for x in self.person[rows].mean(axis=0))

    def between(self, a: str, b: str) -> tuple[float, ...]:
        i, j = self.departments.index(a), self.departments.index(b)
        return tuple(float(x) for x in self.seam[:, i, j])

    def with_departments(self, emails: Iterable[str], own: str) -> dict[str, tuple[float, float]]:
        """The group's weekly contact with each other department: (lately, before)."""
        rows = np.zeros(self._dept_of.size, bool)
        for e in emails:
            if e in self.index:
                rows[self.index[e]] = True
        t = self._table
        if t.a.size == 0 or not rows.any():
            return {}
        inside_a, inside_b = rows[t.a], rows[t.b]
        mine = inside_a ^ inside_b  # contact of one member with someone outside the group
        other = np.where(inside_a, t.b, t.a)[mine]
        dept = self._dept_of[other]
        week = t.week[mine] - self._first_offset
        weight = t.weight[mine]
        keep = (dept >= 0) & (week >= 0)
        n = len(self.weeks)
        grid = np.bincount(dept[keep] * n + week[keep], weights=weight[keep],
                           minlength=len(self.departments) * n).reshape(len(self.departments), n)
        split = n - self.recent_weeks
        out = {}
        for d, name in enumerate(self.departments):
            if name == own:
                continue
            out[name] = (float(grid[d, split:].mean()), float(grid[d, :split].mean()) if split else 0.0)
        return out


def contact_series(table: ContactTable, dept_of: np.ndarray, departments: Sequence[str],
                   email_of: Mapping[int, str], recent_weeks: int,
                   chart_weeks: int = CHART_WEEKS) -> ContactSeries:
    """The last ``chart_weeks`` weeks of ``table`` (which may span more)."""
    n = min(chart_weeks, table.n_weeks)
    first_offset = table.n_weeks - n
    cross = ((dept_of[table.a] != dept_of[table.b]) & (dept_of[table.a] >= 0)
             & (dept_of[table.b] >= 0) & (table.week >= first_offset)) if table.a.size else \
        np.zeros(0, bool)
    who = np.concatenate([table.a[cross], table.b[cross]]).astype(np.int64)
    week = np.concatenate([table.week[cross], table.week[cross]]).astype(np.int64) - first_offset
    weight = np.concatenate([table.weight[cross], table.weight[cross]])
    size = max(dept_of.size, 1)
    person = np.bincount(who * n + week, weights=weight, minlength=size * n).reshape(size, n)
    seam = _seam_weeks(table, dept_of, len(departments), first_offset, n)
    weeks = tuple(week_start(table.first_week + first_offset + i) for i in range(n))
    return ContactSeries(weeks, min(recent_weeks, n), {e: i for i, e in email_of.items()}, person,
                         tuple(departments), seam, table, dept_of, first_offset)


def _seam_weeks(table: ContactTable, dept_of: np.ndarray, n_depts: int, first_offset: int,
                n_weeks: int) -> np.ndarray:
    """Summed contact per week and department pair, ``[week, dept, dept]``, symmetric."""
    if table.a.size == 0:
        return np.zeros((n_weeks, n_depts, n_depts))
    da, db = dept_of[table.a], dept_of[table.b]
    keep = (da >= 0) & (db >= 0) & (da != db) & (table.week >= first_offset)
    lo, hi = np.minimum(da[keep], db[keep]), np.maximum(da[keep], db[keep])
    code = ((table.week[keep].astype(np.int64) - first_offset) * n_depts + lo) * n_depts + hi
    flat = np.bincount(code, weights=table.weight[keep], minlength=n_weeks * n_depts * n_depts)
    upper = flat.reshape(n_weeks, n_depts, n_depts)
    result: np.ndarray = upper + upper.transpose(0, 2, 1)
    return result
