"""Which seams between departments are thinning, and which personal ties lapsed.

A department pair is judged on its *share*: each week, the pair's contact
divided by all contact the two departments had that week (inside each, with
each other and with everyone else). A holiday week or a quiet month lowers
numerator and denominator alike, so it does not look like drift.

Contact is bursty: one project or offsite makes a pile of it, then nothing.
The test therefore works on weekly shares and their observed variance
(Welch's t-test, recent weeks against baseline weeks), widened for the
week-to-week persistence that projects cause (lag-1 autocorrelation shrinks
the effective number of weeks) and never trusting a few calm recent weeks
to be calmer than the baseline's spread allows; the false discovery rate
over all pairs is held with Benjamini-Hochberg. (A quasi-Poisson test on
counts was tried and lost most of its power to the bursts.) A pair is drifting only when the drop is
large (the rule's ``drop``), the baseline had enough volume, and the drop
survives that test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.arrays import contained_in, unique_sorted
from agent.ledger import ContactTable
from rules.model import Seams, Signals


@dataclass(frozen=True)
class Windows:
    """Offsets into a ContactTable: baseline weeks then recent weeks (end exclusive)."""

    baseline: slice
    recent: slice


@dataclass(frozen=True)
class SeamResult:
    departments: tuple[str, str]
    baseline_share: float
    recent_share: float
    change: float
    score: float
    p_value: float
    q_value: float
    baseline_volume: float
    recent_volume: float
    drifting: bool
    tested: bool
    reason: str
    rule: str

    def as_json(self) -> dict[str, object]:
        return {
            "departments": list(self.departments),
            "baseline_share": round(self.baseline_share, 4),
            "recent_share": round(self.recent_share, 4),
            "change": round(self.change, 3),
            "score": round(self.score, 2),
            "q_value": round(self.q_value, 4),
            "baseline_volume": round(self.baseline_volume, 1),
            "drifting": self.drifting,
            "reason": self.reason,
        }


def windows_for(table: ContactTable, recent_weeks: int, baseline_weeks: int) -> Windows:
    """Recent weeks end with the table's last week; the baseline comes right before."""
    end = table.n_weeks
    recent_start = max(0, end - recent_weeks)
    baseline_start = max(0, recent_start - baseline_weeks)
    return Windows(slice(baseline_start, recent_start), slice(recent_start, end))


def department_matrix(table: ContactTable, dept_of: np.ndarray, n_depts: int) -> np.ndarray:
    """Weekly contact per department pair: array [week, d1, d2], symmetric."""
    da = dept_of[table.a] if table.a.size else np.empty(0, np.int64)
    db = dept_of[table.b] if table.b.size else np.empty(0, np.int64)
    known = (da >= 0) & (db >= 0)
    lo = np.minimum(da[known], db[known])
    hi = np.maximum(da[known], db[known])
    code = (table.week[known].astype(np.int64) * n_depts + lo) * n_depts + hi
    flat = np.bincount(code, weights=table.weight[known],
                       minlength=table.n_weeks * n_depts * n_depts)
    matrix = flat.reshape(table.n_weeks, n_depts, n_depts)
    upper = np.triu(matrix, 1)
    return upper + upper.transpose(0, 2, 1) + np.einsum("wii->wi", matrix)[:, :, None] * np.eye(n_depts)


def _effective_n(values: np.ndarray) -> float:
    """Weeks are not independent when projects last several weeks; shrink n by AR(1)."""
    n = values.size
    if n < 4 or np.allclose(values, values[0]):
        return float(n)
    centred = values - values.mean()
    r1 = float(np.dot(centred[:-1], centred[1:]) / np.dot(centred, centred))
    r1 = min(max(r1, 0.0), 0.9)
    return max(2.0, n * (1 - r1) / (1 + r1))


