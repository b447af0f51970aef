"""The drift detector on synthetic weekly data: drops found, holidays and bursts ignored."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest

from agent.drift import (
    SeamResult,
    SeamWeeks,
    benjamini_hochberg,
    detect,
    detect_seams,
    drifting_only,
    seam_weeks,
)
from agent.ledger import ContactTable, Conversations
from rules.model import Seams

DEPTS = ["A", "B", "C", "D", "E", "F"]
PER_DEPT = 10
WEEKS = 32


def bursty_table(seed: int, drop: dict[frozenset[str], float] | None = None,
                 quiet_weeks: tuple[int, ...] = (), shuffle: bool = False) -> tuple[ContactTable, np.ndarray]:
    """Person pairs with negative-binomial weekly contact (bursty), optional planted drops."""
    rng = np.random.default_rng(seed)
    n = len(DEPTS) * PER_DEPT
    dept_of = np.repeat(np.arange(len(DEPTS)), PER_DEPT)
    rows: list[tuple[int, int, int, float]] = []
    for week in range(WEEKS):
        season = 0.3 if week in quiet_weeks else 1.0
        for d1 in range(len(DEPTS)):
            for d2 in range(d1, len(DEPTS)):
                base = 40.0 if d1 == d2 else 15.0
                factor = 1.0
                if drop and week >= WEEKS - 6:
                    factor = 1 - drop.get(frozenset((DEPTS[d1], DEPTS[d2])), 0.0)
                mean = base * season * factor
                # negative binomial: mean m, overdispersed (k=3: variance 15 + 225/3 at mean 15)
                count = rng.negative_binomial(3.0, 3.0 / (3.0 + mean)) if mean > 0 else 0
                for _ in range(count):
                    a = rng.integers(d1 * PER_DEPT, (d1 + 1) * PER_DEPT)
                    b = rng.integers(d2 * PER_DEPT, (d2 + 1) * PER_DEPT)
                    if a != b:
                        rows.append((week, min(a, b), max(a, b), 1.0))
    arr = np.array(rows)
    week = arr[:, 0].astype(np.int32)
    if shuffle:
        permutation = rng.permutation(WEEKS)
        week = permutation[week].astype(np.int32)
    table = ContactTable(0, WEEKS - 1, week, arr[:, 1].astype(np.int32), arr[:, 2].astype(np.int32),
                         arr[:, 3].astype(np.float32))
    assert n == dept_of.size
    return table, dept_of


SEAMS = Seams(min_volume=20)


def flagged(table: ContactTable, dept_of: np.ndarray) -> set[frozenset[str]]:
    return {frozenset(s.departments) for s in detect_seams(table, dept_of, DEPTS, SEAMS) if s.drifting}


def test_planted_drop_is_found() -> None:
    planted = {frozenset(("A", "B")): 0.8, frozenset(("C", "E")): 0.75}
    hits = 0
    false = 0
    for seed in range(10):
        found = flagged(*bursty_table(seed, planted))
        hits += len(found & set(planted))
        false += len(found - set(planted))
    # Weekly counts here are negative binomial with k=3 (week-to-week variation ~60 %),
    # far burstier than the bursty bench's organisations. The test judges the recent
    # weeks against the baseline's dispersion only (a calm, fallen recent window no
    # longer lends it power it does not have), so 16 of 20 is what it finds here;
    # tests/quality/test_bursty.py and bench/detection.py hold the detection figures.
    assert hits >= 15  # of 10 seeds × 2 planted pairs
    assert false <= 2


def test_quiet_weeks_across_the_org_are_not_drift() -> None:
    false = sum(len(flagged(*bursty_table(seed, quiet_weeks=(27, 28, 29, 30)))) for seed in range(10))
    assert false <= 2  # of 150 null pairs: the shares hold although the counts fall by 70 %


def test_placebo_shuffled_weeks_flag_almost_nothing() -> None:
    """Shuffling whole weeks keeps burstiness and removes any trend."""
    planted = {frozenset(("A", "B")): 0.8}
    false = sum(len(flagged(*bursty_table(seed, planted, shuffle=True))) for seed in range(10))
    assert false <= 2  # of 150 null pairs


def test_results_list_every_pair_with_volume_most_drifting_first() -> None:
    results = detect_seams(*bursty_table(2, {frozenset(("A", "B")): 0.8}), DEPTS, SEAMS)
    assert len(results) == 15
    assert results[0].departments == ("A", "B") and results[0].drifting
    assert all(not r.drifting for r in results[1:]) or results[1].score <= results[0].score


def test_ignored_and_named_pairs() -> None:
    table, dept_of = bursty_table(2, {frozenset(("A", "B")): 0.8})
    seams = Seams(min_volume=20, ignore_pairs=[("B", "A")], ignore_departments=["F"])
    names = {frozenset(s.departments) for s in detect_seams(table, dept_of, DEPTS, seams)}
    assert frozenset(("A", "B")) not in names and not any("F" in n for n in names)
    # the seam fell by 89 % over its recent weeks and 96 % over their last half: short of 99 %
    strict = Seams.model_validate({"min_volume": 20, "pairs": [{"departments": ["A", "B"], "drop": 0.99}]})
    ab = next(s for s in detect_seams(table, dept_of, DEPTS, strict) if set(s.departments) == {"A", "B"})
    assert not ab.drifting and "threshold 99%" not in ab.reason and "99%" in ab.reason


def sliding_table(seed: int, level: list[float]) -> tuple[ContactTable, np.ndarray]:
    """Poisson contact between 40 people a department; A / B's recent weeks at ``level``."""
    per = 40
    rng = np.random.default_rng(seed)
    parts = []
    for week in range(WEEKS):
        recent = week - (WEEKS - len(level))
        for d1 in range(len(DEPTS)):
            for d2 in range(d1, len(DEPTS)):
                factor = level[recent] if (d1, d2) == (0, 1) and recent >= 0 else 1.0
                count = rng.poisson((150.0 if d1 == d2 else 60.0) * factor)
                a = rng.integers(d1 * per, (d1 + 1) * per, count)
                b = rng.integers(d2 * per, (d2 + 1) * per, count)
                parts.append(np.column_stack([np.full(count, week), np.minimum(a, b), np.maximum(a, b)])
                             [a != b])
    rows = np.unique(np.concatenate(parts), axis=0)  # one row per pair and week
    table = ContactTable(0, WEEKS - 1, rows[:, 0].astype(np.int32), rows[:, 1].astype(np.int32),
                         rows[:, 2].astype(np.int32), np.full(len(rows), 0.5, np.float32))
    return table, np.repeat(np.arange(len(DEPTS)), per)


