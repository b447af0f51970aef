"""Is a count lower than its exposure predicts? The test the seam detector makes.

Each series is a weekly count ``y`` (a seam's ties, say) beside a weekly
exposure ``e`` (everything the seam's two departments did that week). Under
"nothing changed" the count is a steady share of its exposure: the baseline
weeks estimate that rate, and the recent weeks' pooled count is compared with
``rate x recent exposure``. Holidays, seasons and org-wide quiet months change
the exposure, so they move the expectation instead of adding noise, and a
near-empty week weighs little.

The statistic is the signed root of the two-group Poisson deviance (recent
rate against baseline rate), scaled as a quasi-likelihood:

- **overdispersion**: contact comes in bursts (projects, long threads), so
  the variance is ``dispersion x mean``, the dispersion estimated from the
  baseline weeks' Pearson residuals alone, drawn towards the dispersion the
  series tested together share as far as their spread shows chance
  (``moderated``), and the statistic is referred to Student's t with the
  baseline's degrees of freedom plus those the shared dispersion lends;
- **persistence**: a project lasts weeks, so neighbouring weeks move
  together and a sum of six weeks varies more than six independent weeks
  would. The lag correlations of the standardised baseline residuals,
  pooled over every series tested together (the organisation's projects
  last about as long in every seam), widen the variance of the recent and
  baseline sums accordingly: every lag up to the window's length for the
  recent sum, every lag the baseline shows for the baseline's. Residuals
  about the baseline's own mean hide the slow part of that variation (it
  moves the mean with them), so the dispersion is divided by
  ``1 - inflation / baseline weeks``. On the bench's organisations with
  nothing planted, p < 0.01 came out in 1.9-2.1 % of tests without these two
  corrections and 1.6-1.8 % with them (still above 1 %: some of a seam's
  drift is slower than a baseline can show).

A count of people rather than of contacts cannot pass the number of people
who could be counted (``bound``): near that bound a busy week adds little,
so the variance is ``dispersion x mean x (1 - mean / bound)``, and a seam
whose baseline sits close to its bound is not judged as calm once a quiet
month brings it down to where counts move freely.

Nothing is estimated from the few recent weeks: a real decline makes them
calm and leaves no degrees of freedom to speak of. The week-shuffle placebo
removes persistence, so both corrections are checked there and on
organisations with none planted (``bench/detection.py``).

All functions work on many series at once: arrays are ``[week, series]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class ExposureTest:
    """One test per series (arrays of shape ``[series]``)."""

    baseline_rate: np.ndarray  # pooled count / pooled exposure over the baseline
    recent_rate: np.ndarray
    observed: np.ndarray  # pooled recent count
    expected: np.ndarray  # baseline rate x pooled recent exposure
    dispersion: np.ndarray  # variance / mean from the baseline residuals
    df: np.ndarray  # the dispersion's degrees of freedom (baseline weeks with exposure - 1)
    t: np.ndarray  # scaled signed root deviance; negative is a fall
    p: np.ndarray  # one-sided: the chance of a fall at least this large
    persistence: float = 1.0  # how much more a recent sum varies than independent weeks
    # the change over the last ``latest_weeks`` of the recent window alone (None: not measured)
    latest: np.ndarray | None = None
    latest_weeks: int = 0
    # set by ``either_window``: ``p`` is then the two windows' joint p, these are their own
    whole_p: np.ndarray | None = None
    late_p: np.ndarray | None = None
    late_weeks: int = 0

    @cached_property  # read once per seam and signal: computed once per test
    def change(self) -> np.ndarray:
        """Relative change of the recent rate against the baseline rate (0 when unknown)."""
        return _relative_change(self.observed, self.expected)

    @cached_property
    def reached(self) -> np.ndarray:
        """How far each series has come: the larger fall of the whole recent window and of its
        last weeks (``latest``), as a relative change."""
        return self.change if self.latest is None else np.minimum(self.change, self.latest)


def exposure_test(counts: np.ndarray, exposure: np.ndarray, baseline: slice,
                  recent: slice, bound: np.ndarray | None = None,
                  latest: int = 0) -> ExposureTest:
    """Test every column of ``counts`` for a fall against ``exposure`` (same shape); ``bound``
    (per column) is the most a week's count can be, when there is one. ``latest`` > 0 also
    measures the change over that many final weeks of the recent window (not a test: the
    p-value is the whole window's)."""
    return exposure_tests(counts, exposure, baseline, recent, [counts.shape[1]], bound,
                          latest)[0]


def exposure_tests(counts: np.ndarray, exposure: np.ndarray, baseline: slice, recent: slice,
                   families: Sequence[int], bound: np.ndarray | None = None,
                   latest: int = 0) -> list[ExposureTest]:
    """``exposure_test`` on several families of series side by side: the columns are
    ``families[0]`` series of one, then ``families[1]`` of the next, and so on (several
    signals of the same seams, say). Persistence and the moderated dispersion are pooled
    within each family only, so each family's test is the one ``exposure_test`` makes of it
    alone; the rest is computed for all columns at once, which saves each family the fixed
    cost of some sixty array operations (the week-shuffle placebo makes thousands of tests)."""
    y_b, e_b = counts[baseline], exposure[baseline]
    y_r, e_r = counts[recent], exposure[recent]
    pooled_yb, pooled_eb = y_b.sum(axis=0), e_b.sum(axis=0)
    observed, pooled_er = y_r.sum(axis=0), e_r.sum(axis=0)
    span = len(range(*recent.indices(counts.shape[0])))
    n_baseline = y_b.shape[0]
    edges = np.cumsum([0, *families])
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(pooled_eb > 0, pooled_yb / pooled_eb, 0.0)
        recent_rate = np.where(pooled_er > 0, observed / pooled_er, 0.0)
        mean_b = rate * e_b
        variance_b = _variance(mean_b, bound)
        weeks = variance_b > 0
        residual = np.where(weeks, (y_b - mean_b) / np.sqrt(np.where(weeks, variance_b, 1.0)), 0.0)
        df = weeks.sum(axis=0) - 1
        dispersion = np.where(df > 0, (residual**2).sum(axis=0) / np.maximum(df, 1), np.nan)
        expected = rate * pooled_er
        standard = residual / np.sqrt(np.where(dispersion > 0, dispersion, np.inf))
        inflate_recent = np.ones(counts.shape[1])
        inflate_baseline = np.ones(counts.shape[1])
        for first, stop in itertools.pairwise(edges):
            family = slice(first, stop)
            # every lag the baseline can show: a project of four months moves the baseline's
            # mean too
            lags = persistence(standard[:, family], max(span, n_baseline) - 1)
            dispersion[family], df[family] = moderated(dispersion[family], df[family],
                                                       pooled_yb[family] / max(1, n_baseline))
            inflate_recent[family] = _inflation(lags[:max(0, span - 1)], max(1, span))
            inflate_baseline[family] = _inflation(lags, max(1, n_baseline))
        # residuals about the baseline's own mean miss the part of a persistent series' variance
        # that moves the mean itself (about inflation / weeks of it); at most a 0.7 share
        dispersion = dispersion / np.maximum(0.3, 1 - inflate_baseline / max(1, n_baseline))
        # the baseline rate is estimated too; its share of the error grows with recent/baseline
        ratio = np.where(pooled_eb > 0, pooled_er / pooled_eb, 0.0)
        # the deviance is Poisson's; near a bound each window varies less than its mean
        near_r = _share(_variance(rate * e_r, bound).sum(axis=0), expected)
        near_b = _share(variance_b.sum(axis=0), pooled_yb)
        scale = dispersion * (inflate_recent * near_r + inflate_baseline * ratio * near_b) / (1 + ratio)
        root = _signed_root(observed, pooled_er, pooled_yb, pooled_eb)
        # a baseline without any variation: only a real difference is a (certain) change
        differs = np.abs(observed - expected) > 1e-9 * np.maximum(expected, 1.0)
        steady = np.where(differs, np.where(observed < expected, -np.inf, np.inf), 0.0)
        t = np.where(scale > 1e-12, root / np.sqrt(np.where(scale > 1e-12, scale, 1.0)), steady)
    usable = (df > 0) & (expected > 0)
    t = np.where(usable, t, 0.0)
    p = np.ones_like(t, dtype=float)
    if usable.any():
        from scipy import special  # a slow import, needed only here

        # Student's t distribution function; the ufunc, without scipy.stats' checks per call
        p[usable] = special.stdtr(df[usable], t[usable])
    measured = 0 < latest < span
    change = _latest_change(y_r, e_r, rate, latest) if measured else None
    observed, df = observed.astype(float), df.astype(int)
    return [ExposureTest(rate[f], recent_rate[f], observed[f], expected[f], dispersion[f], df[f],
                         t[f], p[f], float(inflate_recent[first]) if stop > first else 1.0,
                         None if change is None else change[f], latest if measured else 0)
            for first, stop in itertools.pairwise(edges) for f in (slice(first, stop),)]


def either_window(whole: ExposureTest, late: ExposureTest, late_weeks: int) -> ExposureTest:
    """The whole recent window's test, its p now the chance that *either* window shows a
    fall this large: ``late`` tests the last ``late_weeks`` of the recent weeks against the
    baseline weeks right before them.

    A ramp still under way has fallen furthest in its last weeks, which the whole window
    averages with the earlier ones; a project that ended early in the window, or a quiet
    spell in its first weeks, falls in the whole window only. Each test alone is
    calibrated; the smaller p is corrected (Šidák) for the effective number of tests the two
    make, after Nyholt, from the correlation of their statistics across the series tested
    together: two tests that always agree count one and a half, independent ones two (his
    estimate with the eigenvalues' variance over the number of tests, the more cautious
    reading). Fewer than four usable series count as two.

    On the tuning seeds (6 and 4 weeks; `bench/detection.py --seeds tuning`) this found 83
    of bursty's 100 ramps where the whole window alone finds 80, with 8 false flags on the
    planted organisations where there were 9 and none on those with nothing planted where
    there were 2, but 13 of 25 thinning seams where there were 16; network found 101 of 120
    where it finds 102, with 3 false flags where there were 5. The placebo gave p < 0.05 in
    3.1 % and 3.3 % of tests, as each window's test alone does (3.5 % and 3.7 %). Nyholt's
    own reading (variance over M - 1: agreeing tests count once) found 85 and 108 ramps but
    with 12 and 7 false flags, and its placebo rose to 4.0 % and 4.2 %: more than either
    test alone, so here it corrects too little for testing twice. Simes' combination (valid
    for any positive dependence, but blind to how closely the two agree) found 80 and 101
    with 5 and 3, its placebo below 3 %. Windows of 6 and 5, 6 and 3, 6 and 8, or 6, 4 and
    3 weeks moved each figure by one to three either way; 6 and 4 is the pair.
    """
    usable = np.isfinite(whole.t) & np.isfinite(late.t) & (whole.p < 1) & (late.p < 1)
    tests = 2.0
    if usable.sum() >= 4 and np.ptp(whole.t[usable]) > 0 and np.ptp(late.t[usable]) > 0:
        r = float(np.corrcoef(whole.t[usable], late.t[usable])[0, 1])
        # Nyholt: 1 + (M - 1)(1 - var(eigenvalues) / M); two tests' eigenvalues are 1 ± r,
        # whose variance over M is r²
        tests = 1 + (1 - r * r / 2)
    smaller = np.minimum(whole.p, late.p)
    joint = -np.expm1(tests * np.log1p(-np.minimum(smaller, 1 - 1e-16)))
    return replace(whole, p=np.where(smaller >= 1, 1.0, joint), whole_p=whole.p, late_p=late.p,
                   late_weeks=late_weeks)


def _latest_change(y_r: np.ndarray, e_r: np.ndarray, rate: np.ndarray, weeks: int) -> np.ndarray:
    """The change of the last ``weeks`` recent weeks' pooled count against the baseline rate."""
    return _relative_change(y_r[-weeks:].sum(axis=0), rate * e_r[-weeks:].sum(axis=0))


def _relative_change(seen: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``seen / expected - 1``, 0 where nothing was expected."""
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.where(expected > 0, seen / np.where(expected > 0, expected, 1.0) - 1, 0.0)
    return np.asarray(change, float)


LENT_DF = 0.5  # the most degrees of freedom the other seams lend one, per degree of its own


def moderated(dispersion: np.ndarray, df: np.ndarray,
              level: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each series' dispersion drawn towards the one series of its size share, with the
    degrees of freedom that buys.

    Twenty-six baseline weeks estimate a dispersion loosely: one seam's comes out at half its
    true value by chance and its test is too bold, another's at double and its test too timid.
    Across the seams of one organisation the true dispersions vary much less than those
    estimates do, so the spread of the estimates tells how much of it is chance. As in
    Smyth's moderated t (empirical Bayes): each estimate, a scaled chi-square with ``df``
    degrees of freedom, is taken about a dispersion drawn from a scaled inverse chi-square
    with ``d0`` degrees of freedom about ``s0``; each series' dispersion becomes
    ``(d0 s0 + df s) / (d0 + df)``. Its test gains the prior's ``d0`` degrees of freedom, but
    at most ``LENT_DF`` times its own: the chi-square picture of the estimate is an ideal, and
    a seam's statistic has heavier tails than it (bursty, persistent weeks), which the t of
    the seam's own baseline guards against. (With the prior's full degrees of freedom,
    500-person organisations with nothing planted got 4 false flags in 40 on the tuning seeds
    and 3 in 10 in the quality tests; with half the seam's own, 1 and none, for 0.01-0.02
    less recall on the tuning seeds.)

    Bursty counts vary more, relative to their mean, the larger they are (a busy seam's
    projects move more contact), so ``s0`` follows the series' ``level`` (their mean weekly
    count): the log estimates are fitted as a line in the log level, and ``d0`` comes from
    the spread about that line beyond what chance gives. ``d0`` never passes the degrees of
    freedom of all the series together (they are all the prior has), and fewer than four
    series are left as they are.
    """
    from scipy import special  # a slow import, needed only here

    usable = np.isfinite(dispersion) & (dispersion > 0) & (df > 0)
    if level is not None:
        usable &= np.isfinite(level) & (level > 0)
    if usable.sum() < 4:
        return dispersion, df
    own = df[usable].astype(float)
    # log estimate minus its expected bias: each is then log(true dispersion) plus chance
    centred = np.log(dispersion[usable]) - special.digamma(own / 2) + np.log(own / 2)
    if level is None:
        fitted, fitted_df = np.full(centred.size, centred.mean()), 1
    else:
        x = np.log(level[usable])
        dx = x - x.mean()
        slope = float(dx @ centred / (dx @ dx)) if np.ptp(x) > 0 else 0.0
        fitted, fitted_df = centred.mean() + slope * dx, 2  # the least-squares line
    spread = (float(((centred - fitted) ** 2).sum()) / (centred.size - fitted_df)
              - float(np.mean(special.zeta(2, own / 2))))  # zeta(2, x) is the trigamma
    most = float(own.sum())
    # no more spread than chance gives: the fitted dispersion for all, as far as the data go
    prior = most if spread <= 0 else min(most, 2 * _trigamma_inverse(spread))
    common = np.exp(fitted + special.digamma(prior / 2) - np.log(prior / 2))
    shrunk, total_df = dispersion.copy(), df.copy()
    shrunk[usable] = (prior * common + own * dispersion[usable]) / (prior + own)
    total_df[usable] = np.floor(own + np.minimum(prior, LENT_DF * own)).astype(df.dtype)
    return shrunk, total_df


def _trigamma_inverse(value: float) -> float:
    """The x > 0 whose trigamma is ``value`` (Newton's method from above, as in limma)."""
    from scipy import special

    if value > 1e7:
        return 1 / np.sqrt(value)
    if value < 1e-6:
        return 1 / value
    x = 0.5 + 1 / value
    for _ in range(50):
        tri = float(special.zeta(2, x))
        step = tri * (1 - tri / value) / (-2 * float(special.zeta(3, x)))  # over the tetragamma
        x += step
        if -step / x < 1e-8:
            break
    return x


def _variance(mean: np.ndarray, bound: np.ndarray | None) -> np.ndarray:
    """Variance over dispersion of a count with this mean (Poisson, or below a bound)."""
    if bound is None:
        return mean
    room: np.ndarray = mean * np.clip(1 - mean / np.maximum(bound, 1.0), 0.0, 1.0)
    return room


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        share: np.ndarray = np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), 1.0)
    return share


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log(x / y), 0 where x is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        safe_x, safe_y = np.where(x > 0, x, 1.0), np.where(y > 0, y, 1.0)
        return np.where(x > 0, x * np.log(safe_x / safe_y), 0.0)


