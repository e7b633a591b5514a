"""Goal pacing against hand-worked examples and a plain-Python replay."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthloop.models.errors import ModelInputError
from growthloop.models.pacing import pace


def test_a_month_exactly_on_pace() -> None:
    got = pace(3100, [100.0] * 10, 31)
    assert (got.actual, got.expected_to_date, got.pace_ratio) == (1000, 1000, 1)
    assert (got.forecast, got.gap, got.needed_daily_rate, got.on_track) == (3100, 0, 100, True)
    assert got.remaining_days == 21 and got.progress == pytest.approx(1000 / 3100)


def test_recent_slowdown_shows_in_the_forecast_not_in_the_pace() -> None:
    # 20 days at 200, then 7 days at 50: ahead of the linear pace, behind on the forecast.
    got = pace(5000, [200.0] * 20 + [50.0] * 7, 30)
    assert got.actual == 4350 and got.pace_ratio == pytest.approx(4350 / 4500)
    assert got.recent_daily_rate == 50 and got.forecast == 4500
    assert got.gap == 500 and not got.on_track
    assert got.needed_daily_rate == pytest.approx(650 / 3)


def test_after_the_period_ends_nothing_is_needed_per_day() -> None:
    got = pace(100, [3.0] * 30, 30)
    assert got.remaining_days == 0 and got.needed_daily_rate is None
    assert got.forecast == got.actual == 90 and got.gap == 10


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.integers(0, 40),
    st.floats(1, 1e7),
    st.integers(1, 14),
)
def test_matches_a_plain_replay(
    values: list[float], extra: int, target: float, recent: int
) -> None:
    total = len(values) + extra
    got = pace(target, values, total, recent_days=recent)
    actual = 0.0
    for v in values:
        actual += v
    window = values[-recent:]
    rate = sum(window) / len(window)
    forecast = actual + rate * extra
    assert got.actual == pytest.approx(actual)
    assert got.expected_to_date == pytest.approx(target * len(values) / total)
    assert got.forecast == pytest.approx(forecast)
    assert got.gap == pytest.approx(target - forecast, abs=1e-6 * max(1.0, target, forecast))
    if extra:
        assert got.needed_daily_rate == pytest.approx(
            (target - actual) / extra, abs=1e-9 * max(1.0, target, actual)
        )
    else:
        assert got.needed_daily_rate is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, [1.0], 10), "target must be a positive number"),
        ((10, [], 10), "daily_actuals is empty"),
        ((10, [1.0] * 11, 10), "at most one value per day of the 10-day period"),
        ((10, [1.0, float("inf")], 10), "missing or infinite value at index 1"),
        ((10, [1.0], 0), "total_days must be at least 1"),
    ],
)
def test_bad_input_is_refused_with_a_message(args: tuple, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ModelInputError, match=message):
        pace(*args)


def test_results_are_plain_python_numbers() -> None:
    import numpy as np

    got = pace(np.float64(500), np.array([10.0, 20.0]), 10)
    assert all(type(v) in (int, float, bool) for v in vars(got).values())
