"""Detection quality on demo organisations: planted drift found, controls left alone.

Issue 3's bar: over 10 seeds, recall ≥ 0.9 and precision ≥ 0.9 for the
planted drifting pairs, and at most one falsely flagged pair in total over
10 organisations with no planted drift.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agent.dryrun import dry_run
from connectors.demo import generate
from rules.model import Rules

SEEDS = range(1, 11)
AS_OF = dt.date(2026, 11, 23)
SIZE = {"people": 160, "weeks": 34}


def flagged(tmp: Path, seed: int, drift: bool) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    out = tmp / f"org-{seed}-{drift}"
    truth = generate(out, seed=seed, drift=drift, as_of=AS_OF, **SIZE)
    result = dry_run(out, Rules(), AS_OF)
    found = {frozenset(pair) for pair in result.analysis.drifting}
    return found, {frozenset(pair) for pair in truth.drifting_pairs}


@pytest.mark.slow
def test_planted_drift_is_found_with_recall_and_precision(tmp_path: Path) -> None:
    true_positive = false_positive = planted_total = 0
    for seed in SEEDS:
        found, planted = flagged(tmp_path, seed, drift=True)
        true_positive += len(found & planted)
        false_positive += len(found - planted)
        planted_total += len(planted)
    recall = true_positive / planted_total
    precision = true_positive / max(1, true_positive + false_positive)
    print(f"\ndetection over {len(SEEDS)} seeds: {true_positive}/{planted_total} planted pairs found, "
          f"{false_positive} false; recall {recall:.2f}, precision {precision:.2f}")
    assert recall >= 0.9
    assert precision >= 0.9


@pytest.mark.slow
def test_no_planted_drift_means_at_most_one_false_flag(tmp_path: Path) -> None:
    false_positive = 0
    for seed in SEEDS:
        found, planted = flagged(tmp_path, seed, drift=False)
        assert planted == set()
        false_positive += len(found)
    print(f"\nno-drift organisations over {len(SEEDS)} seeds: {false_positive} pairs falsely flagged")
    assert false_positive <= 1
