"""Detection on the bench's two generators (tests/quality/bursty.py, tests/quality/network.py):
calibrated, and what it finds.

Smaller organisations than the bench's (500 people, 34 weeks) keep this fast;
``python bench/detection.py --generator bursty|network`` prints the full-size
figures. The seeds are the bench's SCORING seeds: nothing was tuned on them.

What is asserted, and why these bars:

- the week-shuffle placebo's p-values are calibrated (p < 0.05 in 3-7 % of
  tests) and it flags at most 0.2 seams per run;
- organisations with nothing planted get at most 0.2 false flags each, and
  so do planted ones, with a precision of at least 0.9 on bursty and 0.85
  on network (Benjamini-Hochberg at 5 % allows one false flag in about
  twenty; with eighteen flags in all, two false flags are 11 %; bursty's 26
  flags hold two);
- the planted falls found, per generator (``FOUND``): the figures measured
  when the dispersions were moderated, less a margin of about two seams, so that
  a change which loses seams fails here. They are still below issue 12's
  wish (recall 0.9; thinning in 6 of 10): on these organisations a seam's own
  six-week contact moves by a fifth to a third with nothing planted
  (projects start and end, people take leave), so an 8-week ramp to -60 %
  is often no larger than what a seam does on its own; a test that flags it
  anyway flags the null organisations too (the bench shows both sides).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from rules.model import Rules
from tests.quality.bursty import generate
from tests.quality.scoring import GENERATORS, Score, detect, ledgered, score_seed

SEEDS = range(1, 11)  # bench/detection.py SCORING_SEEDS: never tuned on
SIZE = {"people": 500, "weeks": 34}
# least ramps found (of 40), thinning seams found (of 10), ramps in their org's top five;
# measured when the dispersions were moderated: bursty 17, 2, 30; network 14, 0, 30 (before,
# with the contact signal: bursty 16, 2, 28; network 16, 0, 32, at 0.89 precision and 0.0
# false flags per null organisation, where it is now 0.88 and 0.0; on twenty 500-person
# organisations of the tuning seeds moderation went from 0.54 to 0.53 recall at 0.85 -> 0.94
# precision on network, and 0.26 -> 0.31 at 0.88 -> 0.93 on bursty); with the conversations
# signal: bursty 22, 2, 31 at precision 1.00; network 22, 1, 32 at 0.92 (2 false flags); with
# the late window and ties (and mail ties) with more than a message: bursty 23, 3, 31 at 0.93
# (2 false flags, two seams that really thinned: one's mail fell 68 %, the other's ties with
# more than a message 52 %; both fell as far in the organisation with nothing planted, where
# ties with more than a message alone flagged them); network 24, 2, 31 at 0.96
FOUND = {"bursty": (21, 2, 29), "network": (22, 0, 29)}
# least precision: network's 500-person organisations gave 22 ramps and 2 false flags (0.92)
PRECISION = {"bursty": 0.9, "network": 0.85}


@pytest.fixture(scope="module", params=sorted(GENERATORS))
def score(request: pytest.FixtureRequest) -> tuple[str, Score]:
    generator = str(request.param)
    rules = Rules()
    result = Score()
    for seed in SEEDS:
        score_seed(result, seed, rules, placebo=3, generator=generator, **SIZE)
    print(f"\n{generator} organisations, {len(SEEDS)} seeds, {SIZE['people']} people:")
    for line in result.lines():
        print("  " + line)
    return generator, result


def test_placebo_is_calibrated(score: tuple[str, Score]) -> None:
    _, s = score
    assert s.placebo_runs == 2 * 3 * len(SEEDS)
    assert 0.03 <= s.placebo_small_p_share <= 0.07
    assert s.placebo_flags_per_run <= 0.2


def test_few_false_flags(score: tuple[str, Score]) -> None:
    generator, s = score
    assert s.null_orgs == len(SEEDS)
    assert s.null_flags_per_org <= 0.2
    assert s.false_flags_per_org <= 0.2
    assert s.precision >= PRECISION[generator]


def test_planted_falls_are_found_and_ranked(score: tuple[str, Score]) -> None:
    generator, s = score
    ramps, thinning, ranked = FOUND[generator]
    assert s.planted == 4 * len(SEEDS)
    assert s.found >= ramps
    assert s.thinning_found >= thinning
    assert s.ranked >= ranked


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
        assert set(pair["tests"]) == {"ties", "intensity", "people", "contact", "messages",
                                      "conversations", "strong", "strong_mail"}
        same = direct[frozenset(pair["departments"])]
        assert pair["drifting"] == same.drifting and pair["gate"] == same.gate
        assert pair["tests"]["ties"]["p"] == pytest.approx(same.tests[0].p, abs=1e-3)
        assert pair["tests"]["ties"]["latest"] == {"weeks": 3,
                                                   "change": round(same.tests[0].latest, 3)}
        windows = pair["tests"]["ties"]["windows"]  # the joint p's two parts, each its own
        assert windows["late"]["weeks"] == 4
        assert windows["whole"] == pytest.approx(same.tests[0].whole_p, abs=1e-3)
        smaller = min(windows["whole"], windows["late"]["p"])
        assert smaller - 1e-3 <= pair["tests"]["ties"]["p"] <= min(1.0, 2 * smaller) + 1e-3
    text = CliRunner().invoke(main, ["analyze", "--data", str(tmp_path / "org"), "--as-of", as_of,
                                     "--calibrate"])
    assert text.exit_code == 0, text.output
    assert "Evidence" in text.stdout and "Calibration: week-shuffle placebo, 100 runs" in text.stdout
    # what the shuffle cannot show is said beside it
    assert "breaks up slow swings that last several weeks" in " ".join(text.stdout.split())