def test_the_drop_reads_how_far_a_sliding_seam_has_come() -> None:
    """A seam sliding to -45 % over the six recent weeks averages -26 % over them, short of the
    30 % drop, but has come -38 % over their last half; a seam that fell to that average at once
    and stayed has not. Each is judged by the fall it has reached."""
    ramp = [1 - 0.45 * (k + 1) / 6 for k in range(6)]
    step = [sum(ramp) / 6] * 6
    found = {"ramp": 0, "step": 0}
    for seed in range(10):
        for name, level in (("ramp", ramp), ("step", step)):
            ab = next(s for s in detect_seams(*sliding_table(seed, level), DEPTS, SEAMS)
                      if s.departments == ("A", "B"))
            found[name] += ab.drifting
            if name == "ramp" and ab.drifting and ab.change > -0.3:
                assert "over the last 3 weeks" in ab.reason
            assert all(t.latest_weeks == 3 and t.reached == min(t.change, t.latest) for t in ab.tests)
    assert found["ramp"] >= 9
    assert found["ramp"] - found["step"] >= 3  # the same six-week average: only the slide's end differs


def test_benjamini_hochberg() -> None:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.04 * 4 / 3 * 0.75 * 4 / 3 if False else 0.0533333, 0.0533333, 0.5],
                              rel=1e-3)


def test_people_count_each_person_once_per_department_reached() -> None:
    # week 0: A0-B2, A0-B3, A1-B2, A0-A1 (inside A) and A0-C4; week 1: A1-B3 twice over
    rows = [(0, 0, 2), (0, 0, 3), (0, 1, 2), (0, 0, 1), (0, 0, 4), (1, 1, 3), (1, 1, 3)]
    week, a, b = (np.array(c, np.int32) for c in zip(*rows, strict=True))
    table = ContactTable(0, 1, week, a, b, np.ones(len(rows), np.float32))
    dept_of = np.array([0, 0, 1, 1, 2])
    weeks = seam_weeks(table, dept_of, 3, Seams())
    assert weeks.ties[0, 0, 1] == 3 and weeks.people[0, 0, 1] == 4  # A0, A1, B2, B3
    assert weeks.people[0, 0, 2] == 2 and weeks.people[0, 1, 2] == 0  # A0, C4
    assert weeks.people[1, 0, 1] == weeks.people[1, 1, 0] == 2
    assert np.all(np.einsum("wii->wi", weeks.people) == 0)  # inside contact is not counted
    assert list(weeks.headcount if weeks.headcount is not None else []) == [2, 2, 1]


