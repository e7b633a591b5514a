"""Anomaly checks against a plain-Python replay of the baseline and on planted series."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthloop.models import anomalies
from growthloop.models.errors import ModelInputError


def replay(
    values: list[float], weekdays: list[int], t: int, history: int, spread_floor: float
) -> tuple[float, float]:
    """Expected value and spread for day t, written from the definitions in anomalies.py."""
    hist = values[t - history : t]
    days = weekdays[t - history : t]
    overall = statistics.median(hist)
    factor = {}
    for w in range(7):
        same = [x for x, d in zip(hist, days, strict=True) if d == w]
        f = statistics.median(same) / overall if same and overall > 0 else 1.0
        factor[w] = f if f > 0 else 1.0
    flat = [x / factor[d] for x, d in zip(hist, days, strict=True)]
    n = len(flat)
    slope = statistics.median(
        (flat[j] - flat[i]) / (j - i) for i in range(n) for j in range(i + 1, n)
    )
    level = statistics.median(x - slope * i for i, x in enumerate(flat)) + slope * n
    weekly = [flat[i] - flat[i - 7] for i in range(7, n)]
    centre = statistics.median(weekly)
    spread = 1.4826 * statistics.median(abs(w - centre) for w in weekly) / math.sqrt(2)
    k = sum(1 for d in days if d == weekdays[t])
    spread *= math.sqrt(1 + 1 / (0.84 * k))
    expected = level * factor[weekdays[t]]
    return expected, max(spread * factor[weekdays[t]], spread_floor * abs(expected), 1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 500), min_size=29, max_size=60),
    st.integers(0, 6),
    st.sampled_from([14, 21, 28]),
)
def test_matches_the_replay(counts: list[int], first_weekday: int, history: int) -> None:
    values = [float(c) for c in counts]
    weekdays = [(first_weekday + i) % 7 for i in range(len(values))]
    got = anomalies.detect(values, weekdays, history_days=history)
    flagged = {a.index for a in got.anomalies}
    for t in range(len(values)):
        assert got.checked[t] == (t >= history)
        if t < history:
            continue
        expected, sigma = replay(values, weekdays, t, history, 0.05)
        assert got.expected[t] == pytest.approx(expected)
        assert got.score[t] == pytest.approx((values[t] - expected) / sigma)
        assert (got.low[t], got.high[t]) == pytest.approx(
            (expected - 4.0 * sigma, expected + 4.0 * sigma)
        )
        assert (t in flagged) == (abs((values[t] - expected) / sigma) > 4.0)


def weekly_series(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Busy weekends (x1.3), slow growth and Poisson noise around 1,000 a day."""
    rng = np.random.default_rng(seed)
    weekdays = np.arange(days) % 7
    season = np.where(weekdays >= 5, 1.3, 0.9)
    values = rng.poisson(1000 * season * np.linspace(1, 1.2, days)).astype(float)
    return values, weekdays


def test_weekends_are_not_anomalies_but_a_drop_and_a_spike_are() -> None:
    values, weekdays = weekly_series(120, 1)
    assert anomalies.detect(values, weekdays).anomalies == ()
    values[70] *= 0.1  # a tracking outage
    values[90] *= 2.0  # a campaign
    values[100] *= 0.7  # a bad day, smaller
    got = anomalies.detect(values, weekdays)
    by_day = {a.index: a for a in got.anomalies}
    # Nothing else: the outage day sits in the next four weeks' history and the medians ignore it.
    assert set(by_day) == {70, 90, 100}
    assert (by_day[70].direction, by_day[70].severity) == ("drop", "high")
    assert (by_day[90].direction, by_day[90].severity) == ("spike", "high")
    assert by_day[100].direction == "drop" and by_day[100].severity in ("low", "medium")
    assert by_day[70].low <= by_day[70].expected <= by_day[70].high


def test_a_detector_without_weekdays_would_flag_weekends() -> None:
    """Why the seasonal factors matter: the same series with every day called Monday."""
    values, weekdays = weekly_series(120, 2)
    assert anomalies.detect(values, weekdays).anomalies == ()
    assert len(anomalies.detect(values, np.zeros(120, dtype=int)).anomalies) > 10


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1.0] * 20, [0] * 20), {}, "needs at least 29 days"),
        (([1.0] * 40, [0] * 39), {}, "different lengths"),
        (([1.0] * 40, [7] * 40), {}, "weekdays must be 0"),
        (([1.0] * 40, [0] * 40), {"history_days": 7}, "history_days must be at least 14"),
        (([], []), {}, "values is empty"),
    ],
)
def test_bad_input_is_refused_with_a_message(args: tuple, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ModelInputError, match=message):
        anomalies.detect(*args, **kwargs)
