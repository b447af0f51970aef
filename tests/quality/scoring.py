"""Scoring the seam detector on bursty organisations: the shared part of the tests and bench.

An organisation from ``tests.quality.bursty`` or ``tests.quality.network`` goes
through the real ledger (``LedgerFiles.add``: the counting rules) and the real detector
(``agent.drift.detect_seams``), exactly as ``pipeline.analyze`` calls it.
The placebo permutes whole weeks of the analysed window in the contact
table, so the bursts are real and any trend is gone.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.drift import SeamResult, detect_seams
from agent.ledger import ContactTable, LedgerFiles, read_table, week_of
from agent.pseudonym import Pseudonymiser
from rules.model import Rules
from tests.quality import bursty, network
from tests.quality.bursty import BurstyOrg

# the generators scored: written apart, from two pictures of where a seam's noise comes from
# (each builds an organisation once and returns it planted, then with nothing planted)
GENERATORS: dict[str, Callable[..., tuple[BurstyOrg, BurstyOrg]]] = {
    "bursty": bursty.generate_both, "network": network.generate_both}

KEY = b"bursty-scoring-key-0123456789abc"


@dataclass
class Ledgered:
    """An organisation's analysed weeks, as the detector reads them."""

    table: ContactTable
    dept_of: np.ndarray
    departments: list[str]


def ledgered(org: BurstyOrg, rules: Rules) -> Ledgered:
    """Count the organisation into a throw-away ledger and read the analysed weeks."""
    return ledgered_weekly(org, rules, 0)[0]


def ledgered_weekly(org: BurstyOrg, rules: Rules, later: int) -> list[Ledgered]:
    """The analysed weeks as a weekly analysis sees them ``later`` weeks before the
    organisation's ``as_of``, then each week after, up to ``as_of`` (oldest first)."""
    now = dt.datetime.combine(org.truth.as_of, dt.time(), tzinfo=dt.UTC)
    members = {p.email: p for p in org.people}
    with tempfile.TemporaryDirectory(prefix="bursty-") as tmp:
        ledger = LedgerFiles(Path(tmp), Pseudonymiser(KEY), rules.signals)
        ledger.add(org.interactions(), members, now)
        ledger.commit(now)
        last = week_of(now - dt.timedelta(days=3))  # the last full week before as_of
        tables = [read_table(ledger, end - rules.seams.longest_window() + 1, end)
                  for end in range(last - later, last + 1)]
        departments = sorted({p.department for p in org.people})
        index = {d: i for i, d in enumerate(departments)}
        dept_of = np.full(max(len(ledger.people), 1), -1, np.int64)
        for p in org.people:
            person = ledger.id_of(p.email)
            if person is not None:
                dept_of[person] = index[p.department]
    return [Ledgered(table, dept_of, departments) for table in tables]


def detect(data: Ledgered, rules: Rules) -> list[SeamResult]:
    return detect_seams(data.table, data.dept_of, data.departments, rules.seams)


def shuffled(table: ContactTable, rng: np.random.Generator) -> ContactTable:
    """The same table with its weeks in a random order (the week-shuffle placebo)."""
    order = rng.permutation(table.n_weeks).astype(np.int32)
    return table.reordered(order)


