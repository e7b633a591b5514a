"""CUPED, ratio metrics and confidence sequences against statsmodels, scipy and simulation."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats._delta_method import NonlinearDeltaCov

from growthloop.models.errors import ModelInputError
from growthloop.models.experiment_adjusted import (
    NO_PRE_PERIOD,
    JointStats,
    compare_cuped,
    compare_ratios,
)
from growthloop.models.experiment_sequential import half_width, sequential
from growthloop.models.experiments import SampleStats, compare_means


@pytest.mark.parametrize("seed", range(5))
def test_cuped_is_ancova_and_welch_on_the_adjusted_metric(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nc, nt = rng.integers(200, 2000, 2)
    pre_c, pre_t = rng.gamma(2, 50, nc), rng.gamma(2, 50, nt)
    yc = 0.8 * pre_c + rng.normal(0, 30, nc)
    yt = 0.8 * pre_t + rng.normal(5, 30, nt)
    got, theta = compare_cuped(JointStats.of_values(yc, pre_c), JointStats.of_values(yt, pre_t))
    # statsmodels: y ~ 1 + treatment + pre; theta and the effect are its coefficients.
    y = np.concatenate([yc, yt])
    pre = np.concatenate([pre_c, pre_t])
    treated = np.concatenate([np.zeros(nc), np.ones(nt)])
    ols = sm.OLS(y, sm.add_constant(np.column_stack([treated, pre]))).fit()
    assert theta == pytest.approx(ols.params[2], rel=1e-9)
    assert got.absolute == pytest.approx(ols.params[1], rel=1e-9)
    centre = pre.mean()
    ref = stats.ttest_ind(
        yt - theta * (pre_t - centre), yc - theta * (pre_c - centre), equal_var=False
    )
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-8)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    ci = ref.confidence_interval(0.95)
    assert (got.absolute_ci.low, got.absolute_ci.high) == pytest.approx((ci.low, ci.high), rel=1e-8)
    plain = compare_means(SampleStats.of_values(yc), SampleStats.of_values(yt))
    assert got.standard_error < 0.7 * plain.standard_error  # the point of CUPED


def test_cuped_without_a_pre_period_is_refused() -> None:
    flat = JointStats.of_values([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    with pytest.raises(ModelInputError, match="no variance within the variants"):
        compare_cuped(flat, JointStats.of_values([2.0, 5.0], [0.0, 0.0]))
    assert "pre-period" in NO_PRE_PERIOD


@pytest.mark.parametrize("seed", range(5))
def test_ratio_metric_matches_the_delta_method_of_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)

    def users(n: int, per_session: float) -> tuple[np.ndarray, np.ndarray]:
        sessions = rng.poisson(3, n) + 1.0
        return rng.gamma(sessions * per_session, 1.0), sessions

    (yc, xc), (yt, xt) = (
        users(int(rng.integers(100, 900)), 20.0),
        users(int(rng.integers(100, 900)), 21.5),
    )
    got = compare_ratios(JointStats.of_values(yc, xc), JointStats.of_values(yt, xt))

    def reference(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
        cov = np.cov(np.vstack([y, x]), ddof=1) / len(y)
        nl = NonlinearDeltaCov(
            lambda p: np.atleast_1d(p[0] / p[1]), np.array([y.mean(), x.mean()]), cov
        )
        return float(nl.predicted()[0]), float(np.atleast_2d(nl.cov())[0, 0])

    rc, vc = reference(yc, xc)
    rt, vt = reference(yt, xt)
    assert (got.control_mean, got.test_mean) == pytest.approx((rc, rt))
    assert got.standard_error == pytest.approx(np.sqrt(vc + vt), rel=1e-8)
    z = (rt - rc) / np.sqrt(vc + vt)
    assert got.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-7)
    assert got.absolute_ci.low == pytest.approx(rt - rc - stats.norm.isf(0.025) * np.sqrt(vc + vt))


def test_ratio_with_an_empty_denominator_is_refused() -> None:
    with pytest.raises(ModelInputError, match="denominator sums to 0 in control"):
        compare_ratios(
            JointStats.of_values([0.0, 0.0], [0.0, 0.0]),
            JointStats.of_values([1.0, 2.0], [1.0, 1.0]),
        )


def test_confidence_sequence_keeps_its_level_under_peeking() -> None:
    """A/A tests looked at 40 times: the sequence rarely excludes 0, the fixed interval often does."""
    rng = np.random.default_rng(3)
    streams, per_arm, looks = 3000, 4000, np.linspace(100, 4000, 40).astype(int)
    a = rng.normal(0, 1, (streams, per_arm)).cumsum(axis=1)
    b = rng.normal(0, 1, (streams, per_arm)).cumsum(axis=1)
    ever_cs = np.zeros(streams, bool)
    ever_fixed = np.zeros(streams, bool)
    for n in looks:
        diff = (b[:, n - 1] - a[:, n - 1]) / n
        variance = 2 / n  # known unit variances keep the simulation about the boundary alone
        width = np.array([half_width(variance, 2 * n, 0.05)] * streams)
        ever_cs |= np.abs(diff) > width
        ever_fixed |= np.abs(diff) > 1.959964 * np.sqrt(variance)
    assert ever_cs.mean() < 0.05
    assert ever_fixed.mean() > 0.15
    one = sequential(0.1, 0.0004, 10_000)
    assert one.significant and one.interval.low < 0.1 - 1.96 * 0.02  # wider than the fixed interval