def test_fewer_people_across_a_seam_is_found_on_the_people_signal() -> None:
    """Contact kept to a few of the seam's people (projects closed, one liaison left) while
    the contact between them holds: fewer people reach across; the people test sees it."""
    found = 0
    for seed in range(5):
        table, dept_of = bursty_table(seed)
        a_side = (dept_of[table.a] == 0) & (dept_of[table.b] == 1)
        late = table.week >= WEEKS - 6
        # recently only A's first three people and B's first three carry the A/B contact
        narrowed = replace(table, a=np.where(a_side & late, table.a % 3, table.a),
                           b=np.where(a_side & late, PER_DEPT + table.b % 3, table.b))
        for s in detect_seams(narrowed, dept_of, DEPTS, SEAMS):
            if s.departments == ("A", "B") and s.drifting:
                assert s.signal == "people" and s.tests[2].change < -0.3
                found += 1
    assert found >= 4


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_placebo_path_reads_what_detect_decides(shuffle: bool) -> None:
    """The placebo's light path gives detect's drifting seams and every test's p-value."""
    planted = {frozenset(("A", "B")): 0.8, frozenset(("C", "E")): 0.75}
    for seed in range(4):
        table, dept_of = bursty_table(seed, planted, shuffle=shuffle)
        weeks = seam_weeks(table, dept_of, len(DEPTS), SEAMS)
        full = detect(weeks, DEPTS, SEAMS)
        drifting, p_values = drifting_only(weeks, DEPTS, SEAMS)
        assert [r for r in full if r.drifting] == sorted(drifting, key=lambda r: -r.score)
        assert sorted(p_values.tolist()) == sorted(p for r in full for p in r.p_values)
        assert drifting or shuffle  # the planted seams drift unless the weeks were shuffled


def lighter_ties_table(seed: int, recent: str) -> tuple[ContactTable, np.ndarray]:
    """Random contact between 20 people a department; 40 fixed A / B pairs with five messages a
    week. ``recent`` "lighter": as many new A / B pairs with one message each join them over the
    recent weeks; "thinned": the same pairs with a message or two each; "one": the same
    pairs, most with a single message; anything else: no change."""
    per, rng = 20, np.random.default_rng(seed)
    fixed = [(a, per + b) for a in range(per) for b in range(per)][::10]  # 40 pairs
    joining = [(a, per + b) for a in range(per) for b in range(per)][5::10]
    rows: dict[tuple[int, int, int], float] = {}
    for week in range(WEEKS):
        late = week >= WEEKS - 6
        for d1 in range(len(DEPTS)):
            for d2 in range(d1, len(DEPTS)):
                if (d1, d2) == (0, 1):
                    continue
                for _ in range(rng.poisson(120.0 if d1 == d2 else 40.0)):
                    x = int(rng.integers(d1 * per, (d1 + 1) * per))
                    y = int(rng.integers(d2 * per, (d2 + 1) * per))
                    if x != y:
                        key = (week, min(x, y), max(x, y))
                        rows[key] = rows.get(key, 0.0) + 0.1
        for a, b in fixed:
            messages = rng.poisson(4) + 1
            if late and recent == "thinned":
                messages = rng.poisson(1.5) + 1
            elif late and recent == "one":
                messages = 1 + int(rng.random() < 0.2) * rng.poisson(3)
            rows[(week, a, b)] = 0.1 * messages
        if late and recent == "lighter":
            for a, b in joining:
                rows[(week, a, b)] = 0.1
    keys = np.array(sorted(rows))
    table = ContactTable(0, WEEKS - 1, keys[:, 0].astype(np.int32), keys[:, 1].astype(np.int32),
                         keys[:, 2].astype(np.int32),
                         np.array([rows[tuple(k)] for k in keys.tolist()], np.float32))
    return table, np.repeat(np.arange(len(DEPTS)), per)


