"""A/B testing (A/B测试): frequentist comparisons, sample ratio mismatch, multiple testing.

Every test works on sufficient statistics per variant — n, sum and sum of squares of the
per-user metric — which SQL produces; nothing here reads a database (see
`growthloop.models.experiments_data`). Tests are two-sided: z for proportions (pooled standard
error for the test, unpooled for the interval, as statsmodels does), Welch's t for means.
The relative lift (test / control - 1) has a delta-method interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from growthloop.models.errors import (
    BAD_PARAMETER,
    TOO_FEW,
    FloatArray,
    ModelInputError,
    as_float_array,
)

MODEL = "the A/B test"
SRM_THRESHOLD = 0.001
NO_VARIANCE = "{metric} has no variance in either variant (every user's value is the same), so there is nothing to test"
RELATIVE_UNDEFINED = (
    "the control mean is 0, so a relative lift is undefined; see the absolute difference"
)
NOT_PROPORTION = "{name}: conversions ({conversions}) must be between 0 and the users ({n})"
SINGLE_VARIANT = "{model} needs at least two variants, got {got}"


@dataclass(frozen=True)
class SampleStats:
    """Sufficient statistics of a per-user metric in one variant."""

    n: int
    total: float
    total_sq: float

    @classmethod
    def of_values(cls, values: object) -> SampleStats:
        """From the per-user values."""
        v = as_float_array(values, "values", MODEL)
        return cls(len(v), float(v.sum()), float((v * v).sum()))

    @classmethod
    def of_conversions(cls, n: int, conversions: int, name: str = "variant") -> SampleStats:
        """A binomial metric: `conversions` of `n` users converted (each user counts 0 or 1)."""
        if n < 1 or not 0 <= conversions <= n:
            raise ModelInputError(NOT_PROPORTION.format(name=name, conversions=conversions, n=n))
        return cls(n, float(conversions), float(conversions))

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator); never negative despite rounding."""
        return max(self.total_sq - self.n * self.mean**2, 0.0) / (self.n - 1)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def __post_init__(self) -> None:
        # numpy scalars in, plain floats out: results compare, print and serialise plainly.
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))


@dataclass(frozen=True)
class Comparison:
    """Test versus control: means, lifts with confidence intervals, statistic and p-value.

    `standard_error` is that of the absolute difference (unpooled), as its interval uses.
    """

    test_kind: Literal["z", "welch"]
    control_mean: float
    test_mean: float
    absolute: float
    absolute_ci: Interval
    standard_error: float
    relative: float | None
    relative_ci: Interval | None
    statistic: float
    p_value: float
    df: float | None
    alpha: float
    notes: tuple[str, ...] = ()

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha


