"""The week-shuffle placebo on an organisation's own weeks: the false-alarm rate the rules give there."""

from __future__ import annotations

import numpy as np

from agent.calibrate import calibrate
from agent.drift import SeamWeeks
from rules.model import Seams

DEPARTMENTS = [f"D{i:02d}" for i in range(12)]


def weeks(seed: int, rate: float, spread: float, pair_capped: bool = False) -> SeamWeeks:
    """Weekly ties per department pair (lognormal-mixed Poisson), a busy inside to each."""
    rng = np.random.default_rng(seed)
    n = len(DEPARTMENTS)
    mix = rng.lognormal(0.0, spread, (32, n, n)) if spread else np.ones((32, n, n))
    upper = np.triu(rng.poisson(rate * mix).astype(float), 1)
    ties = upper + upper.transpose(0, 2, 1) + np.eye(n) * 200
    volume = ties * 0.4
    # Per-tie capping keeps contact per tie steady; capping each pair's whole week instead
    # makes contact per tie fall whenever ties rise, which the per-tie test does not expect.
    capped = np.minimum(volume, 1.0) if pair_capped else np.minimum(volume, ties * 1.0)
    # one person per tie a side: the people signal sees what the ties signal sees
    people = 2 * upper + 2 * upper.transpose(0, 2, 1) + np.eye(n) * 40
    return SeamWeeks(volume, ties, capped, people)


def test_steady_contact_stays_within_the_rate() -> None:
    result = calibrate(weeks(1, 3.0, 0.0), DEPARTMENTS, Seams(min_volume=0))
    assert result.runs == 20 and result.within and result.suggestion is None
    assert result.flags_per_run <= 0.1
    assert 0.0 < result.small_p_share < 0.1
    assert "within the false discovery rate of 0.05" in result.summary()


def test_a_misfit_is_reported_with_a_setting_that_fixes_it() -> None:
    data = weeks(0, 0.3, 1.0, pair_capped=True)
    result = calibrate(data, DEPARTMENTS, Seams(min_volume=0))
    assert not result.within
    assert result.runs_with_flags > 5 and result.flags_per_run > 0.25  # a 0.05 rate allows ~0.05
    assert result.suggestion is not None and result.suggestion.startswith("seams.min_volume: ")
    assert "MORE false alarms" in result.summary() and result.suggestion in result.summary()
    suggested = float(result.suggestion.split(": ")[1])
    again = calibrate(data, DEPARTMENTS, Seams(min_volume=suggested))
    assert again.within
    assert calibrate(data, DEPARTMENTS, Seams(min_volume=0)) == result  # seeded: the same report