@pytest.mark.parametrize("seed", [1, 2])
def test_fewer_messages_per_tie_counts_only_when_the_seams_contact_fell(seed: int) -> None:
    def ab(recent: str) -> SeamResult:
        found = detect_seams(*lighter_ties_table(seed, recent), DEPTS, SEAMS)
        return next(s for s in found if s.departments == ("A", "B"))

    lighter, thinned = ab("lighter"), ab("thinned")
    per_tie = {t.signal: t for t in lighter.tests}["intensity"]
    assert per_tie.change <= -0.3 and per_tie.q <= 0.05  # contact per tie did fall, clearly
    assert {t.signal: t for t in lighter.tests}["contact"].change > 0  # but the seam gained
    assert not lighter.drifting and lighter.gate == "threshold"
    assert thinned.drifting and {t.signal: t for t in thinned.tests}["ties"].change > -0.1


def test_ties_with_more_than_a_message_count_each_pair_once_above_the_setting() -> None:
    # one week, A / B pairs carrying one message (0.1), a share of a group message (0.05),
    # two messages (0.2) and an hour's meeting (1.0)
    weights = [0.1, 0.05, 0.2, 1.0]
    table = ContactTable(0, 0, np.zeros(4, np.int32), np.arange(4, dtype=np.int32),
                         np.arange(10, 14, dtype=np.int32), np.array(weights, np.float32))
    dept_of = np.repeat(np.arange(len(DEPTS)), PER_DEPT)
    for setting, strong in ((Seams().strong_tie, 2), (0.5, 1), (0.01, 4)):
        counted = seam_weeks(table, dept_of, len(DEPTS), Seams(strong_tie=setting)).strong
        assert counted is not None and counted[0, 0, 1] == counted[0, 1, 0] == strong


@pytest.mark.parametrize("seed", [1, 2])
def test_the_same_people_down_to_one_message_are_found_on_ties_with_more(seed: int) -> None:
    """Each A / B pair keeps writing, but most only once a week: its tie stays and its
    contact per tie keeps the one message, while it leaves the ties with more than one."""
    def ab(recent: str) -> SeamResult:
        found = detect_seams(*lighter_ties_table(seed, recent), DEPTS, SEAMS)
        return next(s for s in found if s.departments == ("A", "B"))

    thinned = ab("one")
    tests = {t.signal: t for t in thinned.tests}
    assert abs(tests["ties"].change) < 0.15
    assert tests["strong"].change < -0.6 and tests["strong"].change < tests["intensity"].change
    assert tests["strong"].q <= 0.05 and thinned.drifting
    reported = thinned.as_json()["tests"]
    assert isinstance(reported, dict) and reported["strong"]["change"] == round(
        tests["strong"].change, 3)
    steady = ab("none")
    assert not steady.drifting and abs({t.signal: t for t in steady.tests}["strong"].change) < 0.2


def per_tie_weeks(intensity: float, strong: float) -> SeamWeeks:
    """Steady ties between every pair of departments; contact per tie swinging widely from
    week to week, ties with more than a message hardly at all; over the recent weeks A / B's
    contact per tie and ties with more than a message at ``intensity`` and ``strong`` times
    their level."""
    n = len(DEPTS)
    ties = np.full((WEEKS, n, n), 200.0)
    swing = np.where(np.arange(WEEKS) % 2 == 0, 0.4, 1.6)[:, None, None]
    capped, more = ties * 0.3 * swing, ties * 0.5 * (1 + (swing - 1) / 60)
    capped[-6:, 0, 1] *= intensity
    more[-6:, 0, 1] *= strong
    for m in (capped, more):
        m[:, 1, 0] = m[:, 0, 1]
    return SeamWeeks(ties * 0.4, ties, capped, ties * 2, strong=more)


def test_a_per_tie_signal_flags_only_when_it_is_significant_itself() -> None:
    """The per-tie signals share one q: a contact per tie that fell far but within its
    own wide swings is not flagged on the strength of ties with more than a message, which
    fell clearly but less than the drop."""
    found = detect(per_tie_weeks(0.55, 0.85), DEPTS, SEAMS)
    ab = next(s for s in found if s.departments == ("A", "B"))
    tests = {t.signal: t for t in ab.tests}
    per_tie, more = tests["intensity"], tests["strong"]
    # what the rule is about: one q for both, a fall past the drop on one, its own p too weak
    assert per_tie.q == more.q <= 0.05 and more.p < 0.001 and more.reached > -0.3
    assert per_tie.reached <= -0.3 and per_tie.p > 0.05
    assert not ab.drifting and ab.gate == "BH" and ab.signal == "intensity"
    assert f"on its own (p={per_tie.p:.3f} > 0.05)" in ab.reason
    assert not any(s.drifting for s in drifting_only(per_tie_weeks(0.55, 0.85), DEPTS, SEAMS)[0])
    # the same fall of ties with more than a message past the drop is flagged on it
    flagged = next(s for s in detect(per_tie_weeks(0.55, 0.6), DEPTS, SEAMS)
                   if s.departments == ("A", "B"))
    assert flagged.drifting and flagged.signal == "strong"
    assert "ties with more than a message fell" in flagged.reason