@dataclass
class Score:
    """Counts over many organisations; the figures are properties."""

    planted_orgs: int = 0
    planted: int = 0
    found: int = 0
    false_flags: int = 0
    thinning: int = 0
    thinning_found: int = 0
    null_orgs: int = 0
    null_flags: int = 0
    placebo_runs: int = 0
    placebo_flags: int = 0
    placebo_tests: int = 0
    placebo_small_p: int = 0
    ranked: int = 0  # planted 60 % seams among the org's five highest scores
    missed_by: dict[str, int] = field(default_factory=dict)
    planted_p: list[float] = field(default_factory=list)  # each ramp's smallest p of its signals
    null_p: list[float] = field(default_factory=list)  # the same for every seam of the null orgs
    # per planted organisation: ramps found, ramps planted, thinning found, false flags
    per_org: list[tuple[int, int, int, int]] = field(default_factory=list)

    def interval(self, figure: str, level: float = 0.9, draws: int = 2000) -> tuple[float, float]:
        """A bootstrap interval for ``recall`` or ``precision`` over the planted organisations
        (resampling whole organisations: seams of one organisation share its noise, so they
        are not independent draws). A seam's own movement over six weeks is as large as a
        good part of a planted fall, so which organisations a seed range happens to hold moves
        recall by a tenth or more; the interval says how far such a figure can be trusted."""
        if not self.per_org:
            return float("nan"), float("nan")
        counts = np.array(self.per_org, float)
        picks = np.random.default_rng(0).integers(0, len(counts), (draws, len(counts)))
        found, planted, thin, false = (counts[:, k][picks].sum(axis=1) for k in range(4))
        with np.errstate(invalid="ignore", divide="ignore"):
            right = found + thin  # as ``precision``: a flagged thinning seam is right too
            values = found / planted if figure == "recall" else right / (right + false)
        values = values[np.isfinite(values)]
        low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
        return float(low), float(high)

    def separable(self, quantile: float) -> int:
        """Ramps whose smallest p lies beyond the null seams' ``quantile``: what a test with
        these statistics could find at that false-alarm rate per seam, however calibrated."""
        if not self.null_p:
            return 0
        cut = float(np.quantile(self.null_p, quantile))
        return sum(p <= cut for p in self.planted_p)

    @property
    def recall(self) -> float:
        return _ratio(self.found, self.planted)

    @property
    def precision(self) -> float:
        """Share of flags on planted orgs that are planted seams (ramps or thinning)."""
        right = self.found + self.thinning_found
        return _ratio(right, right + self.false_flags) if right + self.false_flags else 1.0

    @property
    def false_flags_per_org(self) -> float:
        return _ratio(self.false_flags, self.planted_orgs)

    @property
    def null_flags_per_org(self) -> float:
        return _ratio(self.null_flags, self.null_orgs)

    @property
    def placebo_flags_per_run(self) -> float:
        return _ratio(self.placebo_flags, self.placebo_runs)

    @property
    def placebo_small_p_share(self) -> float:
        return _ratio(self.placebo_small_p, self.placebo_tests)

    def lines(self) -> list[str]:
        missed = ", ".join(f"{k}: {v}" for k, v in sorted(self.missed_by.items())) or "none"
        return [
            f"planted 60% ramps: {self.found}/{self.planted} found, recall {self.recall:.2f} "
            f"(90% over orgs {_span(self.interval('recall'))}), precision {self.precision:.2f} "
            f"({_span(self.interval('precision'))}; {self.false_flags} false flags on planted orgs); "
            f"misses stopped by {missed}; {self.ranked} of {self.planted} ranked in their "
            "org's top 5",
            f"separable from the null: {self.separable(0.01)} of {self.planted} ramps beyond the "
            f"null seams' 1% quantile of p, {self.separable(0.002)} beyond the 0.2% one",
            f"same people, fewer messages: flagged in {self.thinning_found} of {self.thinning}",
            f"null orgs: {self.null_flags} false flags in {self.null_orgs} "
            f"({self.null_flags_per_org:.2f} per org)",
            f"week-shuffle placebo: {self.placebo_runs} runs, share of tests with p<0.05 "
            f"{self.placebo_small_p_share:.3f}, {self.placebo_flags_per_run:.2f} flags per run",
        ]


def _span(bounds: tuple[float, float]) -> str:
    return f"{bounds[0]:.2f}-{bounds[1]:.2f}"


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def stopped_by(result: SeamResult | None) -> str:
    """Which gate stopped a planted seam: volume (not judged), threshold or BH."""
    if result is None:
        return "volume"
    gate = getattr(result, "gate", None)  # (detectors before the gate field: read the reason)
    if gate is None:
        gate = "BH" if "within week-to-week variation" in result.reason else "threshold"
    return str(gate)


def score_planted(score: Score, org: BurstyOrg, results: Sequence[SeamResult]) -> None:
    by_pair = {frozenset(r.departments): r for r in results}
    flagged = {frozenset(r.departments) for r in results if r.drifting}
    declining = {frozenset(p) for p in org.truth.declining}
    thinning = {frozenset(p) for p in org.truth.thinning}
    score.planted_orgs += 1
    score.planted += len(declining)
    top = {frozenset(r.departments) for r in sorted(results, key=lambda r: -r.score)[:5]}
    score.ranked += len(top & declining)
    score.found += len(flagged & declining)
    score.false_flags += len(flagged - declining - thinning)
    score.per_org.append((len(flagged & declining), len(declining), len(flagged & thinning),
                          len(flagged - declining - thinning)))
    score.thinning += len(thinning)
    score.thinning_found += len(flagged & thinning)
    score.planted_p.extend(min(by_pair[p].p_values) for p in declining if p in by_pair)
    for pair in declining - flagged:
        gate = stopped_by(by_pair.get(pair))
        score.missed_by[gate] = score.missed_by.get(gate, 0) + 1


def score_null(score: Score, results: Sequence[SeamResult]) -> None:
    score.null_orgs += 1
    score.null_flags += sum(r.drifting for r in results)
    score.null_p.extend(min(r.p_values) for r in results)


def score_placebo(score: Score, data: Ledgered, rules: Rules, runs: int, seed: int) -> None:
    rng = np.random.default_rng([seed, 99])
    for _ in range(runs):
        placebo = Ledgered(shuffled(data.table, rng), data.dept_of, data.departments)
        results = detect(placebo, rules)
        score.placebo_runs += 1
        score.placebo_flags += sum(r.drifting for r in results)
        p_values = [p for r in results for p in getattr(r, "p_values", (r.p_value,))]
        score.placebo_tests += len(p_values)
        score.placebo_small_p += sum(p < 0.05 for p in p_values)


