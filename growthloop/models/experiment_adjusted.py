"""A/B metrics that need a second per-user value: CUPED and ratio metrics.

Both work on joint sufficient statistics per variant (n, sums, sums of squares and of the cross
product of y and x):
- CUPED (variance reduction with a pre-period covariate x): z = y - theta (x - mean x), with
  theta the within-variant regression slope of y on x pooled over the variants (the ANCOVA
  slope), then Welch's test on z. The difference equals the ANCOVA treatment effect; its
  variance shrinks by about the squared correlation of y and x.
- ratio metrics (e.g. revenue per session, y / x summed over users): R = sum y / sum x per
  variant with a delta-method variance, compared with a z-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from growthloop.models.errors import TOO_FEW, ModelInputError, as_float_array, check_same_length
from growthloop.models.experiments import (
    MODEL,
    NO_VARIANCE,
    Comparison,
    Interval,
    SampleStats,
    check_alpha,
    compare_means,
    relative_or_note,
)

NO_PRE_PERIOD = (
    "the pre-period covariate has no variance within the variants (no pre-period data for these "
    "users?), so CUPED cannot adjust; use the plain comparison"
)
ZERO_DENOMINATOR = "the ratio's denominator sums to 0 in {variant}"


@dataclass(frozen=True)
class JointStats:
    """Sufficient statistics of two per-user values y and x in one variant."""

    n: int
    sum_y: float
    sum_y2: float
    sum_x: float
    sum_x2: float
    sum_xy: float

    @classmethod
    def of_values(cls, y: object, x: object) -> JointStats:
        ys = as_float_array(y, "y", MODEL)
        xs = as_float_array(x, "x", MODEL)
        check_same_length(y=ys, x=xs)
        return cls(
            len(ys),
            float(ys.sum()),
            float(ys @ ys),
            float(xs.sum()),
            float(xs @ xs),
            float(xs @ ys),
        )

    def _centred(self) -> tuple[float, float]:
        """(S_xx, S_xy): the sums of squares and products about the variant's means."""
        mx, my = self.sum_x / self.n, self.sum_y / self.n
        return self.sum_x2 - self.n * mx * mx, self.sum_xy - self.n * mx * my


def cuped_theta(variants: tuple[JointStats, ...]) -> float:
    """The pooled within-variant slope of y on x."""
    sxx = sum(v._centred()[0] for v in variants)
    sxy = sum(v._centred()[1] for v in variants)
    if sxx <= 1e-12 * max(1.0, sum(v.sum_x2 for v in variants)):
        raise ModelInputError(NO_PRE_PERIOD)
    return sxy / sxx


def compare_cuped(
    control: JointStats, test: JointStats, alpha: float = 0.05, metric: str = "the metric"
) -> tuple[Comparison, float]:
    """Welch's test on the CUPED-adjusted metric; returns the comparison and theta.

    Means are adjusted to the pooled covariate mean, so the levels stay those of the metric.
    """
    for name, v in (("control", control), ("test", test)):
        if v.n < 2:
            raise ModelInputError(
                TOO_FEW.format(model=f"{MODEL} ({name})", minimum=2, unit="users", got=v.n)
            )
    theta = cuped_theta((control, test))
    centre = (control.sum_x + test.sum_x) / (control.n + test.n)

    def adjusted(v: JointStats) -> SampleStats:
        # z = y - theta (x - c): sums from the joint sums, no per-user data needed.
        sz = v.sum_y - theta * (v.sum_x - v.n * centre)
        sxc2 = v.sum_x2 - 2 * centre * v.sum_x + v.n * centre * centre
        sxyc = v.sum_xy - centre * v.sum_y
        return SampleStats(v.n, sz, v.sum_y2 - 2 * theta * sxyc + theta * theta * sxc2)

    return compare_means(adjusted(control), adjusted(test), alpha, metric), theta


def _ratio_and_variance(v: JointStats, variant: str) -> tuple[float, float]:
    """R = sum y / sum x and Var(R) by the delta method over the per-user means."""
    if v.sum_x == 0:
        raise ModelInputError(ZERO_DENOMINATOR.format(variant=variant))
    if v.n < 2:
        raise ModelInputError(
            TOO_FEW.format(model=f"{MODEL} ({variant})", minimum=2, unit="users", got=v.n)
        )
    my, mx = v.sum_y / v.n, v.sum_x / v.n
    var_y = (v.sum_y2 - v.n * my * my) / (v.n - 1)
    var_x = (v.sum_x2 - v.n * mx * mx) / (v.n - 1)
    cov = (v.sum_xy - v.n * mx * my) / (v.n - 1)
    ratio = my / mx
    var = (var_y / mx**2 - 2 * my * cov / mx**3 + my**2 * var_x / mx**4) / v.n
    return ratio, max(var, 0.0)


def compare_ratios(
    control: JointStats, test: JointStats, alpha: float = 0.05, metric: str = "the ratio"
) -> Comparison:
    """Two-sided z-test of a ratio metric (sum y / sum x per variant), delta-method variances."""
    check_alpha(alpha)
    rc, vc = _ratio_and_variance(control, "control")
    rt, vt = _ratio_and_variance(test, "test")
    se = float(np.sqrt(vc + vt))
    if se == 0:
        raise ModelInputError(NO_VARIANCE.format(metric=metric))
    z = (rt - rc) / se
    half = stats.norm.isf(alpha / 2) * se
    rel, rel_ci, notes = relative_or_note(rc, rt, vc, vt, alpha)
    return Comparison(
        "z", rc, rt, rt - rc, Interval(rt - rc - half, rt - rc + half), se, rel, rel_ci,
        float(z), float(2 * stats.norm.sf(abs(z))), None, alpha, notes,
    )  # fmt: skip
