"""Progress of one goal node: actual against target, linear pace and forecast to period end.

Pure. How a metric is paced depends on how it grows (growthloop/ops/measure.py):

- additive: growthloop.models.pacing — expected to date = target x elapsed / total days,
  pace = actual / expected, forecast = actual + mean of the last 7 days x days remaining;
- count (distinct people): the same expected and pace; forecast = actual x total / elapsed days
  (people who came already are not counted again, so this is an upper estimate);
- rate (conversion rate, AOV): expected = the target itself, pace = actual / target, forecast =
  the rate so far.

Once the period is over, the forecast is the actual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from growthloop.models.pacing import pace as additive_pace
from growthloop.ops.measure import Actual
from growthloop.ops.targets import GoalPeriod


@dataclass(frozen=True)
class Progress:
    """Where a node stands on `as_of`; None where a figure is not defined."""

    actual: float | None
    target: float | None
    elapsed_days: int
    total_days: int
    expected_to_date: float | None
    pace: float | None
    forecast: float | None
    achieved: float | None
    """actual / target."""

    @property
    def on_track(self) -> bool | None:
        """Forecast at or above target (None without both)."""
        if self.forecast is None or self.target is None:
            return None
        return self.forecast >= self.target


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def progress(
    actual: Actual | None, target: float | None, period: GoalPeriod, as_of: date
) -> Progress:
    """The progress figures of a node whose metric measured `actual` up to `as_of`."""
    total, elapsed = period.days, period.elapsed_days(as_of)
    if actual is None or actual.value is None:
        return Progress(None, target, elapsed, total, None, None, None, None)
    value = actual.value
    expected: float | None
    forecast: float | None
    if actual.growth == "rate":
        expected, forecast = target, value
    elif actual.growth == "additive" and target is not None and target > 0:
        daily = [v or 0.0 for v in actual.daily[:elapsed]]
        paced = additive_pace(target, daily, total)
        expected, forecast = paced.expected_to_date, paced.forecast
    else:
        expected = target * elapsed / total if target is not None else None
        forecast = value * total / elapsed
    if elapsed >= total:
        forecast = value
    return Progress(
        value,
        target,
        elapsed,
        total,
        expected,
        _ratio(value, expected),
        forecast,
        _ratio(value, target),
    )
