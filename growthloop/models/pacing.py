"""Goal pacing (目标达成): progress against a target for a period, forecast and the rate needed.

Pure: takes the target, the metric's daily values from the first day of the period to the
reference day, and the length of the period. The metric must add up over days (orders, GMV,
new users); a rate or a count of distinct people does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from growthloop.models.errors import BAD_PARAMETER, ModelInputError, as_float_array

MODEL = "goal pacing"
DEFAULT_RECENT_DAYS = 7


@dataclass(frozen=True)
class Pace:
    """Where a target stands on the reference day.

    - `expected_to_date`: the linear pace, target x elapsed / total days;
    - `forecast`: actual + the mean of the last `recent_days` days x the days remaining;
    - `gap`: target - forecast (positive = expected shortfall);
    - `needed_daily_rate`: (target - actual) / days remaining, None once the period is over.
    """

    target: float
    actual: float
    elapsed_days: int
    total_days: int
    remaining_days: int
    expected_to_date: float
    progress: float
    pace_ratio: float
    recent_daily_rate: float
    forecast: float
    gap: float
    needed_daily_rate: float | None
    on_track: bool


def pace(
    target: float, daily_actuals: object, total_days: int, *, recent_days: int = DEFAULT_RECENT_DAYS
) -> Pace:
    """Progress, linear pace, forecast, gap and needed rate for an additive metric.

    `daily_actuals` holds one value per elapsed day of the period (day 1 .. the reference day).
    """
    values = as_float_array(daily_actuals, "daily_actuals", MODEL)
    if not np.isfinite(target) or target <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(name="target", rule="a positive number", value=target)
        )
    if total_days < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="total_days", rule="at least 1", value=total_days)
        )
    if len(values) > total_days:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="daily_actuals",
                rule=f"at most one value per day of the {total_days}-day period",
                value=f"{len(values)} values",
            )
        )
    if recent_days < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="recent_days", rule="at least 1", value=recent_days)
        )
    target = float(target)
    elapsed = len(values)
    remaining = total_days - elapsed
    actual = float(values.sum())
    expected = target * elapsed / total_days
    recent = float(values[-recent_days:].mean())
    forecast = actual + recent * remaining
    needed = (target - actual) / remaining if remaining else None
    return Pace(
        target=target,
        actual=actual,
        elapsed_days=elapsed,
        total_days=total_days,
        remaining_days=remaining,
        expected_to_date=expected,
        progress=actual / target,
        pace_ratio=actual / expected,
        recent_daily_rate=recent,
        forecast=forecast,
        gap=target - forecast,
        needed_daily_rate=needed,
        on_track=bool(forecast >= target),
    )
