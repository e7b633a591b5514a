"""Always-valid A/B results: an asymptotic confidence sequence for the difference of means.

A fixed-sample confidence interval is only valid if the results are read once, at the planned
sample size; looked at every day, it excludes 0 far more often than alpha under no effect. The
confidence sequence of Waudby-Smith et al. ("Time-uniform central limit theory and asymptotic
confidence sequences", 2021/2023, eq. 161; the form GrowthBook uses) holds at every sample size
at once, so the experiment may be stopped whenever it excludes 0:

    half-width = sqrt(N Var) x sqrt(2 (N rho^2 + 1) log(sqrt(N rho^2 + 1) / alpha)) / (N rho)

with N the users in both variants, Var the variance of the estimated difference, and rho tuned
so the sequence is tightest near N = `tuning_users` (5,000 by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.models.experiments import Interval, check_alpha

DEFAULT_TUNING_USERS = 5000


@dataclass(frozen=True)
class SequentialResult:
    difference: float
    interval: Interval
    users: int
    alpha: float

    @property
    def significant(self) -> bool:
        """The sequence excludes 0: a result that stays valid however often it was looked at."""
        return self.interval.low > 0 or self.interval.high < 0


def rho(alpha: float, tuning_users: int = DEFAULT_TUNING_USERS) -> float:
    """The mixing parameter that makes the sequence tightest at `tuning_users`."""
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / tuning_users)


def half_width(
    variance: float, users: int, alpha: float, tuning_users: int = DEFAULT_TUNING_USERS
) -> float:
    """The confidence sequence's half-width for an estimate of variance `variance` from `users` users."""
    check_alpha(alpha)
    if users < 2 or variance < 0 or tuning_users < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="users / variance / tuning_users",
                rule="at least 2 / >= 0 / at least 1",
                value=(users, variance, tuning_users),
            )
        )
    r = rho(alpha, tuning_users)
    nr2 = users * r * r
    return (
        math.sqrt(users * variance)
        * math.sqrt(2 * (nr2 + 1) * math.log(math.sqrt(nr2 + 1) / alpha))
        / (users * r)
    )


def sequential(
    difference: float,
    variance: float,
    users: int,
    alpha: float = 0.05,
    tuning_users: int = DEFAULT_TUNING_USERS,
) -> SequentialResult:
    """The always-valid interval for a difference (from `compare_proportions`/`compare_means`).

    `variance` is the variance of the difference (the square of its standard error) and `users`
    the users in both variants.
    """
    width = half_width(variance, users, alpha, tuning_users)
    return SequentialResult(
        difference, Interval(difference - width, difference + width), users, alpha
    )
