"""Churn warning and customer lifetime value (流失预警 / 客户终身价值): BG/NBD, Gamma-Gamma, CLV.

BG/NBD (Fader, Hardie & Lee, "Counting your customers the easy way", 2005) models repeat
purchases as Poisson(lambda) while alive, with a Beta(a, b) chance p of dropping out after each
purchase and lambda ~ Gamma(r, alpha) across customers. Gamma-Gamma (Fader, Hardie & Lee 2005,
"RFM and CLV") models the mean spend per transaction. Inputs are per-customer summary arrays:
x = repeat transactions, t_x = time of the last one, T = age, all measured from the first
purchase in one time unit (weeks in the literature). Nothing here reads a database; see
`growthloop.models.clv_data`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from growthloop.models.errors import (
    BAD_PARAMETER,
    TOO_FEW,
    ZERO_VARIANCE,
    FloatArray,
    ModelInputError,
    as_float_array,
    check_non_negative,
    check_same_length,
)

BG_NBD = "BG/NBD"
GAMMA_GAMMA = "Gamma-Gamma"
FIT_FAILED = "the {model} fit did not converge ({reason}); the data may not support the model"
T_X_AFTER_T = "t_x must not exceed T (first at index {index}): the last purchase is after the end"
T_X_WITHOUT_REPEATS = "t_x must be 0 where x is 0 (first at index {index})"
MIN_CUSTOMERS = 10
# Parameters are fitted as logarithms within +-LOG_BOUND (e^12 is about 163,000).
LOG_BOUND = 12.0
MIN_REPEAT_CUSTOMERS = 10


@dataclass(frozen=True)
class RepeatSummary:
    """Per customer: repeat transactions x, time of the last t_x and age T (same time unit)."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray

    @classmethod
    def of(cls, x: object, t_x: object, T: object) -> RepeatSummary:
        """Checks the arrays: same length, finite, non-negative, 0 <= t_x <= T, t_x = 0 without repeats."""
        xs = as_float_array(x, "x", BG_NBD)
        txs = as_float_array(t_x, "t_x", BG_NBD)
        ts = as_float_array(T, "T", BG_NBD)
        check_same_length(x=xs, t_x=txs, T=ts)
        for name, arr in (("x", xs), ("t_x", txs), ("T", ts)):
            check_non_negative(arr, name, "counts and durations are never negative")
        late = np.flatnonzero(txs > ts)
        if late.size:
            raise ModelInputError(T_X_AFTER_T.format(index=int(late[0])))
        loose = np.flatnonzero((xs == 0) & (txs > 0))
        if loose.size:
            raise ModelInputError(T_X_WITHOUT_REPEATS.format(index=int(loose[0])))
        return cls(xs, txs, ts)


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters and the maximised log-likelihood."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int
    on_bound: tuple[str, ...] = ()
    """Parameters that ended on the fitting bound (the likelihood kept rising as they grew)."""


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters and the maximised log-likelihood."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int
    on_bound: tuple[str, ...] = ()
    """Parameters that ended on the fitting bound (the likelihood kept rising as they grew)."""


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, data: RepeatSummary
) -> FloatArray:
    """Each customer's log-likelihood under BG/NBD (FHL 2005, equation 6)."""
    x, t_x, T = data.x, data.t_x, data.T
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # The second term exists only for repeat buyers; b + x - 1 > 0 there.
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    result: FloatArray = a1 + a2 + np.logaddexp(a3, a4)
    return result