@dataclass
class SeedRun:
    """One seed's planted organisation, its results, and where the time went."""

    planted: BurstyOrg
    results: list[SeamResult]
    seconds: tuple[float, float, float]  # generate, ledger, detect (with placebo)


def score_seed(score: Score, seed: int, rules: Rules, *, people: int, weeks: int, placebo: int,
               drop: float = 0.6, ramp_weeks: int = 8, settled: int = 0,
               generator: str = "bursty", planting: str = "side",
               departments: int | None = None, thin_meetings: bool = True) -> SeedRun:
    """Score one seed: its planted organisation, the same one unplanted, placebos of both."""
    t0 = time.perf_counter()
    planted, null = GENERATORS[generator](seed, people=people, weeks=weeks, drop=drop,
                                          ramp_weeks=ramp_weeks, settled=settled,
                                          planting=planting, departments=departments,
                                          thin_meetings=thin_meetings)
    t1 = time.perf_counter()
    data, null_data = ledgered(planted, rules), ledgered(null, rules)
    t2 = time.perf_counter()
    results = detect(data, rules)
    score_planted(score, planted, results)
    score_null(score, detect(null_data, rules))
    score_placebo(score, null_data, rules, placebo, seed)
    score_placebo(score, data, rules, placebo, seed + 10_000)
    return SeedRun(planted, results, (t1 - t0, t2 - t1, time.perf_counter() - t2))


@dataclass
class Follow:
    """What a weekly analysis shows over ``weeks`` more weeks after the usual snapshot: a
    seam counts as found (or falsely flagged) by week j when any analysis up to j flagged it.
    The planted falls keep their full drop after their ramp, so later analyses see more of it
    in the recent window; false flags accumulate the same way, so both are counted."""

    weeks: int
    planted_orgs: int = 0
    planted: int = 0
    thinning: int = 0
    found_by: list[int] = field(init=False)  # index j: ramps found by week j
    thinning_by: list[int] = field(init=False)
    false_by: list[int] = field(init=False)  # distinct seams, planted organisations
    null_by: list[int] = field(init=False)  # distinct seams, null organisations

    def __post_init__(self) -> None:
        self.found_by, self.thinning_by, self.false_by, self.null_by = (
            [0] * (self.weeks + 1) for _ in range(4))

    def add(self, org: BurstyOrg, planted: Sequence[Sequence[SeamResult]],
            null: Sequence[Sequence[SeamResult]]) -> None:
        """One organisation's weekly results, planted and null, oldest first."""
        declining = {frozenset(p) for p in org.truth.declining}
        thinning = {frozenset(p) for p in org.truth.thinning}
        self.planted_orgs += 1
        self.planted += len(declining)
        self.thinning += len(thinning)
        seen: set[frozenset[str]] = set()
        seen_null: set[frozenset[str]] = set()
        for week, (results, null_results) in enumerate(zip(planted, null, strict=True)):
            seen |= {frozenset(r.departments) for r in results if r.drifting}
            seen_null |= {frozenset(r.departments) for r in null_results if r.drifting}
            self.found_by[week] += len(seen & declining)
            self.thinning_by[week] += len(seen & thinning)
            self.false_by[week] += len(seen - declining - thinning)
            self.null_by[week] += len(seen_null)

    def lines(self) -> list[str]:
        return [f"week +{j}: ramps found {self.found_by[j]}/{self.planted} "
                f"({_ratio(self.found_by[j], self.planted):.2f}), same people, fewer messages "
                f"{self.thinning_by[j]}/{self.thinning}; seams falsely flagged: "
                f"{self.false_by[j]} on planted orgs, {self.null_by[j]} on null orgs "
                f"({_ratio(self.null_by[j], self.planted_orgs):.2f} per org)"
                for j in range(self.weeks + 1)]


def follow_seed(follow: Follow, seed: int, rules: Rules, *, people: int, weeks: int,
                drop: float = 0.6, ramp_weeks: int = 8, generator: str = "bursty",
                planting: str = "side", departments: int | None = None,
                thin_meetings: bool = True) -> None:
    """Score one seed as a weekly analysis sees it: the organisation runs ``follow.weeks``
    weeks past the usual ``weeks``, its ramps placed where the usual snapshot has them, and
    it is analysed at that snapshot and every week after."""
    planted, null = GENERATORS[generator](seed, people=people, weeks=weeks + follow.weeks,
                                          drop=drop, ramp_weeks=ramp_weeks, settled=follow.weeks,
                                          planting=planting, departments=departments,
                                          thin_meetings=thin_meetings)
    follow.add(planted, [detect(d, rules) for d in ledgered_weekly(planted, rules, follow.weeks)],
               [detect(d, rules) for d in ledgered_weekly(null, rules, follow.weeks)])