def meeting_and_mail_table(seed: int, thinned: bool, unknown_week: int | None = None
                           ) -> tuple[ContactTable, np.ndarray]:
    """Random mail between 20 people a department; 40 fixed A / B pairs who meet for an hour
    every week and mail each other about five times. ``thinned``: over the recent weeks the
    meetings go on and the messages fall to about one a week. ``unknown_week``: that week was
    written before the ledger kept mail weights (NaN)."""
    per, rng = 20, np.random.default_rng(seed)
    fixed = [(a, per + b) for a in range(per) for b in range(per)][::10]
    rows: dict[tuple[int, int, int], list[float]] = {}

    def add(key: tuple[int, int, int], weight: float, mail: float) -> None:
        row = rows.setdefault(key, [0.0, 0.0])
        row[0] += weight
        row[1] += mail

    for week in range(WEEKS):
        late = week >= WEEKS - 6
        for d1 in range(len(DEPTS)):
            for d2 in range(d1, len(DEPTS)):
                for _ in range(rng.poisson(120.0 if d1 == d2 else 40.0)):
                    x = int(rng.integers(d1 * per, (d1 + 1) * per))
                    y = int(rng.integers(d2 * per, (d2 + 1) * per))
                    if x != y:
                        add((week, min(x, y), max(x, y)), 0.1, 0.1)
        for a, b in fixed:
            messages = rng.poisson(0.3) + 1 if late and thinned else rng.poisson(4) + 1
            add((week, a, b), 1.0, 0.0)  # the weekly hour: alone it reaches the cap
            add((week, a, b), 0.1 * messages, 0.1 * messages)
    keys = np.array(sorted(rows))
    values = np.array([rows[tuple(k)] for k in keys.tolist()], np.float32)
    mail = values[:, 1].copy()
    if unknown_week is not None:
        mail[keys[:, 0] == unknown_week] = np.nan
    table = ContactTable(0, WEEKS - 1, keys[:, 0].astype(np.int32), keys[:, 1].astype(np.int32),
                         keys[:, 2].astype(np.int32), values[:, 0], mail)
    return table, np.repeat(np.arange(len(DEPTS)), per)


@pytest.mark.parametrize("seed", [1, 2])
def test_fewer_messages_beside_a_weekly_meeting_are_found_on_mail_alone(seed: int) -> None:
    """The weekly hour keeps each pair's capped contact at the cap, so contact per tie cannot
    see its messages fall; messages per mail tie can, and flags the seam."""
    def ab(thinned: bool, unknown_week: int | None = None) -> SeamResult:
        found = detect_seams(*meeting_and_mail_table(seed, thinned, unknown_week), DEPTS, SEAMS)
        return next(s for s in found if s.departments == ("A", "B"))

    thinned = ab(True)
    tests = {t.signal: t for t in thinned.tests}
    assert abs(tests["intensity"].change) < 0.1 and abs(tests["ties"].change) < 0.1
    assert tests["messages"].change < -0.5
    # the weekly hour keeps every tie above one message's worth; their mail alone is not
    assert abs(tests["strong"].change) < 0.1 and tests["strong_mail"].change < -0.5
    assert thinned.drifting and thinned.signal == "messages"
    assert "messages per mail tie fell" in thinned.reason
    assert thinned.mail_change is not None and thinned.mail_change < -0.5  # what the gate read
    assert thinned.as_json()["mail"] == {"change": round(thinned.mail_change, 3)}
    steady = ab(False)
    assert not steady.drifting and "messages" in {t.signal for t in steady.tests}
    # one baseline week without mail weights: the signal is not tested, nothing is guessed
    old = ab(True, unknown_week=3)
    assert [t.signal for t in old.tests] == ["ties", "intensity", "people", "contact", "strong"]
    assert not old.drifting and old.mail_change is None and old.as_json()["mail"] is None


