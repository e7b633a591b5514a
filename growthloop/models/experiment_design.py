"""Sample size and duration of an A/B test (样本量计算) from a baseline, an effect and traffic.

Normal approximation, one tail of a two-sided test (the other tail's power is negligible), as
statsmodels' `samplesize_proportions_2indep_onetail` and `normal_sample_size_one_tail` do:
n_test = ((z_{alpha/2} sd_null + z_power sd_alt) / effect)^2 and n_control = ratio x n_test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from growthloop.models.errors import BAD_PARAMETER, ModelInputError


@dataclass(frozen=True)
class SampleSize:
    """Users needed per variant and, given the daily users entering the test, the days needed."""

    test_users: int
    control_users: int
    total_users: int
    days: int | None
    effect: float
    alpha: float
    power: float


def _check(alpha: float, power: float, ratio: float, daily_users: float | None) -> None:
    if not 0 < alpha < 1:
        raise ModelInputError(BAD_PARAMETER.format(name="alpha", rule="in (0, 1)", value=alpha))
    if not alpha / 2 < power < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="power", rule=f"in ({alpha / 2}, 1)", value=power)
        )
    if ratio <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="ratio", rule="> 0 (control users per test user)", value=ratio
            )
        )
    if daily_users is not None and daily_users <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(name="daily_users", rule="> 0", value=daily_users)
        )


def _result(
    sd_null: float,
    sd_alt: float,
    effect: float,
    alpha: float,
    power: float,
    ratio: float,
    daily_users: float | None,
) -> SampleSize:
    z_alpha = stats.norm.isf(alpha / 2)
    z_power = stats.norm.ppf(power)
    n_test = math.ceil(max(z_alpha * sd_null + z_power * sd_alt, 0.0) ** 2 / effect**2)
    n_control = math.ceil(ratio * n_test)
    total = n_test + n_control
    days = math.ceil(total / daily_users) if daily_users else None
    return SampleSize(n_test, n_control, total, days, effect, alpha, power)


def proportion_sample_size(
    baseline: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    daily_users: float | None = None,
) -> SampleSize:
    """Users to detect a change of `effect` (absolute, e.g. 0.02 = 2 points) from a `baseline` rate."""
    _check(alpha, power, ratio, daily_users)
    target = baseline + effect
    if not 0 < baseline < 1 or not 0 < target < 1 or effect == 0:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="baseline and effect",
                rule="rates strictly between 0 and 1 with a non-zero effect",
                value=(baseline, effect),
            )
        )
    pooled = (target + baseline * ratio) / (1 + ratio)
    sd_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alt = math.sqrt(target * (1 - target) + baseline * (1 - baseline) / ratio)
    return _result(sd_null, sd_alt, abs(effect), alpha, power, ratio, daily_users)


def mean_sample_size(
    std_dev: float,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    daily_users: float | None = None,
) -> SampleSize:
    """Users to detect a change of `effect` in a mean whose per-user standard deviation is `std_dev`."""
    _check(alpha, power, ratio, daily_users)
    if std_dev <= 0 or effect == 0:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="std_dev and effect",
                rule="a positive standard deviation and a non-zero effect",
                value=(std_dev, effect),
            )
        )
    sd = std_dev * math.sqrt(1 + 1 / ratio)
    return _result(sd, sd, abs(effect), alpha, power, ratio, daily_users)
