"""The exposure test: counts against what the baseline rate predicts, dispersion from the baseline."""

from __future__ import annotations

import numpy as np
import pytest

from agent.exposure import (
    benjamini_hochberg,
    either_window,
    exposure_test,
    exposure_tests,
    moderated,
    persistence,
)

BASELINE, RECENT = slice(0, 26), slice(26, 32)


def series(seed: int, columns: int = 200, rate: float = 0.05, drop: float = 0.0,
           quiet: tuple[int, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Overdispersed counts (gamma-mixed Poisson) that are a steady share of their exposure."""
    rng = np.random.default_rng(seed)
    exposure = np.full((32, columns), 600.0)
    for week in quiet:
        exposure[week] *= 0.3  # an org-wide holiday week
    level = rate * exposure * rng.gamma(4.0, 1 / 4.0, exposure.shape)
    level[RECENT] *= 1 - drop
    return rng.poisson(level).astype(float), exposure


def test_holiday_weeks_in_the_recent_window_move_the_expectation_not_the_verdict() -> None:
    counts, exposure = series(1, quiet=(27, 28, 29))
    test = exposure_test(counts, exposure, BASELINE, RECENT)
    assert abs(float(np.median(test.change))) < 0.05  # the raw counts fell by a third
    assert 0.01 <= float((test.p < 0.05).mean()) <= 0.1


def test_a_real_fall_is_found() -> None:
    counts, exposure = series(2, drop=0.6)
    test = exposure_test(counts, exposure, BASELINE, RECENT)
    assert float(np.median(test.change)) < -0.5
    assert float((test.p < 0.05).mean()) > 0.9


def test_no_variance_is_taken_from_the_recent_weeks() -> None:
    counts, exposure = series(3, columns=1)
    calm, wild = counts.copy(), counts.copy()
    total = counts[RECENT].sum()
    calm[RECENT] = total / 6
    wild[RECENT] = 0.0
    wild[RECENT.start] = total  # the same recent sum in one burst
    p_calm = exposure_test(calm, exposure, BASELINE, RECENT).p
    p_wild = exposure_test(wild, exposure, BASELINE, RECENT).p
    assert p_calm == p_wild


def test_persistent_weeks_widen_the_test() -> None:
    rng = np.random.default_rng(4)
    steps = rng.normal(size=(32, 300))
    smooth = (steps + np.roll(steps, 1, axis=0) + np.roll(steps, 2, axis=0)) / 3  # 3-week projects
    lags = persistence(smooth[:26], 5)
    assert lags[0] > 0.5
    shuffled = persistence(rng.permutation(smooth[:26]), 5)
    assert abs(shuffled[0]) < 0.1


def test_a_series_without_exposure_is_not_judged() -> None:
    counts = np.zeros((32, 1))
    test = exposure_test(counts, np.zeros((32, 1)), BASELINE, RECENT)
    assert test.p[0] == 1.0 and test.change[0] == 0.0


def test_benjamini_hochberg_matches_its_definition() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5])
    assert np.allclose(benjamini_hochberg(p), [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])


def _estimates(seed: int, truth: np.ndarray, df: int = 25) -> np.ndarray:
    """Dispersion estimates as the baseline gives them: scaled chi-squares with ``df``."""
    return truth * np.random.default_rng(seed).chisquare(df, truth.size) / df


def test_a_shared_dispersion_is_estimated_better_together() -> None:
    truth = np.full(60, 2.0)
    raw = _estimates(5, truth)
    shrunk, df = moderated(raw, np.full(60, 25))
    error = lambda d: float(np.mean(np.abs(np.log(d / truth))))  # noqa: E731
    assert error(shrunk) < 0.5 * error(raw)
    assert np.all(df == 25 + 12)  # the other seams lend degrees of freedom: half a seam's own at most


def test_dispersions_that_really_differ_are_left_nearly_alone() -> None:
    truth = np.random.default_rng(6).lognormal(0.0, 1.0, 60)  # a factor of e either way
    raw = _estimates(7, truth)
    shrunk, df = moderated(raw, np.full(60, 25))
    assert np.all(df < 30)  # little to lend
    assert float(np.corrcoef(np.log(shrunk), np.log(truth))[0, 1]) > 0.9


def test_too_few_series_are_not_moderated() -> None:
    raw = np.array([1.0, 3.0])
    shrunk, df = moderated(raw, np.array([25, 25]))
    assert np.array_equal(shrunk, raw) and np.array_equal(df, [25, 25])


def test_moderated_tests_stay_calibrated() -> None:
    small = [float((exposure_test(*series(seed), BASELINE, RECENT).p < 0.05).mean())
             for seed in range(10, 15)]
    assert 0.03 <= float(np.mean(small)) <= 0.07


def test_the_trigamma_inverse_inverts() -> None:
    from scipy import special

    from agent.exposure import _trigamma_inverse

    for value in (1e-4, 0.01, 0.3, 2.0, 50.0):
        assert float(special.polygamma(1, _trigamma_inverse(value))) == pytest.approx(value, rel=1e-6)


def test_the_latest_weeks_fall_is_measured_beside_the_window_not_tested() -> None:
    exposure = np.full((32, 3), 100.0)
    exposure[30] = 50.0  # a holiday week among the latest: its count is expected lower too
    counts = 0.2 * exposure
    counts[29:, 0] *= 0.5  # the last three weeks at half the rate
    counts[26:, 1] *= 0.75  # the whole window at three quarters
    slid = exposure_test(counts, exposure, BASELINE, RECENT, latest=3)
    assert slid.latest is not None
    assert np.allclose(slid.change, [85 / 110 - 1, -0.25, 0.0])  # 85 seen, 110 expected
    assert np.allclose(slid.latest, [-0.5, -0.25, 0.0])
    assert np.allclose(slid.reached, [-0.5, -0.25, 0.0])
    whole = exposure_test(counts, exposure, BASELINE, RECENT)
    assert whole.latest is None and np.array_equal(whole.reached, whole.change)
    assert np.array_equal(slid.p, whole.p)  # the p-value is the whole window's


LATE_BASELINE, LATE = slice(2, 28), slice(28, 32)  # the last 4 weeks, after their own 26


def test_a_fall_in_the_last_weeks_is_found_more_surely_with_the_late_window() -> None:
    counts, exposure = series(20, columns=400)
    # a fall two weeks into the window: the whole window sees two thirds of it, the late all
    counts[RECENT] = np.round(counts[RECENT] * np.array([1, 1, 0.4, 0.4, 0.4, 0.4])[:, None])
    whole = exposure_test(counts, exposure, BASELINE, RECENT)
    late = exposure_test(counts, exposure, LATE_BASELINE, LATE)
    joint = either_window(whole, late, 4)
    assert joint.late_weeks == 4 and joint.whole_p is whole.p and joint.late_p is late.p
    assert float(np.median(late.p)) < float(np.median(whole.p)) / 2
    assert float((joint.p < 0.05).mean()) > float((whole.p < 0.05).mean()) + 0.15  # 0.78, 0.54


def test_the_joint_p_is_never_bolder_than_the_smaller_p_nor_more_timid_than_bonferroni() -> None:
    counts, exposure = series(21, columns=200, drop=0.2)
    whole = exposure_test(counts, exposure, BASELINE, RECENT)
    late = exposure_test(counts, exposure, LATE_BASELINE, LATE)
    joint = either_window(whole, late, 4)
    smaller = np.minimum(whole.p, late.p)
    assert np.all(joint.p >= smaller - 1e-12)
    assert np.all(joint.p <= np.minimum(2 * smaller, 1.0) + 1e-12)


def test_tests_that_always_agree_count_one_and_a_half_and_too_few_series_count_two() -> None:
    counts, exposure = series(22, columns=50)
    whole = exposure_test(counts, exposure, BASELINE, RECENT)
    same = either_window(whole, whole, 4)  # correlation 1: Nyholt's count is 2 - 1/2
    assert np.allclose(same.p, 1 - (1 - whole.p) ** 1.5)
    late = exposure_test(counts, exposure, LATE_BASELINE, LATE)
    r = float(np.corrcoef(whole.t, late.t)[0, 1])
    assert 0.3 < r < 0.95  # the windows share weeks: between one test and two
    smaller = np.minimum(whole.p, late.p)
    assert np.allclose(either_window(whole, late, 4).p, 1 - (1 - smaller) ** (2 - r * r / 2))
    few = exposure_test(counts[:, :3], exposure[:, :3], BASELINE, RECENT)
    assert np.allclose(either_window(few, few, 4).p, 1 - (1 - few.p) ** 2)


def test_the_two_windows_stay_calibrated_together() -> None:
    small = []
    for seed in range(30, 35):
        counts, exposure = series(seed)
        whole = exposure_test(counts, exposure, BASELINE, RECENT)
        late = exposure_test(counts, exposure, LATE_BASELINE, LATE)
        small.append(float((either_window(whole, late, 4).p < 0.05).mean()))
    assert 0.02 <= float(np.mean(small)) <= 0.07


def test_families_tested_side_by_side_are_each_tested_as_alone() -> None:
    """Three families unlike each other (a calm one, a bursty persistent one with a fall, one
    near its bound) in one call give each exactly the test it gets alone: persistence and
    the moderated dispersion are pooled within a family, never across."""
    calm, calm_exposure = series(11, columns=30)
    rng = np.random.default_rng(12)
    lasting = np.repeat(rng.gamma(1.5, 1 / 1.5, (8, 40)), 4, axis=0)  # four-week spells
    wild = rng.poisson(40 * lasting).astype(float)
    wild[RECENT, :10] *= 0.4
    wild_exposure = np.full(wild.shape, 800.0)
    near, near_exposure = series(13, columns=20, rate=0.5)
    bound = np.full(20, 600.0)
    columns = [30, 40, 20]
    together = exposure_tests(np.hstack([calm, wild, near]),
                              np.hstack([calm_exposure, wild_exposure, near_exposure]),
                              BASELINE, RECENT, columns, np.r_[np.full(70, np.inf), bound], 3)
    alone = [exposure_test(calm, calm_exposure, BASELINE, RECENT, latest=3),
             exposure_test(wild, wild_exposure, BASELINE, RECENT, latest=3),
             exposure_test(near, near_exposure, BASELINE, RECENT, bound, latest=3)]
    assert together[1].persistence > together[0].persistence  # the families do differ
    for joint, single in zip(together, alone, strict=True):
        assert joint.persistence == single.persistence and joint.latest_weeks == 3
        for field in ("baseline_rate", "observed", "expected", "dispersion", "df", "t", "p",
                      "latest"):
            assert np.array_equal(getattr(joint, field), getattr(single, field), equal_nan=True)