def welch_less(recent: np.ndarray, baseline: np.ndarray) -> tuple[float, float]:
    """One-sided test that recent weekly shares are lower: (t, p)."""
    if recent.size < 2 or baseline.size < 2:
        return 0.0, 1.0
    n_r, n_b = _effective_n(recent), _effective_n(baseline)
    base_var = baseline.var(ddof=1)
    base_mean = baseline.mean()
    # Six quiet weeks can look deceptively calm: with bursty contact a lull
    # has a tiny spread. Never trust the recent spread below what the
    # baseline's spread would be at the recent level (scaled with the mean).
    floor = base_var * max(recent.mean(), 0.0) / base_mean if base_mean > 0 else 0.0
    var_r = max(recent.var(ddof=1), floor) / n_r
    var_b = base_var / n_b
    se2 = var_r + var_b
    diff = recent.mean() - baseline.mean()
    if se2 <= 0:
        return (0.0, 1.0) if diff >= 0 else (-math.inf, 0.0)
    t = float(diff / math.sqrt(se2))
    df = se2**2 / ((var_r**2) / max(n_r - 1, 1) + (var_b**2) / max(n_b - 1, 1))
    from scipy import stats  # a slow import, needed only here

    return t, float(stats.t.cdf(t, df))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted q-values controlling the false discovery rate."""
    m = len(p_values)
    if m == 0:
        return []
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q


@dataclass(frozen=True)
class _PairStats:
    d1: int
    d2: int
    baseline_share: float
    recent_share: float
    baseline_volume: float
    recent_volume: float
    t: float
    p: float
    drop: float
    min_volume: float
    rule: str


def _pair_stats(matrix: np.ndarray, totals: np.ndarray, d1: int, d2: int, w: Windows,
                drop: float, min_volume: float, rule: str) -> _PairStats:
    weekly = matrix[:, d1, d2]
    denominator = totals[:, d1] + totals[:, d2] - weekly
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(denominator > 0, weekly / denominator, np.nan)
    base, recent = share[w.baseline], share[w.recent]
    base, recent = base[~np.isnan(base)], recent[~np.isnan(recent)]
    b_den = denominator[w.baseline].sum()
    r_den = denominator[w.recent].sum()
    b_share = float(weekly[w.baseline].sum() / b_den) if b_den > 0 else 0.0
    r_share = float(weekly[w.recent].sum() / r_den) if r_den > 0 else 0.0
    t, p = welch_less(recent, base)
    return _PairStats(d1, d2, b_share, r_share, float(weekly[w.baseline].sum()),
                      float(weekly[w.recent].sum()), t, p, drop, min_volume, rule)


def detect_seams(
    table: ContactTable,
    dept_of: np.ndarray,
    departments: Sequence[str],
    seams: Seams,
    too_thin: dict[tuple[str, str], float] | None = None,
) -> list[SeamResult]:
    """Every department pair with enough baseline volume, most drifting first.

    Pairs below their ``min_volume`` are not judged; when ``too_thin`` is given
    it receives their baseline volume, so an admin can see how far off they are.
    """
    n = len(departments)
    if n < 2:
        return []
    matrix = department_matrix(table, dept_of, n)
    totals = matrix.sum(axis=2)  # per week and department: all its contact (internal once)
    candidates: list[_PairStats] = []
    for d1 in range(n):
        for d2 in range(d1 + 1, n):
            a, b = departments[d1], departments[d2]
            if seams.ignores(a, b):
                continue
            w = windows_for(table, *seams.window_for(a, b))
            candidates.append(_pair_stats(matrix, totals, d1, d2, w, seams.drop_for(a, b),
                                          seams.min_volume_for(a, b), seams.label_for(a, b)))
    tested = [c for c in candidates if c.baseline_volume >= c.min_volume and c.baseline_volume > 0]
    if too_thin is not None:
        for c in candidates:
            if c not in tested:
                too_thin[(departments[c.d1], departments[c.d2])] = c.baseline_volume
    q_values = benjamini_hochberg([c.p for c in tested])
    fdr = seams.false_discovery_rate
    results = [_judge(c, q, departments, fdr) for c, q in zip(tested, q_values, strict=True)]
    results.sort(key=lambda r: (not r.drifting, -r.score))
    return results


def _judge(c: _PairStats, q: float, departments: Sequence[str], fdr: float) -> SeamResult:
    change = (c.recent_share / c.baseline_share - 1) if c.baseline_share > 0 else 0.0
    big = change <= -c.drop
    significant = q <= fdr
    if big and significant:
        reason = (f"share fell {-change:.0%} (threshold {c.drop:.0%}), "
                  f"significant (q={q:.3f} ≤ {fdr})")
    elif big:
        reason = (f"share fell {-change:.0%} but within week-to-week variation "
                  f"(q={q:.3f} > {fdr})")
    elif change < 0:
        reason = f"share fell {-change:.0%}, less than the {c.drop:.0%} threshold"
    else:
        reason = f"share steady or rising ({change:+.0%})"
    return SeamResult(
        departments=(departments[c.d1], departments[c.d2]),
        baseline_share=c.baseline_share,
        recent_share=c.recent_share,
        change=change,
        score=-c.t if math.isfinite(c.t) else 99.0,
        p_value=c.p,
        q_value=q,
        baseline_volume=c.baseline_volume,
        recent_volume=c.recent_volume,
        drifting=big and significant,
        tested=True,
        reason=reason,
        rule=c.rule,
    )


@dataclass(frozen=True)
class PersonTrend:
    """One person's cross-department contact, recent against baseline (weekly averages)."""

    person: int
    cross_recent: float
    cross_baseline: float
    breadth_recent: int
    breadth_baseline: float