@dataclass(frozen=True)
class SampleRatioCheck:
    """Chi-square goodness of fit of the users per variant to the planned split."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    df: int
    p_value: float
    mismatch: bool


def check_alpha(alpha: float) -> None:
    """Refuses a significance level outside (0, 1)."""
    if not 0 < alpha < 1:
        raise ModelInputError(BAD_PARAMETER.format(name="alpha", rule="in (0, 1)", value=alpha))


def _need(stats_: SampleStats, minimum: int, name: str) -> None:
    if stats_.n < minimum:
        raise ModelInputError(
            TOO_FEW.format(model=f"{MODEL} ({name})", minimum=minimum, unit="users", got=stats_.n)
        )


def relative_lift(
    control_mean: float, test_mean: float, var_control: float, var_test: float, alpha: float
) -> tuple[float, Interval]:
    """test / control - 1 with a delta-method interval; `var_*` are the variances of the means.

    Var(T/C) ~ var_T / C^2 + T^2 var_C / C^4 (first-order Taylor expansion, T and C independent).
    """
    if control_mean == 0:
        raise ModelInputError(RELATIVE_UNDEFINED)
    lift = test_mean / control_mean - 1
    se = np.sqrt(var_test / control_mean**2 + test_mean**2 * var_control / control_mean**4)
    z = stats.norm.isf(alpha / 2)
    return lift, Interval(float(lift - z * se), float(lift + z * se))


def relative_or_note(
    c: float, t: float, vc: float, vt: float, alpha: float
) -> tuple[float | None, Interval | None, tuple[str, ...]]:
    """The relative lift and its interval, or None and a note when the control mean is 0."""
    if c == 0:
        return None, None, (RELATIVE_UNDEFINED,)
    lift, ci = relative_lift(c, t, vc, vt, alpha)
    return lift, ci, ()


def compare_proportions(
    control: SampleStats, test: SampleStats, alpha: float = 0.05, metric: str = "conversion"
) -> Comparison:
    """Two-sided z-test for two proportions with Wald intervals for the lifts."""
    check_alpha(alpha)
    _need(control, 1, "control")
    _need(test, 1, "test")
    pc, pt = control.mean, test.mean
    pooled = (control.total + test.total) / (control.n + test.n)
    se_null = np.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / test.n))
    if se_null == 0:
        raise ModelInputError(NO_VARIANCE.format(metric=metric))
    z = (pt - pc) / se_null
    p = 2 * stats.norm.sf(abs(z))
    vc, vt = pc * (1 - pc) / control.n, pt * (1 - pt) / test.n
    half = stats.norm.isf(alpha / 2) * np.sqrt(vc + vt)
    rel, rel_ci, notes = relative_or_note(pc, pt, vc, vt, alpha)
    return Comparison(
        "z", pc, pt, pt - pc, Interval(pt - pc - half, pt - pc + half), float(np.sqrt(vc + vt)), rel, rel_ci,
        float(z), float(p), None, alpha, notes,
    )  # fmt: skip


def compare_means(
    control: SampleStats, test: SampleStats, alpha: float = 0.05, metric: str = "the metric"
) -> Comparison:
    """Welch's two-sided t-test (unequal variances) with a t interval for the difference."""
    check_alpha(alpha)
    _need(control, 2, "control")
    _need(test, 2, "test")
    vc, vt = control.variance / control.n, test.variance / test.n
    se = np.sqrt(vc + vt)
    if se == 0:
        raise ModelInputError(NO_VARIANCE.format(metric=metric))
    diff = test.mean - control.mean
    df = (vc + vt) ** 2 / (vc**2 / (control.n - 1) + vt**2 / (test.n - 1))
    t = diff / se
    p = 2 * stats.t.sf(abs(t), df)
    half = stats.t.isf(alpha / 2, df) * se
    rel, rel_ci, notes = relative_or_note(control.mean, test.mean, vc, vt, alpha)
    return Comparison(
        "welch", control.mean, test.mean, diff, Interval(diff - half, diff + half), float(se), rel, rel_ci,
        float(t), float(p), float(df), alpha, notes,
    )  # fmt: skip


def sample_ratio_check(
    users: object, weights: object | None = None, threshold: float = SRM_THRESHOLD
) -> SampleRatioCheck:
    """Chi-square test of users per variant against the planned split (equal by default).

    A p-value below `threshold` (0.001) flags a sample ratio mismatch: assignment or tracking is
    broken and the comparison should not be trusted.
    """
    counts = as_float_array(users, "users per variant", "a sample ratio check")
    if len(counts) < 2:
        raise ModelInputError(SINGLE_VARIANT.format(model="A sample ratio check", got=len(counts)))
    if (counts < 0).any() or counts.sum() == 0:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="users per variant",
                rule="counts >= 0 with at least one user",
                value=counts.tolist(),
            )
        )
    w = (
        np.ones(len(counts))
        if weights is None
        else as_float_array(weights, "weights", "a sample ratio check")
    )
    if len(w) != len(counts) or (w <= 0).any():
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="weights", rule="one positive weight per variant", value=w.tolist()
            )
        )
    expected = counts.sum() * w / w.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    df = len(counts) - 1
    p = float(stats.chi2.sf(chi2, df))
    return SampleRatioCheck(
        tuple(int(c) for c in counts), tuple(float(e) for e in expected), chi2, df, p, p < threshold
    )


def _p_values(p_values: object) -> FloatArray:
    p = as_float_array(p_values, "p_values", "a multiple-testing correction")
    if ((p < 0) | (p > 1)).any():
        raise ModelInputError(
            BAD_PARAMETER.format(name="p_values", rule="in [0, 1]", value=p.tolist())
        )
    return p


def holm(p_values: object) -> FloatArray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    p = _p_values(p_values)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def benjamini_hochberg(p_values: object) -> FloatArray:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate), in the input order."""
    p = _p_values(p_values)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out
