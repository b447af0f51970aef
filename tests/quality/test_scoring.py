"""The bench's own arithmetic: the interval it prints beside recall and precision."""

from __future__ import annotations

import math

from tests.quality.scoring import Score


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
