"""Detection on bursty organisations (tests/quality/bursty.py): calibrated, and what it finds.

Smaller organisations than the bench's (500 people, 34 weeks) keep this fast;
``python bench/detection.py`` prints the full-size figures. The seeds are the
bench's SCORING seeds: nothing was tuned on them.

What is asserted, and why these bars:

- the week-shuffle placebo's p-values are calibrated (p < 0.05 in 3-7 % of
  tests) and it flags at most 0.2 seams per run;
- organisations with nothing planted get at most 0.2 false flags each, and
  so do planted ones, with a precision of at least 0.9 (Benjamini-Hochberg
  at 5 % allows one false flag in about twenty; with a dozen flags in all,
  one false flag is 8 %);
- the planted falls found: at least 12 of the 40 ramps (14 since the people
  signal; 3 before it), 2 of the 10 thinning seams, and 25 of the ramps
  ranked among their organisation's top five. That is still below issue
  12's wish (recall 0.9; thinning in 6 of 10). On these
  organisations the seams' own six-week contact moves by about 27 % (one
  standard deviation) with nothing planted — projects start and end — so an
  8-week ramp to -60 % is often no larger than what a seam does on its own;
  a test that flags it anyway flags the null organisations too (the bench
  shows both sides).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from rules.model import Rules
from tests.quality.bursty import generate
from tests.quality.scoring import Score, detect, ledgered, score_seed

SEEDS = range(1, 11)  # bench/detection.py SCORING_SEEDS: never tuned on
SIZE = {"people": 500, "weeks": 34}


@pytest.fixture(scope="module")
def score() -> Score:
    rules = Rules()
    result = Score()
    for seed in SEEDS:
        score_seed(result, seed, rules, placebo=3, **SIZE)
    print(f"\nbursty organisations, {len(SEEDS)} seeds, {SIZE['people']} people:")
    for line in result.lines():
        print("  " + line)
    return result


def test_placebo_is_calibrated(score: Score) -> None:
    assert score.placebo_runs == 2 * 3 * len(SEEDS)
    assert 0.03 <= score.placebo_small_p_share <= 0.07
    assert score.placebo_flags_per_run <= 0.2


def test_few_false_flags(score: Score) -> None:
    assert score.null_orgs == len(SEEDS)
    assert score.null_flags_per_org <= 0.2
    assert score.false_flags_per_org <= 0.2
    assert score.precision >= 0.9


def test_planted_falls_are_found_and_ranked(score: Score) -> None:
    assert score.planted == 4 * len(SEEDS)
    assert score.found >= 12
    assert score.thinning_found >= 2
    assert score.ranked >= 25


def test_analyze_reads_a_bursty_data_directory_like_the_ledger_route(tmp_path: Path) -> None:
    """The data directory (files connector) and the direct ledger route count alike, and
    ``analyze --json --calibrate`` carries the evidence and the placebo's verdict."""
    org = generate(4, people=200, weeks=32)
    org.write(tmp_path / "org")
    as_of = org.truth.as_of.isoformat()
    run = CliRunner().invoke(main, ["analyze", "--data", str(tmp_path / "org"), "--as-of", as_of,
                                    "--json", "--calibrate"])
    assert run.exit_code == 0, run.output
    out = json.loads(run.stdout)
    assert {"as_of", "people", "interactions", "pairs", "suggestions", "calibration",
            "not_judged"} <= set(out)
    assert out["calibration"]["runs"] == 100 and out["calibration"]["within"]
    direct = {frozenset(r.departments): r for r in detect(ledgered(org, Rules()), Rules())}
    assert len(out["pairs"]) == len(direct) > 0
    for pair in out["pairs"]:
        assert {"departments", "baseline_share", "recent_share", "change", "score", "drifting",
                "gate", "signal", "tests", "ties", "volume"} <= set(pair)
        assert set(pair["tests"]) == {"ties", "intensity", "people", "contact"}
        same = direct[frozenset(pair["departments"])]
        assert pair["drifting"] == same.drifting and pair["gate"] == same.gate
        assert pair["tests"]["ties"]["p"] == pytest.approx(same.tests[0].p, abs=1e-3)
    text = CliRunner().invoke(main, ["analyze", "--data", str(tmp_path / "org"), "--as-of", as_of,
                                     "--calibrate"])
    assert text.exit_code == 0, text.output
    assert "Evidence" in text.stdout and "Calibration: week-shuffle placebo, 100 runs" in text.stdout
