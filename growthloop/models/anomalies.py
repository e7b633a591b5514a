"""Data anomalies (数据异常): daily KPI values against a weekday-seasonal robust baseline.

For each day with `history_days` (28) days before it, the baseline comes from those days only:
- weekday factors: the median of the history's values on each weekday over the median of all
  of them (a Saturday-heavy business gets a factor above 1 for Saturdays);
- level: the median of the history divided by its weekday factors;
- level: a Theil-Sen line through the history divided by its weekday factors, extended to the
  day checked;
- spread: 1.4826 x the median absolute deviation of the week-over-week changes / sqrt(2) (the
  normal standard deviation for clean data), widened for the uncertainty of the expected value
  and at least `min_relative_spread` (5%) of it, so that a flat history does not flag every
  wobble.

expected = level x factor(weekday), score = (value - expected) / spread, flagged when
|score| > threshold (4; on simulated Poisson series with weekly seasonality and growth, about
0.7% of ordinary days are flagged at 20-100 a day, none at 1,000). Medians keep one bad day in
the history from moving the baseline. Pure: values and weekdays in, results out; see
`kpi_series_data` for the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from growthloop.models.errors import (
    BAD_PARAMETER,
    TOO_FEW,
    FloatArray,
    ModelInputError,
    as_float_array,
    check_same_length,
)

MODEL = "the anomaly check"
MAD_TO_SIGMA = 1.4826
MEDIAN_EFFICIENCY = 0.84
DEFAULT_HISTORY_DAYS = 28
DEFAULT_THRESHOLD = 4.0
DEFAULT_MIN_RELATIVE_SPREAD = 0.05
# Severity: how improbable (|score| as a multiple of the threshold) or how large (relative
# change from the expected value), whichever is worse; a 90% drop on a noisy series is "high"
# even when its score is modest.
MEDIUM_AT = 1.5
HIGH_AT = 2.5
MEDIUM_CHANGE = 0.25
HIGH_CHANGE = 0.5

Severity = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class Anomaly:
    """One flagged day: the value, what was expected, the normal range, score and severity."""

    index: int
    value: float
    expected: float
    low: float
    high: float
    score: float
    direction: Literal["drop", "spike"]
    severity: Severity


@dataclass(frozen=True)
class AnomalyCheck:
    """Per day: expected value and normal range (NaN-free; `checked` marks days with a baseline)."""

    checked: npt.NDArray[np.bool_]
    expected: FloatArray
    low: FloatArray
    high: FloatArray
    score: FloatArray
    anomalies: tuple[Anomaly, ...]


def _severity(score: float, change: float, threshold: float) -> Severity:
    if abs(score) >= HIGH_AT * threshold or abs(change) >= HIGH_CHANGE:
        return "high"
    if abs(score) >= MEDIUM_AT * threshold or abs(change) >= MEDIUM_CHANGE:
        return "medium"
    return "low"


def baseline(
    history: FloatArray, weekdays: npt.NDArray[np.int64], weekday: int, min_relative_spread: float
) -> tuple[float, float]:
    """Expected value and spread for a day on `weekday` from its history (values, weekdays)."""
    overall = float(np.median(history))
    factors = np.ones(7)
    if overall > 0:
        for w in np.unique(weekdays):
            f = float(np.median(history[weekdays == w])) / overall
            # A weekday whose median is 0 cannot scale; treat it as average.
            factors[w] = f if f > 0 else 1.0
    deseasoned = history / factors[weekdays]
    # A robust straight line through the deseasonalised history (Theil-Sen: the median of all
    # pairwise slopes), extended to the day checked, so that steady growth is not a surprise.
    n = len(deseasoned)
    i, j = np.triu_indices(n, k=1)
    slope = float(np.median((deseasoned[j] - deseasoned[i]) / (j - i)))
    level = float(np.median(deseasoned - slope * np.arange(n))) + slope * n
    # Spread from week-over-week changes: they do not depend on the fitted factors, which would
    # otherwise absorb part of the noise (four values per weekday) and make the spread too small.
    # Var(x_t - x_t-7) = 2 sigma^2 for independent noise; the median removes a steady trend.
    weekly = deseasoned[7:] - deseasoned[:-7]
    spread = MAD_TO_SIGMA * float(np.median(np.abs(weekly - np.median(weekly)))) / np.sqrt(2)
    expected = level * factors[weekday]
    # The expected value is itself uncertain: about a median of the same weekday's values, whose
    # variance is sigma^2 / (0.84 k) for k values (the median's efficiency against the mean).
    same_weekday = max(int((weekdays == weekday).sum()), 1)
    prediction = spread * np.sqrt(1 + 1 / (MEDIAN_EFFICIENCY * same_weekday))
    sigma = max(prediction * factors[weekday], min_relative_spread * abs(expected), 1e-12)
    return float(expected), float(sigma)


def detect(
    values: object,
    weekdays: object,
    *,
    history_days: int = DEFAULT_HISTORY_DAYS,
    threshold: float = DEFAULT_THRESHOLD,
    min_relative_spread: float = DEFAULT_MIN_RELATIVE_SPREAD,
) -> AnomalyCheck:
    """Checks every day that has `history_days` days before it; weekdays are 0 (Monday) .. 6."""
    v = as_float_array(values, "values", MODEL)
    wd = np.asarray(weekdays, dtype=np.int64)
    check_same_length(values=v, weekdays=wd)
    if wd.size and (wd.min() < 0 or wd.max() > 6):
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="weekdays", rule="0 (Monday) .. 6 (Sunday)", value=sorted(set(wd.tolist()))
            )
        )
    if history_days < 14:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="history_days", rule="at least 14 (two of each weekday)", value=history_days
            )
        )
    if threshold <= 0 or min_relative_spread < 0:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="threshold / min_relative_spread",
                rule="> 0 / >= 0",
                value=(threshold, min_relative_spread),
            )
        )
    if len(v) <= history_days:
        raise ModelInputError(
            TOO_FEW.format(
                model=MODEL,
                minimum=history_days + 1,
                unit="days (a baseline needs the days before the one checked)",
                got=len(v),
            )
        )
    n = len(v)
    checked = np.arange(n) >= history_days
    expected, low, high, score = (np.zeros(n) for _ in range(4))
    anomalies = []
    for t in range(history_days, n):
        e, sigma = baseline(
            v[t - history_days : t], wd[t - history_days : t], int(wd[t]), min_relative_spread
        )
        expected[t], low[t], high[t] = e, e - threshold * sigma, e + threshold * sigma
        score[t] = (v[t] - e) / sigma
        if abs(score[t]) > threshold:
            direction: Literal["drop", "spike"] = "drop" if score[t] < 0 else "spike"
            anomalies.append(
                Anomaly(
                    t,
                    float(v[t]),
                    float(e),
                    float(low[t]),
                    float(high[t]),
                    float(score[t]),
                    direction,
                    _severity(
                        float(score[t]), float(v[t] / e - 1) if e else float("inf"), threshold
                    ),
                )
            )
    return AnomalyCheck(checked, expected, low, high, score, tuple(anomalies))
