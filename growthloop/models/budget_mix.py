"""Budget mix (渠道组合优化): response curves per channel and the best split of a budget.

Per channel, daily conversions follow the channel's spend through a geometric adstock (spend
keeps working on later days, decaying by `decay` a day) and a saturating curve:

    a_t = s_t + decay x a_{t-1},   conversions_t = base + beta x a_t / (a_t + K)

K is the adstock at which the channel gives half its maximum `beta`. The fit is least squares
(scipy) for each decay on a grid 0, 0.1, ..., 0.8, keeping the best. At a steady daily spend s
the adstock is s / (1 - decay), so the expected conversions a day are
f(s) = base + beta x a / (a + K) and the marginal return is f'(s) = beta K / ((a + K)^2 (1 - decay)).

The allocation maximises the total of f over channels for a total daily budget with per-channel
bounds (0.5x to 2x of current spend by default) with SLSQP; at the optimum the marginal returns
of channels not on a bound are equal. A fit the data cannot support is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from growthloop.models.errors import (
    BAD_PARAMETER,
    FloatArray,
    ModelInputError,
    as_float_array,
    check_same_length,
)

MODEL = "the budget mix"
MIN_DAYS = 28
MIN_SPEND_VARIATION = 0.1
MIN_R_SQUARED = 0.05
DECAYS = tuple(round(0.1 * i, 1) for i in range(9))
TOO_FEW_DAYS = (
    "{channel}: {days} days of spend and conversions; a response curve needs at least {minimum}"
)
FLAT_SPEND = "{channel}: spend barely varies (coefficient of variation {cv:.2f}), so its effect cannot be told apart from the baseline"
NO_CONVERSIONS = "{channel}: no conversions in the data"
ZERO_SPEND = "{channel}: no spend in the data, so there is no response to spend to fit"
POOR_FIT = "{channel}: conversions do not follow spend (R² {r2:.2f} < {minimum})"
NO_SATURATION = "{channel}: no saturation seen within the spend observed; the curve is close to a straight line there"
BUDGET_OUTSIDE = (
    "the budget {budget:.2f} is outside what the bounds allow ({low:.2f} .. {high:.2f})"
)


@dataclass(frozen=True)
class ResponseCurve:
    """A fitted channel: adstock decay, baseline, maximum extra conversions and half-saturation."""

    channel: str
    decay: float
    base: float
    beta: float
    half_saturation: float
    r_squared: float
    days: int
    notes: tuple[str, ...] = ()

    def response(self, daily_spend: FloatArray | float) -> FloatArray:
        """Expected extra conversions a day (above the baseline) at a steady daily spend."""
        a = np.asarray(daily_spend, dtype=np.float64) / (1 - self.decay)
        result: FloatArray = self.beta * a / (a + self.half_saturation)
        return result

    def marginal(self, daily_spend: FloatArray | float) -> FloatArray:
        """Extra conversions per extra unit of daily spend, at a steady daily spend."""
        a = np.asarray(daily_spend, dtype=np.float64) / (1 - self.decay)
        k = self.half_saturation
        result: FloatArray = self.beta * k / ((a + k) ** 2 * (1 - self.decay))
        return result


@dataclass(frozen=True)
class Allocation:
    channels: tuple[str, ...]
    current: FloatArray
    recommended: FloatArray
    lower: FloatArray
    upper: FloatArray
    current_conversions: float
    expected_conversions: float
    marginal_current: FloatArray
    marginal_recommended: FloatArray

    @property
    def shift(self) -> FloatArray:
        """Recommended minus current daily spend per channel."""
        result: FloatArray = self.recommended - self.current
        return result


def adstock(spend: FloatArray, decay: float) -> FloatArray:
    """a_t = s_t + decay x a_{t-1}, a_{-1} = 0."""
    out = np.empty_like(spend)
    carry = 0.0
    for t, s in enumerate(spend):
        carry = s + decay * carry
        out[t] = carry
    return out


def fit_response(channel: str, spend: object, conversions: object) -> ResponseCurve:
    """Least-squares response curve for one channel's daily spend and conversions."""
    s = as_float_array(spend, f"{channel} spend", MODEL)
    y = as_float_array(conversions, f"{channel} conversions", MODEL)
    check_same_length(spend=s, conversions=y)
    if len(s) < MIN_DAYS:
        raise ModelInputError(TOO_FEW_DAYS.format(channel=channel, days=len(s), minimum=MIN_DAYS))
    if (s < 0).any() or (y < 0).any():
        raise ModelInputError(
            BAD_PARAMETER.format(
                name=f"{channel} spend and conversions", rule=">= 0", value="negative values"
            )
        )
    if s.sum() == 0:
        raise ModelInputError(ZERO_SPEND.format(channel=channel))
    if y.sum() == 0:
        raise ModelInputError(NO_CONVERSIONS.format(channel=channel))
    cv = float(s.std() / s.mean()) if s.mean() > 0 else 0.0
    if cv < MIN_SPEND_VARIATION:
        raise ModelInputError(FLAT_SPEND.format(channel=channel, cv=cv))
    total = float(((y - y.mean()) ** 2).sum())
    best: tuple[float, float, FloatArray] | None = None
    for decay in DECAYS:
        a = adstock(s, decay)
        top = float(a.max())
        # K between a twentieth and ten times the largest adstock seen: beyond that the curve is
        # a straight line (or a step) over the data and K is not identified.
        lower, upper = [0.0, 0.0, top / 20], [np.inf, np.inf, 10 * top]

        def residuals(p: FloatArray, a: FloatArray = a) -> FloatArray:
            result: FloatArray = p[0] + p[1] * a / (a + p[2]) - y
            return result

        start = [float(np.percentile(y, 10)), float(y.max() - np.percentile(y, 10)) * 2 + 1e-9, top]
        fit = optimize.least_squares(residuals, start, bounds=(lower, upper))
        sse = float((fit.fun**2).sum())
        if best is None or sse < best[1]:
            best = (decay, sse, fit.x)
    assert best is not None  # DECAYS is not empty
    decay, sse, (base, beta, k) = best
    r2 = 1 - sse / total if total > 0 else 0.0
    if r2 < MIN_R_SQUARED:
        raise ModelInputError(POOR_FIT.format(channel=channel, r2=r2, minimum=MIN_R_SQUARED))
    top = float(adstock(s, decay).max())
    notes = (NO_SATURATION.format(channel=channel),) if k >= 10 * top * 0.999 else ()
    return ResponseCurve(channel, decay, float(base), float(beta), float(k), r2, len(s), notes)