def test_messages_per_mail_tie_counts_only_when_the_seams_mail_fell() -> None:
    """As for contact per tie: many new pairs with one message each lower the messages per mail
    tie of a seam whose mail grew, and that is not thinning."""
    table, dept_of = lighter_ties_table(1, "lighter")
    found = detect_seams(replace(table, mail=table.weight.copy()), dept_of, DEPTS, SEAMS)
    ab = next(s for s in found if s.departments == ("A", "B"))
    messages = {t.signal: t for t in ab.tests}["messages"]
    assert messages.change <= -0.3 and messages.q <= 0.05
    assert not ab.drifting and ab.gate == "threshold"


def test_the_per_tie_signals_are_one_hypothesis_for_bh() -> None:
    """Contact per tie, messages per mail tie and ties (and mail ties) with more than a
    message share one q (Simes' combination of their p), so the later ones do not make BH
    stricter for every other test: the ties tests' q are those of four hypotheses per seam,
    not seven."""
    table, dept_of = meeting_and_mail_table(1, thinned=True)
    found = detect_seams(table, dept_of, DEPTS, SEAMS)
    families: list[float] = []
    per_tie = ("intensity", "messages", "strong", "strong_mail")
    for seam in found:
        tests = {t.signal: t for t in seam.tests}
        assert len({tests[name].q for name in per_tie}) == 1
        ordered = sorted(tests[name].p for name in per_tie)
        simes = min(4 / rank * p for rank, p in enumerate(ordered, start=1))
        assert tests["messages"].q >= simes - 1e-12
        families += [tests["ties"].p, tests["people"].p, tests["contact"].p, simes]
    q = dict(zip(families, benjamini_hochberg(families), strict=False))
    for seam in found:
        ties = seam.tests[0]
        assert ties.q == pytest.approx(q[ties.p])


def test_the_evidence_says_when_messages_per_mail_tie_could_not_be_tested() -> None:
    """A ledger upgraded from schema 3 has weeks without mail weights: the evidence table says
    why the fifth signal is missing instead of leaving it out silently."""
    from rich.console import Console

    from agent.report import evidence_table

    def caption(unknown_week: int | None) -> str:
        table, dept_of = meeting_and_mail_table(1, thinned=False, unknown_week=unknown_week)
        console = Console(width=200, record=True)
        console.print(evidence_table(detect_seams(table, dept_of, DEPTS, SEAMS)))
        return console.export_text()

    assert "messages per mail tie not tested" in caption(unknown_week=3)
    assert "mail ties with more than a message not tested" in caption(unknown_week=3)
    known = caption(unknown_week=None)
    assert "messages per mail tie not tested" not in known and "messages" in known

    def talks_caption(unknown_week: int | None) -> str:
        console = Console(width=200, record=True)
        console.print(evidence_table(detect_seams(*talks_table(1, True, unknown_week), DEPTS,
                                                  SEAMS)))
        return console.export_text()

    old, new = talks_caption(3), talks_caption(None)
    assert "conversations not tested" in old and "written before ledger schema 5" in old
    assert "not tested" not in new and "conversations" in new


