"""Budget mix: adstock, curve fits on simulated channels, allocation against a grid search."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from growthloop.models.budget_mix import (
    ResponseCurve,
    adstock,
    allocate,
    fit_response,
)
from growthloop.models.errors import ModelInputError


def test_adstock_matches_a_loop() -> None:
    spend = np.array([100.0, 0, 0, 50, 10])
    want, carry = [], 0.0
    for s in spend:
        carry = s + 0.5 * carry
        want.append(carry)
    np.testing.assert_allclose(adstock(spend, 0.5), want)


def simulate(
    decay: float, beta: float, k: float, base: float, seed: int, days: int = 120
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    spend = rng.uniform(20, 400, days)
    a = adstock(spend, decay)
    mean = base + beta * a / (a + k)
    return spend, rng.normal(mean, 0.05 * mean.mean())


@pytest.mark.parametrize(
    ("decay", "beta", "k", "base"),
    [(0.0, 50.0, 200.0, 5.0), (0.3, 30.0, 300.0, 2.0), (0.6, 80.0, 900.0, 0.0)],
)
def test_fit_recovers_simulated_channels(decay: float, beta: float, k: float, base: float) -> None:
    spend, conversions = simulate(decay, beta, k, base, seed=int(k))
    got = fit_response("sim", spend, conversions)
    assert got.decay == pytest.approx(decay, abs=0.1)
    assert got.r_squared > 0.8
    # The curve, not each parameter, is what the data pin down: compare it over the spend seen.
    for s in (50.0, 150.0, 300.0):
        truth = beta * (s / (1 - decay)) / (s / (1 - decay) + k)
        assert float(got.response(s)) + got.base == pytest.approx(truth + base, rel=0.08)


def test_allocation_matches_a_grid_search_and_equalises_marginal_returns() -> None:
    curves = [
        ResponseCurve("a", 0.2, 0, 40.0, 300.0, 0.9, 90),
        ResponseCurve("b", 0.0, 0, 25.0, 100.0, 0.9, 90),
        ResponseCurve("c", 0.5, 0, 60.0, 1500.0, 0.9, 90),
    ]
    current = np.array([200.0, 150.0, 100.0])
    got = allocate(curves, current)
    assert got.recommended.sum() == pytest.approx(450)
    best, best_value = None, -1.0
    lows, highs = current * 0.5, current * 2
    for x, y in itertools.product(
        np.arange(lows[0], highs[0] + 1e-9, 1.0), np.arange(lows[1], highs[1] + 1e-9, 1.0)
    ):
        z = 450 - x - y
        if not lows[2] <= z <= highs[2]:
            continue
        value = sum(float(c.response(v)) for c, v in zip(curves, (x, y, z), strict=True))
        if value > best_value:
            best, best_value = (x, y, z), value
    assert got.expected_conversions == pytest.approx(best_value, rel=1e-4)
    assert got.expected_conversions >= best_value - 1e-9
    np.testing.assert_allclose(got.recommended, best, atol=1.5)
    interior = (got.recommended > got.lower + 1e-6) & (got.recommended < got.upper - 1e-6)
    assert interior.sum() >= 2
    np.testing.assert_allclose(
        got.marginal_recommended[interior], got.marginal_recommended[interior][0], rtol=1e-4
    )
    assert got.shift.sum() == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize(
    ("spend", "conversions", "message"),
    [
        (
            np.full(20, 100.0),
            np.ones(20),
            "20 days of spend and conversions; a response curve needs at least 28",
        ),
        (np.full(60, 100.0), np.arange(60.0), "spend barely varies"),
        (np.linspace(10, 500, 60), np.zeros(60), "no conversions in the data"),
        (np.zeros(60), np.ones(60), "no spend in the data"),
    ],
)
def test_unusable_data_is_refused_with_the_reason(
    spend: np.ndarray, conversions: np.ndarray, message: str
) -> None:
    with pytest.raises(ModelInputError, match=message):
        fit_response("zhihu", spend, conversions)


def test_noise_is_refused_and_impossible_budgets_too() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(ModelInputError, match=r"conversions do not follow spend \(R²"):
        fit_response("zhihu", rng.uniform(10, 500, 90), rng.poisson(3, 90).astype(float))
    curve = ResponseCurve("a", 0.0, 0, 10.0, 100.0, 0.9, 90)
    with pytest.raises(ModelInputError, match="outside what the bounds allow"):
        allocate([curve], [100.0], budget=500)
    with pytest.raises(ModelInputError, match="> 0 for every channel"):
        allocate([curve], [0.0])
