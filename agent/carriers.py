"""What a seam's own people did elsewhere: the expectation of the *contact* signal.

A seam between two departments is carried by some of their people, often
a handful of them. When those people are on leave, swamped by work inside
their department or simply quieter, the seam's contact falls although
nothing changed between the departments; the two departments' totals
barely notice one person's leave, so against them the fall looks real, and
a quiet seam looks like drift.

So this signal predicts each week's contact across a seam from its own
people's contact *elsewhere* that week: a person who spent, in the
baseline, one unit of contact with department B for every four units with
anyone else (their *share* towards B, 0.25) is expected to spend a quarter
of whatever they do elsewhere on B in any later week. Summed over both
departments' people, that is the seam's exposure for ``agent.exposure``;
the observed count is the seam's contact, each pair's week capped (one long
thread cannot make a week). Holidays, leave and busy quarters move the
expectation, because they move what those people do elsewhere; a seam
whose people keep working but turn away from each other does not.

Contact with the other department is left out of "elsewhere", so a real
fall does not lower its own expectation. Each pair across the seam counts
from both ends, once for each person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.arrays import unique_sorted
from agent.ledger import ContactTable


@dataclass(frozen=True)
class Carriers:
    """Each person's capped contact per week: in all (``total``, ``[week, person]``) and
    towards each department (rows of ``week``, ``person``, ``reached``, ``weight``, one per
    person, week and department reached), with each person's department (``dept_of``)."""

    total: np.ndarray
    week: np.ndarray
    person: np.ndarray
    reached: np.ndarray
    weight: np.ndarray
    dept_of: np.ndarray
    n_depts: int

    def reordered(self, order: np.ndarray) -> Carriers:
        """The same contact with week ``order[k]`` moved to position ``k``."""
        position = np.empty_like(order)
        position[order] = np.arange(order.size, dtype=order.dtype)
        return Carriers(self.total[order], position[self.week], self.person, self.reached,
                        self.weight, self.dept_of, self.n_depts)


def carriers(table: ContactTable, dept_of: np.ndarray, n_depts: int, cap: float) -> Carriers:
    """Aggregate a table's pair-weeks by person, week and department reached."""
    n_people, n_weeks = max(1, dept_of.size), table.n_weeks
    da = dept_of[table.a] if table.a.size else np.empty(0, np.int64)
    db = dept_of[table.b] if table.b.size else np.empty(0, np.int64)
    known = (da >= 0) & (db >= 0) & (table.weight > 0)
    week = np.tile(table.week[known].astype(np.int64), 2)
    person = np.concatenate([table.a[known], table.b[known]]).astype(np.int64)
    reached = np.concatenate([db[known], da[known]]).astype(np.int64)
    weight = np.tile(np.minimum(table.weight[known].astype(np.float64), cap), 2)
    total = np.bincount(week * n_people + person, weights=weight,
                        minlength=n_weeks * n_people).reshape(n_weeks, n_people)
    code = (week * n_people + person) * n_depts + reached
    keys = unique_sorted(code)
    summed = np.bincount(np.searchsorted(keys, code), weights=weight, minlength=keys.size)
    return Carriers(total, (keys // n_depts // n_people).astype(np.int32),
                    (keys // n_depts % n_people).astype(np.int32),
                    (keys % n_depts).astype(np.int16), summed, dept_of, n_depts)


def carried_contact(c: Carriers, baseline: slice, d1: np.ndarray,
                    d2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each seam's contact per week and what its people's contact elsewhere predicts
    (arrays ``[week, seam]`` for the department pairs ``d1[k], d2[k]``)."""
    n, n_weeks, n_people = c.n_depts, c.total.shape[0], c.total.shape[1]
    in_baseline = (c.week >= baseline.start) & (c.week < baseline.stop)
    towards = np.bincount(c.person[in_baseline] * n + c.reached[in_baseline],
                          weights=c.weight[in_baseline], minlength=n_people * n).reshape(n_people, n)
    elsewhere = c.total[baseline].sum(axis=0)[:, None] - towards
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(elsewhere > 1e-12, towards / np.where(elsewhere > 1e-12, elsewhere, 1.0), 0.0)
    own = c.dept_of[:n_people] if c.dept_of.size >= n_people else np.full(n_people, -1)
    # everything a department's people did, at their shares: [week, their department, towards]
    predicted = np.zeros((n_weeks, n, n))
    for d in range(n):
        members = np.flatnonzero(own == d)
        if members.size:
            predicted[:, d, :] = c.total[:, members] @ share[members]
    # less what they did with that department itself, at the same shares (it is not elsewhere)
    row_dept = own[c.person]
    cell = (c.week.astype(np.int64) * n + row_dept) * n + c.reached
    seen = np.bincount(cell, weights=c.weight, minlength=n_weeks * n * n).reshape(n_weeks, n, n)
    itself = np.bincount(cell, weights=c.weight * share[c.person, c.reached],
                         minlength=n_weeks * n * n).reshape(n_weeks, n, n)
    expected = predicted - itself
    observed = seen[:, d1, d2] + seen[:, d2, d1]
    exposure = np.maximum(expected[:, d1, d2] + expected[:, d2, d1], 0.0)
    return observed, exposure
