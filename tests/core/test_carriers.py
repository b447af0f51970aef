"""The contact signal: a seam's contact against what its own people did elsewhere."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from agent.carriers import carried_contact, carriers
from agent.drift import CONTACT, SignalTest, detect, seam_weeks
from agent.ledger import ContactTable
from rules.model import Seams

DEPTS = ["A", "B", "C"]
WEEKS, PER_DEPT = 32, 6
BASELINE = slice(0, 26)  # the default windows: 26 baseline weeks, then 6 recent


def org(seed: int, *, leave: bool = False, turn_away: bool = False) -> tuple[ContactTable, np.ndarray]:
    """Three departments of six. A/B is carried by one person a side (0 and 6), who also
    work inside their departments. ``leave``: both carriers are away (no contact at all) for
    most of the recent weeks. ``turn_away``: they keep working inside, but stop writing across
    for the whole recent window."""
    rng = np.random.default_rng(seed)
    dept_of = np.repeat(np.arange(len(DEPTS)), PER_DEPT)
    rows: list[tuple[int, int, int, float]] = []
    for week in range(WEEKS):
        away = leave and week >= 27
        for d in range(len(DEPTS)):  # busy inside every department
            members = range(d * PER_DEPT, (d + 1) * PER_DEPT)
            for a in members:
                for b in members:
                    if a < b and rng.random() < 0.6 and not (away and {a, b} & {0, 6}):
                        rows.append((week, a, b, float(rng.integers(1, 6)) / 10))
        across = 0 if away or (turn_away and week >= 26) else int(rng.poisson(4))
        rows += [(week, 0, 6, 0.1)] * across  # one message a row: summed per pair-week below
        if rng.random() < 0.7:  # some B / C contact, steady
            rows.append((week, 7, 13, 0.3))
    table = ContactTable(0, WEEKS - 1, *_summed(rows))
    return table, dept_of


def _summed(rows: list[tuple[int, int, int, float]]) -> tuple[np.ndarray, ...]:
    weights: dict[tuple[int, int, int], float] = {}
    for week, a, b, w in rows:
        weights[(week, a, b)] = weights.get((week, a, b), 0.0) + w
    keys = sorted(weights)
    return (np.array([k[0] for k in keys], np.int32), np.array([k[1] for k in keys], np.int32),
            np.array([k[2] for k in keys], np.int32), np.array([weights[k] for k in keys], np.float32))


def contact_test(table: ContactTable, dept_of: np.ndarray,
                 pair: tuple[str, str]) -> dict[str, SignalTest]:
    weeks = seam_weeks(table, dept_of, len(DEPTS), Seams())
    results = {frozenset(r.departments): r for r in detect(weeks, DEPTS, Seams(min_volume=1))}
    return {t.signal: t for t in results[frozenset(pair)].tests}


def test_observed_is_the_seams_capped_contact_from_both_ends() -> None:
    table, dept_of = org(1)
    weeks = seam_weeks(table, dept_of, len(DEPTS), Seams(intensity_cap=0.25))
    observed, _ = carried_contact(carriers(table, dept_of, len(DEPTS), 0.25), BASELINE,
                                  np.array([0, 1]), np.array([1, 2]))
    assert np.allclose(observed[:, 0], 2 * weeks.capped[:, 0, 1])
    assert np.allclose(observed[:, 1], 2 * weeks.capped[:, 1, 2])


def test_the_baseline_expectation_matches_the_baseline() -> None:
    table, dept_of = org(2)
    observed, expected = carried_contact(carriers(table, dept_of, len(DEPTS), 1.0), BASELINE,
                                         np.array([0]), np.array([1]))
    assert np.isclose(observed[BASELINE].sum(), expected[BASELINE].sum())


def test_carriers_on_leave_lower_the_expectation_not_the_verdict() -> None:
    table, dept_of = org(3, leave=True)
    tests = contact_test(table, dept_of, ("A", "B"))
    observed, expected = carried_contact(carriers(table, dept_of, len(DEPTS), 1.0), BASELINE,
                                         np.array([0]), np.array([1]))
    usual = expected[BASELINE].mean()
    assert expected[27:].max() == 0 and observed[27:].max() == 0  # away: nothing expected
    assert expected[26] > 0.5 * usual
    # the ties test sees the seam collapse; the contact test knows its people were away
    assert tests["ties"].change < -0.5
    assert abs(tests[CONTACT].change) < 0.5 and tests[CONTACT].p > 0.05


def test_carriers_who_turn_away_are_a_fall() -> None:
    table, dept_of = org(4, turn_away=True)
    contact = contact_test(table, dept_of, ("A", "B"))[CONTACT]
    assert contact.change < -0.95
    assert contact.p < 0.01


def test_a_reordered_carriers_is_the_carriers_of_the_reordered_table() -> None:
    table, dept_of = org(5)
    order = np.random.default_rng(0).permutation(WEEKS)
    position = np.empty_like(order)
    position[order] = np.arange(WEEKS)
    shuffled = replace(table, week=position[table.week].astype(np.int32))
    pairs = (np.array([0, 0, 1]), np.array([1, 2, 2]))
    direct = carried_contact(carriers(shuffled, dept_of, len(DEPTS), 1.0), BASELINE, *pairs)
    moved = carried_contact(carriers(table, dept_of, len(DEPTS), 1.0).reordered(order), BASELINE,
                            *pairs)
    for a, b in zip(direct, moved, strict=True):
        assert np.allclose(a, b)
