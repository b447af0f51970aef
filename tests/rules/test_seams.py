"""`Seams` answers each pair's windows and thresholds itself, and the retention covers them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.dryrun import dry_run
from connectors.common.errors import RulesError
from rules.loader import load_rules_text
from rules.model import Rules, Seams, Window


def test_a_pair_takes_each_unset_setting_from_the_defaults() -> None:
    seams = Seams.model_validate({
        "recent_weeks": 4, "baseline_weeks": 20, "drop": 0.4, "min_volume": 10,
        "pairs": [{"departments": "Trading / Legal", "recent_weeks": 8, "min_volume": 2}],
    })
    assert seams.window_for("Legal", "Trading") == Window(recent_weeks=8, baseline_weeks=20)
    assert seams.window_for("Legal", "Trading").weeks == 28
    assert seams.drop_for("Legal", "Trading") == 0.4
    assert seams.min_volume_for("Trading", "Legal") == 2
    assert seams.source_of("Legal", "Trading", "min_volume") == "seams.pairs Legal / Trading"
    assert seams.source_of("Legal", "Trading", "drop") == "seams (defaults)"
    assert seams.label_for("Legal", "Trading") == "seams.pairs Legal / Trading"
    assert seams.window_for("Legal", "Sales") == Window(4, 20)
    assert seams.label_for("Legal", "Sales") == "seams (defaults)"
    assert seams.longest_window() == 28


def test_the_defaults_set_the_longest_window_when_no_pair_reads_more() -> None:
    seams = Seams.model_validate({"pairs": [{"departments": ["A", "B"], "recent_weeks": 2}]})
    assert seams.longest_window() == 6 + 26
    assert seams.widest_pair() == (32, None)


def test_retention_shorter_than_a_pair_with_one_window_set_is_refused() -> None:
    """The pair's missing baseline is the default's 26 weeks, not none: 52 weeks read, 40 kept."""
    text = ("seams:\n  pairs:\n    - departments: [Legal, Trading]\n      recent_weeks: 26\n"
            "privacy:\n  retention_weeks: 40\n")
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    assert caught.value.problems == [
        "r.yaml:6:20: privacy.retention_weeks (40) is shorter than the analysed windows (52 weeks: "
        "seams.pairs[0] Legal / Trading has recent_weeks 26 and baseline_weeks 26 from the defaults)"
    ]
    load_rules_text(text.replace("40", "52"), "r.yaml")  # keeping all 52 weeks is enough


def test_without_retention_in_the_file_the_pair_is_pointed_at() -> None:
    text = "extends: gentle\nseams:\n  pairs:\n    - departments: [Legal, Trading]\n" \
           "      baseline_weeks: 70\n"
    with pytest.raises(RulesError) as caught:
        load_rules_text(text, "r.yaml")
    (problem,) = caught.value.problems
    assert problem.startswith("r.yaml:4:7: privacy.retention_weeks (60) is shorter")


_PAIR = st.fixed_dictionaries({"departments": st.just(["A", "B"])}, optional={
    "recent_weeks": st.integers(1, 26), "baseline_weeks": st.integers(2, 104)})


@given(recent=st.integers(1, 26), baseline=st.integers(2, 104), pair=_PAIR,
       retention=st.integers(8, 140))
def test_accepted_rules_keep_every_week_any_pair_reads(
    recent: int, baseline: int, pair: dict[str, Any], retention: int
) -> None:
    data = {"seams": {"recent_weeks": recent, "baseline_weeks": baseline, "pairs": [pair]},
            "privacy": {"retention_weeks": retention}}
    read = (pair.get("recent_weeks", recent) + pair.get("baseline_weeks", baseline))
    try:
        rules = Rules.model_validate(data)
    except ValidationError:
        assert retention < max(read, recent + baseline)
        return
    assert rules.seams.window_for("B", "A").weeks == read <= retention
    assert rules.seams.longest_window() == max(read, recent + baseline) <= retention


def test_analysis_reads_the_resolved_longest_window() -> None:
    """What validation counts is what analysis reads: 26 recent + 26 default baseline weeks."""
    data = Path(__file__).resolve().parent.parent / "golden" / "defaults" / "data"
    rules = load_rules_text("seams:\n  pairs:\n    - departments: [Legal, Trading]\n"
                            "      recent_weeks: 26\nprivacy:\n  retention_weeks: 52\n", "r.yaml")
    analysis = dry_run(data, rules, dt.date(2024, 6, 3)).analysis
    assert analysis.last_week - analysis.first_week + 1 == 52 == rules.seams.longest_window()
