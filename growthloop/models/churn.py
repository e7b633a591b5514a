"""Churn warning lists (流失预警): valuable customers unlikely to be active, and overdue users.

Two signals, both pure functions over per-customer arrays:
- for buyers, the BG/NBD probability of being alive against their value (`churn_risk`);
- for products without purchases, days since last active against the user's own cadence
  (`overdue`): a user who comes every 3 days and has been away 12 is 4 cadences overdue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from growthloop.models.errors import (
    BAD_PARAMETER,
    FloatArray,
    ModelInputError,
    as_float_array,
    check_non_negative,
    check_same_length,
)

MODEL = "churn warning"


@dataclass(frozen=True)
class ChurnRisk:
    """Indices of at-risk customers, most valuable first, and the thresholds applied."""

    indices: npt.NDArray[np.int64]
    value_threshold: float
    max_p_alive: float


@dataclass(frozen=True)
class Overdue:
    """Per user: typical gap between active days, how many gaps overdue, and who is flagged.

    `has_cadence` is False for users with too few active days to have a cadence; their gap and
    ratio are 0 and they are never flagged.
    """

    typical_gap_days: FloatArray
    overdue_ratio: FloatArray
    has_cadence: npt.NDArray[np.bool_]
    flagged: npt.NDArray[np.bool_]


def churn_risk(
    value: object, p_alive: object, *, value_quantile: float = 0.8, max_p_alive: float = 0.5
) -> ChurnRisk:
    """Customers whose value is at or above the `value_quantile` quantile and P(alive) below `max_p_alive`."""
    values = as_float_array(value, "value", MODEL)
    alive = as_float_array(p_alive, "p_alive", MODEL)
    check_same_length(value=values, p_alive=alive)
    if not 0 <= value_quantile < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="value_quantile", rule="in [0, 1)", value=value_quantile)
        )
    if not 0 < max_p_alive <= 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="max_p_alive", rule="in (0, 1]", value=max_p_alive)
        )
    threshold = float(np.quantile(values, value_quantile))
    chosen = np.flatnonzero((values >= threshold) & (alive < max_p_alive))
    order = np.argsort(-values[chosen], kind="stable")
    return ChurnRisk(chosen[order].astype(np.int64), threshold, max_p_alive)


def overdue(
    active_days: object,
    first_day: object,
    last_day: object,
    as_of_day: int,
    *,
    factor: float = 3.0,
    min_active_days: int = 3,
) -> Overdue:
    """Users away for more than `factor` times their mean gap between active days.

    The mean gap is (last - first) / (active days - 1); users with fewer than
    `min_active_days` active days have no cadence yet.
    """
    n = as_float_array(active_days, "active_days", MODEL)
    first = as_float_array(first_day, "first_day", MODEL)
    last = as_float_array(last_day, "last_day", MODEL)
    check_same_length(active_days=n, first_day=first, last_day=last)
    check_non_negative(
        last - first, "last_day - first_day", "the last active day cannot precede the first"
    )
    check_non_negative(
        as_of_day - last, "as_of_day - last_day", "activity after the reference day cannot count"
    )
    if factor <= 0 or min_active_days < 2:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="factor / min_active_days",
                rule="> 0 / at least 2",
                value=(factor, min_active_days),
            )
        )
    has = (n >= min_active_days) & (last > first)
    gap = np.divide(last - first, n - 1, out=np.zeros_like(n), where=has)
    ratio = np.divide(as_of_day - last, gap, out=np.zeros_like(n), where=has)
    return Overdue(gap, ratio, has, has & (ratio > factor))