@dataclass(frozen=True)
class LapsedTie:
    a: int
    b: int
    baseline_weight: float
    baseline_weeks: int


def lapsed_ties(table: ContactTable, dept_of: np.ndarray, w: Windows, signals: Signals) -> list[LapsedTie]:
    """Cross-department ties that were real in the baseline and silent recently."""
    cross = (dept_of[table.a] != dept_of[table.b]) & (dept_of[table.a] >= 0) & (dept_of[table.b] >= 0)
    in_base = (table.week >= w.baseline.start) & (table.week < w.baseline.stop) & cross
    in_recent = (table.week >= w.recent.start) & (table.week < w.recent.stop) & cross
    key = table.a.astype(np.int64) << 32 | table.b.astype(np.int64)
    base_keys, base_inverse = np.unique(key[in_base], return_inverse=True)
    base_weight = np.bincount(base_inverse, weights=table.weight[in_base])
    base_weeks = np.bincount(base_inverse)  # one row per pair-week in the table
    alive = contained_in(base_keys, unique_sorted(key[in_recent]))
    real = (base_weight >= signals.lapsed_min_weight) & (base_weeks >= signals.lapsed_min_weeks)
    chosen = np.flatnonzero(real & ~alive)
    return [
        LapsedTie(int(base_keys[i] >> 32), int(base_keys[i] & 0xFFFFFFFF), float(base_weight[i]),
                  int(base_weeks[i]))
        for i in chosen
    ]


def person_trends(table: ContactTable, dept_of: np.ndarray, w: Windows, n_people: int) -> list[PersonTrend]:
    """Cross-department contact per person: weekly weight and distinct contacts."""
    cross = (dept_of[table.a] != dept_of[table.b]) & (dept_of[table.a] >= 0) & (dept_of[table.b] >= 0)
    who = np.concatenate([table.a[cross], table.b[cross]])
    other = np.concatenate([table.b[cross], table.a[cross]])
    week = np.concatenate([table.week[cross], table.week[cross]])
    weight = np.concatenate([table.weight[cross], table.weight[cross]])
    recent_len = max(1, w.recent.stop - w.recent.start)
    base_len = max(1, w.baseline.stop - w.baseline.start)
    in_recent = (week >= w.recent.start) & (week < w.recent.stop)
    in_base = (week >= w.baseline.start) & (week < w.baseline.stop)
    recent_weight = np.bincount(who[in_recent], weights=weight[in_recent], minlength=n_people)
    base_weight = np.bincount(who[in_base], weights=weight[in_base], minlength=n_people)
    recent_breadth = _distinct(who[in_recent], other[in_recent], n_people)
    # Baseline breadth per block as long as the recent window, averaged.
    blocks = max(1, base_len // recent_len)
    block_of = (week[in_base] - w.baseline.start) // recent_len
    usable = block_of < blocks
    block_breadth = _distinct(who[in_base][usable] + n_people * block_of[usable],
                              other[in_base][usable], n_people * blocks)
    base_breadth = block_breadth.reshape(blocks, n_people).mean(axis=0)
    return [
        PersonTrend(i, float(recent_weight[i] / recent_len), float(base_weight[i] / base_len),
                    int(recent_breadth[i]), float(base_breadth[i]))
        for i in range(n_people)
    ]


def _distinct(who: np.ndarray, other: np.ndarray, size: int) -> np.ndarray:
    if who.size == 0:
        return np.zeros(size, np.int64)
    pairs = unique_sorted(who.astype(np.int64) << 32 | other.astype(np.int64))
    return np.bincount((pairs >> 32).astype(np.int64), minlength=size)
