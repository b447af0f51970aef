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

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from agent.ledger import ContactTable


@dataclass(frozen=True)
class Carriers:
    """Capped contact per week along each *link*, a person and another department they
    reached at some point: with that department (``contact``, ``[week, link]``) and with
    everyone else (``away``, the same shape). Links are sorted by the pair of departments they
    run along, the person's department times ``n_depts`` plus the one reached; ``starts``
    holds where each such pair's links begin and ``pairs`` which pair that is; ``seen`` is
    ``contact`` summed per pair (``[week, pair]``). ``order`` says which stored week sits at
    each position (the week-shuffle placebo moves positions, not the arrays)."""

    contact: np.ndarray
    away: np.ndarray
    seen: np.ndarray
    starts: np.ndarray
    pairs: np.ndarray
    n_depts: int
    order: np.ndarray | None = None

    def reordered(self, order: np.ndarray) -> Carriers:
        """The same contact with the week at position ``order[k]`` moved to position ``k``."""
        moved = order if self.order is None else self.order[order]
        return replace(self, order=np.asarray(moved))


@dataclass(frozen=True)
class KnownRows:
    """A table's pair-weeks whose two people both have a department and that carry contact:
    the rows every seam signal counts, gathered once. Weeks, people and weights keep the
    table's types (views of it when every row is known) and departments are 32-bit: these
    arrays are a row each, and a cold analysis pays for every fresh byte. Cell numbers built
    from them (a week times the people, a person times the departments) fit 32 bits for any
    organisation this counts."""

    week: np.ndarray
    a: np.ndarray
    b: np.ndarray
    da: np.ndarray  # the departments of a and b
    db: np.ndarray
    weight: np.ndarray
    mail: np.ndarray | None = None  # as ``ContactTable.mail``
    alone: np.ndarray | None = None  # as ``Conversations.alone``

    @classmethod
    def of(cls, table: ContactTable, dept_of: np.ndarray) -> KnownRows:
        narrow_dept = dept_of.astype(np.int32)
        da = narrow_dept[table.a] if table.a.size else np.empty(0, np.int32)
        db = narrow_dept[table.b] if table.b.size else np.empty(0, np.int32)
        known = (da >= 0) & (db >= 0) & (table.weight > 0)
        mail = table.mail
        alone = None if table.conversations is None else table.conversations.alone
        if known.all():  # the usual case: everyone has a department, nothing to pick
            return cls(table.week, table.a, table.b, da, db, table.weight, mail, alone)
        return cls(table.week[known], table.a[known], table.b[known],
                   da[known], db[known], table.weight[known],
                   None if mail is None else mail[known], None if alone is None else alone[known])