def allocate(
    curves: Sequence[ResponseCurve],
    current: object,
    budget: float | None = None,
    bounds: tuple[float, float] = (0.5, 2.0),
) -> Allocation:
    """The daily spend per channel maximising expected conversions for a total budget.

    `current` is each channel's current daily spend; the budget defaults to its total; each
    channel stays within bounds x current.
    """
    now = as_float_array(current, "current spend", MODEL)
    if len(now) != len(curves) or len(curves) < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="current spend", rule="one value per fitted channel", value=len(now)
            )
        )
    if (now <= 0).any():
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="current spend",
                rule="> 0 for every channel (bounds are multiples of it)",
                value=now.tolist(),
            )
        )
    low_x, high_x = bounds
    if not 0 <= low_x <= 1 <= high_x:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="bounds", rule="(low <= 1 <= high) multiples of current spend", value=bounds
            )
        )
    total = float(now.sum()) if budget is None else float(budget)
    lower, upper = now * low_x, now * high_x
    if not lower.sum() - 1e-9 <= total <= upper.sum() + 1e-9:
        raise ModelInputError(
            BUDGET_OUTSIDE.format(budget=total, low=lower.sum(), high=upper.sum())
        )

    def expected(x: FloatArray) -> float:
        return float(sum(c.response(v) for c, v in zip(curves, x, strict=True)))

    def gradient(x: FloatArray) -> FloatArray:
        return np.array([float(c.marginal(v)) for c, v in zip(curves, x, strict=True)])

    start = np.clip(now * total / now.sum(), lower, upper)
    scale = max(total, 1e-12)
    result = optimize.minimize(
        lambda z: -expected(z * scale) / scale,
        start / scale,
        jac=lambda z: -gradient(z * scale),
        method="SLSQP",
        bounds=list(zip(lower / scale, upper / scale, strict=True)),
        constraints=[
            {
                "type": "eq",
                "fun": lambda z: z.sum() - total / scale,
                "jac": lambda z: np.ones_like(z),
            }
        ],
        options={"ftol": 1e-12, "maxiter": 500},
    )
    best = np.clip(result.x * scale, lower, upper)
    return Allocation(
        tuple(c.channel for c in curves), now, best, lower, upper,
        expected(now), expected(best), gradient(now), gradient(best),
    )  # fmt: skip