def _signed_root(y_r: np.ndarray, e_r: np.ndarray, y_b: np.ndarray, e_b: np.ndarray) -> np.ndarray:
    """Signed root of the Poisson deviance of "one rate for both windows".

    Closer to normal than the Pearson statistic for skewed counts, whose
    lower tail is shorter than a normal one.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(e_r + e_b > 0, (y_r + y_b) / (e_r + e_b), 0.0)
        deviance = 2 * (_xlogy(y_r, pooled * e_r) + _xlogy(y_b, pooled * e_b))
        recent_rate = np.where(e_r > 0, y_r / e_r, 0.0)
        baseline_rate = np.where(e_b > 0, y_b / e_b, 0.0)
    root: np.ndarray = np.sign(recent_rate - baseline_rate) * np.sqrt(np.maximum(deviance, 0.0))
    return root


def persistence(residuals: np.ndarray, most_lag: int) -> np.ndarray:
    """Correlation of standardised residuals ``[week, series]`` at lags 1..most_lag,
    pooled over every series.

    Residuals about a fitted rate sum to about zero, which biases each lag's
    estimate by about -1/weeks; that much is added back.
    """
    n = residuals.shape[0]
    if most_lag < 1 or n < 3:
        return np.zeros(0)
    # every pair of weeks' product summed over the series, then totalled by the weeks' distance
    products = residuals @ residuals.T
    power = float(np.trace(products))
    if power <= 0:
        return np.zeros(0)
    first, second = np.triu_indices(n, 1)
    by_lag = np.bincount(second - first, weights=products[first, second], minlength=n)
    return by_lag[1:min(most_lag, n - 2) + 1] / power + 1 / n


def _inflation(lags: np.ndarray, weeks: int) -> float:
    """How much more a sum of ``weeks`` correlated weeks varies than one of independent weeks
    (never less: a negative estimate is taken as noise)."""
    k = np.arange(1, lags.size + 1)
    return max(1.0, 1 + 2 * float(((1 - k / weeks).clip(0) * lags).sum()))


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Adjusted q-values controlling the false discovery rate over all the tests given."""
    p = np.asarray(p_values, float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out
