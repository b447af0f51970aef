"""The bench's own arithmetic: the interval it prints beside recall and precision, and
what a weekly analysis is credited with."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from agent.drift import SeamResult
from rules.model import Rules
from tests.quality.bursty import BurstyOrg, Truth
from tests.quality.network import generate
from tests.quality.scoring import Follow, Score, ledgered, ledgered_weekly


def test_interval_brackets_the_figure_and_narrows_with_more_organisations() -> None:
    few, many = Score(), Score()
    orgs = [(4, 4, 1, 0), (2, 4, 0, 1), (3, 4, 1, 0), (1, 4, 0, 2), (4, 4, 0, 0)]
    for found, planted, thin, false in orgs:
        few.per_org.append((found, planted, thin, false))
        few.found += found
        few.planted += planted
    for _ in range(8):
        many.per_org.extend(orgs)
    low, high = few.interval("recall")
    assert low < few.found / few.planted < high
    many_low, many_high = many.interval("recall")
    assert low <= many_low < many_high <= high and many_high - many_low < high - low
    p_low, p_high = few.interval("precision")
    assert p_low < 16 / 19 < p_high <= 1  # 14 ramps and 2 thinning seams right, 3 false


def test_organisations_that_agree_give_no_spread() -> None:
    score = Score()
    score.per_org.extend([(3, 4, 0, 1)] * 6)
    assert score.interval("recall") == (0.75, 0.75)
    assert score.interval("precision") == (0.75, 0.75)
    assert all(math.isnan(x) for x in Score().interval("recall"))


def _result(a: str, b: str, drifting: bool) -> SeamResult:
    fields: dict[str, Any] = dict(baseline_share=0.1, recent_share=0.05, change=-0.5, score=1.0,
                                  p_value=0.01, q_value=0.05, baseline_volume=100.0,
                                  recent_volume=50.0, tested=True, reason="", rule="default")
    return SeamResult(departments=(a, b), drifting=drifting, **fields)


def test_a_weekly_analysis_is_credited_once_per_seam_from_the_week_it_first_flags() -> None:
    truth = Truth(dt.date(2025, 6, 2), 40, [("A", "B"), ("A", "C")], [("B", "C")],
                  [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D")], {})
    org = BurstyOrg([], [], [], truth)
    weeks = [
        [_result("A", "B", False), _result("C", "D", True)],
        [_result("A", "B", True), _result("C", "D", False), _result("B", "C", True)],
        [_result("A", "B", True), _result("A", "C", False), _result("C", "D", True)],
    ]
    null = [[_result("A", "B", False)], [_result("A", "B", True)], [_result("A", "B", True)]]
    follow = Follow(2)
    follow.add(org, weeks, null)
    assert (follow.found_by, follow.thinning_by) == ([0, 1, 1], [0, 1, 1])
    assert (follow.false_by, follow.null_by) == ([1, 1, 1], [0, 1, 1])
    assert follow.lines()[1].startswith("week +1: ramps found 1/2 (0.50)")


def test_the_weekly_tables_step_back_one_week_each_and_end_at_the_snapshot() -> None:
    org = generate(307, people=150, weeks=36, plant=False)
    rules = Rules()
    weekly = ledgered_weekly(org, rules, 2)
    snapshot = ledgered(org, rules).table
    assert [d.table.last_week for d in weekly] == [snapshot.last_week - k for k in (2, 1, 0)]
    last = weekly[-1].table
    assert np.array_equal(last.week, snapshot.week) and np.array_equal(last.weight, snapshot.weight)
    # the week two before the snapshot's last is the earliest table's last week
    early = weekly[0].table
    assert early.weight[early.week == early.n_weeks - 1].sum() == \
        snapshot.weight[snapshot.week == snapshot.n_weeks - 3].sum() > 0


def test_mail_only_thinning_leaves_every_meeting_as_it_was() -> None:
    """``bench/detection.py --thinning mail``: the "fewer messages" seam's mail thins, its
    meetings are those of the organisation with nothing planted, on both generators."""
    from tests.quality import bursty, network

    for module in (bursty, network):
        size = {"people": 300, "weeks": 20, "declining": 0}
        planted, null = module.generate_both(2, thin_meetings=False, **size)
        thinned, _ = module.generate_both(2, **size)
        assert planted.truth.thinning and planted.meetings == null.meetings
        assert len(planted.mails) != len(null.mails) or planted.mails != null.mails
        assert thinned.meetings != null.meetings  # by default the meetings thin too
