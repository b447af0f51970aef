"""How often do the current rules raise a false alarm on *this* organisation?

The week-shuffle placebo: the analysed weeks (baseline and recent) are put
in a random order and the detector runs again. The bursts stay real — the
same projects, holidays and long threads — but any trend is gone, so every
seam the placebo flags is a false alarm. Under Benjamini-Hochberg at level
``q``, a run where nothing changed flags anything at most a ``q`` share of
the time; when this organisation's placebo runs flag clearly more often,
the rules do not hold their promised rate here, and a stricter setting is
suggested (the one that brings the same placebo runs back within it).

Pure: aggregated weeks and rules in, a ``Calibration`` out. The shuffles
are seeded, so a rerun on the same ledger reports the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.drift import SeamResult, SeamWeeks, drifting_only
from rules.model import Seams

RUNS = 20  # what every analysis runs (the daemon's, the digest's)
LONG_RUNS = 100  # ``analyze --calibrate``
SEED = 20_241  # fixed: the same ledger gives the same report
SMALL_P = 0.05


@dataclass(frozen=True)
class Calibration:
    """The placebo's verdict on the current rules for one organisation."""

    runs: int
    flags_per_run: float
    runs_with_flags: int
    small_p_share: float  # share of all tests with p < 0.05 (a calibrated test: about 0.05)
    false_discovery_rate: float  # the configured rate: the share of runs allowed to flag
    within: bool
    suggestion: str | None  # a rules setting that brings the placebo back within, if needed

    @property
    def flagged_share(self) -> float:
        return self.runs_with_flags / self.runs if self.runs else 0.0

    def summary(self) -> str:
        """One line for a report or digest."""
        head = (f"week-shuffle placebo, {self.runs} runs: {self.flags_per_run:.2f} false flags "
                f"per run, {self.runs_with_flags} run(s) with any; p<0.05 in "
                f"{self.small_p_share:.1%} of tests")
        if self.within:
            return f"{head} — within the false discovery rate of {self.false_discovery_rate:g}"
        advice = f"; suggested: {self.suggestion}" if self.suggestion else ""
        return (f"{head} — MORE false alarms than the false discovery rate of "
                f"{self.false_discovery_rate:g} allows on this organisation{advice}")

    def as_json(self) -> dict[str, object]:
        return {"runs": self.runs, "flags_per_run": round(self.flags_per_run, 3),
                "runs_with_flags": self.runs_with_flags,
                "small_p_share": round(self.small_p_share, 4),
                "false_discovery_rate": self.false_discovery_rate, "within": self.within,
                "suggestion": self.suggestion}


@dataclass(frozen=True)
class _Placebo:
    flags: list[list[SeamResult]]  # per run, the seams it flagged
    tests: int
    small_p: int


def _placebo(weeks: SeamWeeks, departments: Sequence[str], seams: Seams,
             orders: Sequence[np.ndarray]) -> _Placebo:
    flags: list[list[SeamResult]] = []
    tests = small = 0
    for order in orders:
        drifting, p_values = drifting_only(weeks.reordered(order), departments, seams)
        flags.append(drifting)
        tests += p_values.size
        small += int((p_values < SMALL_P).sum())
    return _Placebo(flags, tests, small)


def _too_many(runs_with_flags: int, runs: int, rate: float) -> bool:
    """Clearly more runs flagged than ``rate`` allows (a one-sided binomial test at 5 %)."""
    if runs_with_flags == 0:
        return False
    from scipy import stats  # a slow import, needed only here

    return bool(stats.binom.sf(runs_with_flags - 1, runs, rate) < 0.05)


def calibrate(weeks: SeamWeeks, departments: Sequence[str], seams: Seams, *, runs: int = RUNS,
              seed: int = SEED) -> Calibration:
    """Run the placebo ``runs`` times and judge the current rules on it."""
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(weeks.n_weeks) for _ in range(runs)]
    found = _placebo(weeks, departments, seams, orders)
    with_flags = sum(bool(f) for f in found.flags)
    within = not _too_many(with_flags, runs, seams.false_discovery_rate)
    suggestion = None if within else _suggest(weeks, departments, seams, orders, found)
    return Calibration(
        runs=runs,
        flags_per_run=sum(len(f) for f in found.flags) / runs if runs else 0.0,
        runs_with_flags=with_flags,
        small_p_share=found.small_p / found.tests if found.tests else 0.0,
        false_discovery_rate=seams.false_discovery_rate,
        within=within,
        suggestion=suggestion,
    )


def _suggest(weeks: SeamWeeks, departments: Sequence[str], seams: Seams,
             orders: Sequence[np.ndarray], found: _Placebo) -> str | None:
    """The mildest setting under which the same placebo runs stay within the rate.

    False alarms mostly come from thin seams, so first a higher ``min_volume``
    (just above the baseline volume of a seam the placebo flagged, smallest
    first), then a lower false discovery rate.
    """
    volumes = sorted({round(r.baseline_volume * 1.01 + 0.5) for run in found.flags for r in run})
    candidates: list[tuple[str, Seams]] = [
        (f"seams.min_volume: {v:g}", seams.model_copy(update={"min_volume": float(v)}))
        for v in volumes if v > seams.min_volume
    ]
    rate = seams.false_discovery_rate
    candidates += [(f"seams.false_discovery_rate: {rate / k:g}",
                    seams.model_copy(update={"false_discovery_rate": rate / k})) for k in (2, 5, 10)]
    for text, stricter in candidates:
        again = _placebo(weeks, departments, stricter, orders)
        if not _too_many(sum(bool(f) for f in again.flags), len(orders), rate):
            return text
    return None