@functools.lru_cache(maxsize=16)  # read only by the tests, and slow to draw
def talks_table(seed: int, merged: bool, unknown_week: int | None = None
                ) -> tuple[ContactTable, np.ndarray]:
    """Small conversations (two people, or three from two departments) across every pair of
    departments, the pairs they give as the table's rows. With ``merged``, A / B's recent weeks
    hold a third of its conversations, each with twice the people: about as many ties, far
    fewer conversations (its threads folded into a few big ones)."""
    per = 12
    rng = np.random.default_rng(seed)
    rows: set[tuple[int, int, int]] = set()
    week_of: list[int] = []
    sizes: list[int] = []
    members: list[int] = []
    for week in range(WEEKS):
        late = week >= WEEKS - 6
        for d1 in range(len(DEPTS)):
            for d2 in range(d1, len(DEPTS)):
                folded = merged and late and (d1, d2) == (0, 1)
                for _ in range(rng.poisson((10.0 if folded else 30.0) if d1 != d2 else 40.0)):
                    side = 2 if folded else 1
                    people = sorted({*rng.choice(np.arange(d1 * per, (d1 + 1) * per), side,
                                                 replace=False).tolist(),
                                     *rng.choice(np.arange(d2 * per, (d2 + 1) * per), side,
                                                 replace=False).tolist()})
                    if len(people) < 2:
                        continue
                    week_of.append(week)
                    sizes.append(len(people))
                    members.extend(people)
                    rows.update((week, x, y) for i, x in enumerate(people) for y in people[i + 1:])
    keys = np.array(sorted(rows))
    # the same set twice in a week is one conversation: keep each week's sets once; two
    # people's are a flag on their row, as the ledger keeps them
    seen: dict[tuple[int, tuple[int, ...]], None] = {}
    start = 0
    for week, size in zip(week_of, sizes, strict=True):
        seen.setdefault((week, tuple(members[start:start + size])), None)
        start += size
    two = {(w, *m) for w, m in seen if len(m) == 2}
    groups = [(w, m) for w, m in seen if len(m) > 2]
    known = np.ones(WEEKS, bool)
    if unknown_week is not None:
        known[unknown_week] = False
    talks = Conversations(np.array([tuple(k) in two for k in keys.tolist()], bool),
                          np.array([w for w, _ in groups], np.int32),
                          np.array([len(m) for _, m in groups], np.int32),
                          np.array([p for _, m in groups for p in m], np.int32), known)
    table = ContactTable(0, WEEKS - 1, keys[:, 0].astype(np.int32), keys[:, 1].astype(np.int32),
                         keys[:, 2].astype(np.int32), np.full(len(keys), 0.2, np.float32),
                         np.full(len(keys), 0.2, np.float32), talks)
    return table, np.repeat(np.arange(len(DEPTS)), per)


@pytest.mark.parametrize("seed", [1, 2])
def test_fewer_conversations_across_a_seam_are_found(seed: int) -> None:
    """A / B's recent contact runs through a third as many conversations: its ties hold, its
    conversations fall, and that signal flags it; a seam that kept its conversations is not."""
    def ab(merged: bool, unknown_week: int | None = None) -> SeamResult:
        found = detect_seams(*talks_table(seed, merged, unknown_week), DEPTS, SEAMS)
        return next(s for s in found if s.departments == ("A", "B"))

    folded = ab(True)
    tests = {t.signal: t for t in folded.tests}
    assert tests["ties"].change > -0.3
    assert tests["conversations"].change < -0.5 and tests["conversations"].q <= 0.05
    # no other signal fell by the drop: this one alone decides, and the reason says so
    assert {t.signal for t in folded.tests if t.reached <= -0.3} == {"conversations"}
    assert folded.drifting and folded.signal == "conversations"
    assert folded.reason.startswith("conversations across it fell")
    steady = ab(False)
    assert not steady.drifting and abs({t.signal: t for t in steady.tests}["conversations"].change) < 0.2
    # one week from before the ledger kept conversations: the signal is not tested at all
    old = ab(True, unknown_week=3)
    assert "conversations" not in {t.signal for t in old.tests}
    assert "conversations" not in old.as_json()["tests"]  # type: ignore[operator]


def test_the_week_shuffle_moves_conversations_with_their_weeks() -> None:
    table, dept_of = talks_table(1, merged=True)
    order = np.random.default_rng(0).permutation(WEEKS)
    moved = table.reordered(order)
    weeks = seam_weeks(table, dept_of, len(DEPTS), Seams())
    shuffled = seam_weeks(moved, dept_of, len(DEPTS), Seams())
    assert weeks.conversations is not None and shuffled.conversations is not None
    assert np.array_equal(shuffled.conversations.seam[order], weeks.conversations.seam)
    assert np.array_equal(shuffled.ties[order], weeks.ties)


def test_the_evidence_shows_each_windows_p_beside_the_joint_one() -> None:
    from rich.console import Console

    from agent.report import evidence_table

    table, dept_of = meeting_and_mail_table(1, thinned=False, unknown_week=None)
    seams = detect_seams(table, dept_of, DEPTS, SEAMS)
    console = Console(width=240, record=True)
    console.print(evidence_table(seams))
    text = " ".join(console.export_text().split())
    assert "whole · late" in text
    assert "its last 4 weeks', corrected for testing twice" in text
    test = seams[0].tests[0]
    assert test.whole_p is not None and test.late_p is not None
    assert f"{test.whole_p:.3f} · {test.late_p:.3f}" in text