def _maximise(
    objective: Callable[[FloatArray], float], start: FloatArray, model: str
) -> tuple[FloatArray, tuple[int, ...]]:
    """Minimise a negative log-likelihood over bounded log-parameters.

    Returns the parameters and the indices of those that ended on a bound. Short histories often
    make the likelihood keep rising as a pair of parameters grows together (for BG/NBD, a and b
    with a/(a+b) fixed: everyone has the same drop-out chance); the bound stops that walk at a
    point whose predictions equal the limit's, and the caller reports it.
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    coarse = optimize.minimize(
        objective,
        np.clip(start, -LOG_BOUND, LOG_BOUND),
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 20000, "maxfev": 20000},
    )
    fine = optimize.minimize(objective, coarse.x, method="L-BFGS-B", bounds=bounds)
    chosen = fine if fine.success and fine.fun <= coarse.fun else coarse
    if not np.isfinite(chosen.fun) or not (fine.success or coarse.success):
        raise ModelInputError(FIT_FAILED.format(model=model, reason=chosen.message))
    on_bound = tuple(int(i) for i in np.flatnonzero(np.abs(chosen.x) >= LOG_BOUND - 1e-3))
    return np.exp(chosen.x), on_bound


def fit_bgnbd(data: RepeatSummary) -> BgNbdParams:
    """BG/NBD parameters by maximum likelihood (identical customers are grouped with weights)."""
    n = len(data.x)
    if n < MIN_CUSTOMERS:
        raise ModelInputError(
            TOO_FEW.format(model=BG_NBD, minimum=MIN_CUSTOMERS, unit="customers", got=n)
        )
    if not (data.x > 0).any():
        raise ModelInputError(
            ZERO_VARIANCE.format(what="x (repeat purchases)", value=0, model=BG_NBD)
        )
    rows, weights = np.unique(
        np.column_stack([data.x, data.t_x, data.T]), axis=0, return_counts=True
    )
    grouped = RepeatSummary(rows[:, 0], rows[:, 1], rows[:, 2])
    scale = float(np.mean(data.T)) or 1.0

    def negative(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, grouped)))
        return -ll if np.isfinite(ll) else np.inf

    fitted, on_bound = _maximise(negative, np.log([1.0, scale, 1.0, 1.0]), BG_NBD)
    r, alpha, a, b = fitted
    ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, grouped)))
    names = ("r", "alpha", "a", "b")
    return BgNbdParams(
        float(r), float(alpha), float(a), float(b), ll, n, tuple(names[i] for i in on_bound)
    )


def _log_odds_dead(params: BgNbdParams, data: RepeatSummary) -> FloatArray:
    """log(a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) for repeat buyers, -inf otherwise.

    Kept as a logarithm: for a heavy buyer long silent the odds overflow a float.
    """
    x = data.x
    out = np.full_like(x, -np.inf)
    rep = x > 0
    out[rep] = (
        np.log(params.a)
        - np.log(params.b + x[rep] - 1)
        + (params.r + x[rep])
        * (np.log(params.alpha + data.T[rep]) - np.log(params.alpha + data.t_x[rep]))
    )
    return out


def p_alive(params: BgNbdParams, data: RepeatSummary) -> FloatArray:
    """P(the customer is still active at T | x, t_x, T) (FHL 2005, equation 11)."""
    result: FloatArray = special.expit(-_log_odds_dead(params, data))
    return result


def expected_purchases(params: BgNbdParams, data: RepeatSummary, t: float) -> FloatArray:
    """Expected transactions in the next `t` time units for each customer (FHL 2005, eq. 10)."""
    if t < 0:
        raise ModelInputError(BAD_PARAMETER.format(name="t", rule="a duration >= 0", value=t))
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, T = data.x, data.T
    z = t / (alpha + T + t)
    # ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z), rewritten with Euler's
    # transformation as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the same number, but its
    # parameters no longer grow with x, so heavy buyers do not overflow.
    hyp = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - np.exp((a - 1) * np.log1p(-z)) * hyp
    # + 0.0 turns the -0.0 of t = 0 (a negative head times 0 when a < 1) into 0.0.
    result: FloatArray = head * body * p_alive(params, data) + 0.0
    return result


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, x: FloatArray, mean_spend: FloatArray
) -> FloatArray:
    """Each repeat buyer's log-likelihood of their mean spend over x transactions."""
    px = p * x
    result: FloatArray = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(mean_spend)
        + px * np.log(x)
        - (px + q) * np.log(gamma + mean_spend * x)
    )
    return result