def carriers(table: ContactTable, dept_of: np.ndarray, n_depts: int, cap: float,
             rows: KnownRows | None = None) -> Carriers:
    """Aggregate a table's pair-weeks by person, week and department reached (``rows``: the
    table's known rows, when the caller has them already)."""
    n_people, n_weeks = max(1, dept_of.size), table.n_weeks
    rows = KnownRows.of(table, dept_of) if rows is None else rows
    week, a, b, da, db = rows.week, rows.a, rows.b, rows.da, rows.db
    weight = np.minimum(rows.weight, cap).astype(np.float64)
    cells = n_weeks * n_people
    first_cell = week * n_people
    total = np.bincount(first_cell + a, weights=weight, minlength=cells)
    total += np.bincount(first_cell + b, weights=weight, minlength=cells)
    total = total.reshape(n_weeks, n_people)
    # only links to another department: contact inside one's own is never a seam
    # (positions, not a mask: picking a third of the rows by mask is twice as slow)
    across = np.flatnonzero(da != db)
    week, weight = week.take(across), weight.take(across)
    ends = (a.take(across) * n_depts + db.take(across),  # person, department reached
            b.take(across) * n_depts + da.take(across))
    present = np.zeros(n_people * n_depts, bool)  # a mark per possible link: no sort needed
    for code in ends:
        present[code] = True
    links = np.flatnonzero(present)
    pair = dept_of[links // n_depts] * n_depts + links % n_depts
    by_pair = np.argsort(pair, kind="stable")
    links, pair = links[by_pair], pair[by_pair]
    index = np.zeros(n_people * n_depts, np.int64)
    index[links] = np.arange(links.size)
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]]) if links.size else links
    narrow, seen = _contact_by_week(week, (index[ends[0]], index[ends[1]]), weight, n_weeks,
                                    links.size, starts)
    away = np.take(total.astype(np.float32), links // n_depts, axis=1)  # rows stay contiguous
    away -= narrow
    return Carriers(narrow, away, seen, starts, pair[starts], n_depts)


def _contact_by_week(week: np.ndarray, slots: tuple[np.ndarray, np.ndarray], weight: np.ndarray,
                     n_weeks: int, width: int, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's weight summed into its week's ``slots`` (both ends of the row): ``[week,
    slot]`` in single precision, and its sums over the slot runs beginning at ``starts`` in
    double. One week at a time: a whole table's worth of double-precision cells is tens of
    megabytes, and fresh arrays that large cost more to fault in than to fill."""
    contact = np.zeros((n_weeks, width), np.float32)
    seen = np.zeros((n_weeks, starts.size))
    if not width:
        return contact, seen
    if week.size > 1 and not bool(np.all(week[1:] >= week[:-1])):
        order = np.argsort(week, kind="stable")  # keeps each cell's rows in their order
        week, weight, slots = week[order], weight[order], (slots[0][order], slots[1][order])
    bounds = np.searchsorted(week, np.arange(n_weeks + 1))
    for w in range(n_weeks):
        rows = slice(bounds[w], bounds[w + 1])
        if rows.start == rows.stop:
            continue
        cells = np.bincount(slots[0][rows], weights=weight[rows], minlength=width)
        cells += np.bincount(slots[1][rows], weights=weight[rows], minlength=width)
        seen[w] = np.add.reduceat(cells, starts)
        # single precision halves what every placebo run reads; sums stay far within its range
        contact[w] = cells
    return contact, seen


def people_reaching(c: Carriers) -> np.ndarray:
    """``[week, dept, dept]``: the people of the first department in contact with the second
    that week (each person once per department reached)."""
    n, n_weeks = c.n_depts, c.contact.shape[0]
    counts = np.zeros((n_weeks, n * n))
    if c.starts.size:
        counts[:, c.pairs] = np.add.reduceat(c.contact > 0, c.starts, axis=1, dtype=np.int64)
    result: np.ndarray = counts.reshape(n_weeks, n, n)
    return result


def carried_contact(c: Carriers, baseline: slice, d1: np.ndarray,
                    d2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each seam's contact per week and what its people's contact elsewhere predicts
    (arrays ``[week, seam]`` for the department pairs ``d1[k], d2[k]``)."""
    n, n_weeks = c.n_depts, c.contact.shape[0]
    order = np.arange(n_weeks) if c.order is None else c.order
    seen = np.zeros((n_weeks, n * n))
    expected = np.zeros((n_weeks, n * n))
    if c.starts.size:
        in_baseline = np.zeros(n_weeks, np.float32)
        in_baseline[order[baseline]] = 1.0
        towards = (in_baseline @ c.contact).astype(np.float64)
        elsewhere = (in_baseline @ c.away).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(elsewhere > 1e-9, towards / np.where(elsewhere > 1e-9, elsewhere, 1.0),
                             0.0)
        seen[:, c.pairs] = c.seen[order]
        # each link's week elsewhere, at the link's baseline share, summed over the links of
        # each department pair: a product per pair reads ``away`` once, where scaling it
        # whole and summing the runs would read it three times
        weights = share.astype(np.float32)
        ends = np.r_[c.starts, weights.size]
        predicted = np.empty((n_weeks, c.starts.size))
        for k, (start, stop) in enumerate(pairwise(ends.tolist())):
            predicted[:, k] = c.away[:, start:stop] @ weights[start:stop]
        expected[:, c.pairs] = predicted[order]
    seen3, expected3 = seen.reshape(n_weeks, n, n), expected.reshape(n_weeks, n, n)
    observed = seen3[:, d1, d2] + seen3[:, d2, d1]
    exposure = np.maximum(expected3[:, d1, d2] + expected3[:, d2, d1], 0.0)
    return observed, exposure