def _spend_inputs(x: object, mean_spend: object) -> tuple[FloatArray, FloatArray]:
    xs = as_float_array(x, "x", GAMMA_GAMMA)
    ms = as_float_array(mean_spend, "mean_spend", GAMMA_GAMMA)
    check_same_length(x=xs, mean_spend=ms)
    bad = np.flatnonzero((xs <= 0) | (ms <= 0))
    if bad.size:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name=f"x and mean_spend at index {int(bad[0])}",
                rule="> 0 (repeat buyers with a positive spend only)",
                value=(xs[bad[0]], ms[bad[0]]),
            )
        )
    return xs, ms


def fit_gamma_gamma(x: object, mean_spend: object) -> GammaGammaParams:
    """Gamma-Gamma parameters by maximum likelihood over repeat buyers (x > 0)."""
    xs, ms = _spend_inputs(x, mean_spend)
    if len(xs) < MIN_REPEAT_CUSTOMERS:
        raise ModelInputError(
            TOO_FEW.format(
                model=GAMMA_GAMMA, minimum=MIN_REPEAT_CUSTOMERS, unit="repeat buyers", got=len(xs)
            )
        )
    if np.ptp(ms) == 0:
        raise ModelInputError(
            ZERO_VARIANCE.format(what="mean_spend", value=ms[0], model=GAMMA_GAMMA)
        )

    def negative(log_params: FloatArray) -> float:
        p, q, gamma = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll = float(gamma_gamma_log_likelihood(p, q, gamma, xs, ms).sum())
        return -ll if np.isfinite(ll) else np.inf

    fitted, on_bound = _maximise(negative, np.log([1.0, 1.0, float(np.mean(ms))]), GAMMA_GAMMA)
    p, q, gamma = fitted
    ll = float(gamma_gamma_log_likelihood(p, q, gamma, xs, ms).sum())
    names = ("p", "q", "gamma")
    return GammaGammaParams(
        float(p), float(q), float(gamma), ll, len(xs), tuple(names[i] for i in on_bound)
    )


def expected_spend(params: GammaGammaParams, x: object, mean_spend: object) -> FloatArray:
    """E[mean spend per transaction | x, mean spend]; the population mean for x = 0."""
    xs = as_float_array(x, "x", GAMMA_GAMMA)
    ms = as_float_array(mean_spend, "mean_spend", GAMMA_GAMMA)
    check_same_length(x=xs, mean_spend=ms)
    p, q, gamma = params.p, params.q, params.gamma
    if q <= 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="Gamma-Gamma q", rule="> 1 for a finite mean spend", value=q)
        )
    result: FloatArray = (p * (gamma + xs * ms)) / (p * xs + q - 1)
    return result


def lifetime_value(
    bgnbd: BgNbdParams,
    data: RepeatSummary,
    spend: FloatArray,
    *,
    periods: int,
    period_length: float,
    discount_rate: float,
) -> FloatArray:
    """Discounted expected revenue over `periods` periods of `period_length` time units.

    CLV = sum over k = 1..periods of spend x (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^k, with the
    purchases of each period discounted at its end; `spend` is the expected spend per
    transaction (from `expected_spend`) and d the discount rate per period.
    """
    if periods < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="periods", rule="at least 1", value=periods)
        )
    if period_length <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(name="period_length", rule="> 0", value=period_length)
        )
    if not 0 <= discount_rate < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="discount_rate", rule="in [0, 1) per period", value=discount_rate
            )
        )
    check_same_length(x=data.x, spend=np.asarray(spend))
    total = np.zeros_like(data.x)
    previous = np.zeros_like(data.x)
    for k in range(1, periods + 1):
        cumulative = expected_purchases(bgnbd, data, k * period_length)
        total += (cumulative - previous) / (1 + discount_rate) ** k
        previous = cumulative
    result: FloatArray = total * spend
    return result
