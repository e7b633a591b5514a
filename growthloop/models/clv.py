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
import numpy.typing as npt
from scipy import integrate, optimize, special

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
# A converged fit's log-likelihood is flat to this per (log or logit) parameter: a step of
# 0.01 in any of them changes it by less than 0.0005.
GRADIENT_TOLERANCE = 0.05
TIGHT = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-9}


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


def _projected_gradient(
    objective: Callable[[FloatArray], float], at: FloatArray, step: float = 1e-5
) -> FloatArray:
    """Central-difference gradient, zeroed where a bound blocks the descent direction."""
    grad = np.zeros_like(at)
    for i in range(len(at)):
        up, down = at.copy(), at.copy()
        up[i] = min(at[i] + step, LOG_BOUND)
        down[i] = max(at[i] - step, -LOG_BOUND)
        grad[i] = (objective(up) - objective(down)) / (up[i] - down[i])
    blocked = ((at >= LOG_BOUND - 1e-3) & (grad < 0)) | ((at <= -LOG_BOUND + 1e-3) & (grad > 0))
    grad[blocked] = 0.0
    return grad


def _maximise(
    objective: Callable[[FloatArray], float], starts: list[FloatArray], model: str
) -> tuple[FloatArray, tuple[int, ...]]:
    """Minimise a negative log-likelihood over bounded (log or logit) parameters.

    From each start: L-BFGS-B within the bounds, then a bounded Nelder-Mead polish from its
    answer; the lowest objective wins. The fit counts as converged when the projected gradient
    there is flat (|g| <= GRADIENT_TOLERANCE per parameter; a parameter held by its bound only
    needs the gradient to push against it), whatever the optimisers' own messages say (Nelder-
    Mead runs out of evaluations on a ridge long after it stopped improving). Otherwise
    FIT_FAILED is raised: a clear refusal, never an unconverged number.

    Returns the parameters and the indices of those that ended on a bound. Short histories often
    make the likelihood keep rising as a pair of parameters grows together (for BG/NBD, a and b
    with a/(a+b) fixed: everyone has the same drop-out chance); the bound stops that walk at a
    point whose predictions equal the limit's, and the caller reports it.
    """
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    best: FloatArray | None = None
    best_value = np.inf
    messages = []
    for start in starts:
        begin = np.clip(start, -LOG_BOUND, LOG_BOUND)
        if not np.isfinite(objective(begin)):
            continue
        fast = optimize.minimize(objective, begin, method="L-BFGS-B", bounds=bounds, options=TIGHT)
        polish = optimize.minimize(
            objective,
            fast.x if np.isfinite(fast.fun) else begin,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000},
        )
        messages += [str(fast.message), str(polish.message)]
        for candidate in (fast, polish):
            if np.isfinite(candidate.fun) and candidate.fun < best_value:
                best, best_value = np.asarray(candidate.x, dtype=np.float64), float(candidate.fun)
    if best is None:
        raise ModelInputError(
            FIT_FAILED.format(model=model, reason="the likelihood is not finite at any start")
        )
    final = optimize.minimize(objective, best, method="L-BFGS-B", bounds=bounds, options=TIGHT)
    if np.isfinite(final.fun) and final.fun <= best_value:
        best = np.asarray(final.x, dtype=np.float64)
    gradient = _projected_gradient(objective, best)
    if not np.all(np.abs(gradient) <= GRADIENT_TOLERANCE):
        worst = float(np.max(np.abs(gradient)))
        raise ModelInputError(
            FIT_FAILED.format(
                model=model,
                reason=f"log-likelihood gradient {worst:.3g} at the best point; {messages[-1]}",
            )
        )
    on_bound = tuple(int(i) for i in np.flatnonzero(np.abs(best) >= LOG_BOUND - 1e-3))
    return best, on_bound


def _bgnbd_natural(theta: FloatArray) -> tuple[float, float, float, float]:
    """(r, alpha, a, b) from (log r, log alpha, logit of a/(a+b), log(a+b))."""
    r, alpha = np.exp(theta[:2])
    mean_drop = float(special.expit(theta[2]))
    size = float(np.exp(theta[3]))
    return float(r), float(alpha), mean_drop * size, (1 - mean_drop) * size


def fit_bgnbd(data: RepeatSummary) -> BgNbdParams:
    """BG/NBD parameters by maximum likelihood (identical customers are grouped with weights).

    Fitted over log r, log alpha, the logit of the mean drop-out chance a/(a+b) and log(a+b):
    the ridge short histories produce (a and b growing together) is then one coordinate
    running to its bound while the others converge. Starts: r = 1, alpha = the mean age (so
    r/alpha is one purchase per history), and the method-of-moments rate r/alpha = the mean
    repeat rate sum(x)/sum(T) with r = 0.5; drop-out mean 0.5 and 0.2.
    """
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
    rate = float(np.sum(data.x) / max(float(np.sum(data.T)), 1e-9))

    def negative(theta: FloatArray) -> float:
        r, alpha, a, b = _bgnbd_natural(theta)
        with np.errstate(all="ignore"):
            ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, grouped)))
        return -ll if np.isfinite(ll) else np.inf

    starts = [
        np.array([0.0, np.log(scale), 0.0, np.log(2.0)]),
        np.array([np.log(0.5), np.log(0.5 / max(rate, 1e-9)), special.logit(0.2), np.log(5.0)]),
    ]
    theta, on_bound = _maximise(negative, starts, BG_NBD)
    r, alpha, a, b = _bgnbd_natural(theta)
    ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, grouped)))
    names = ("r", "alpha", "a/(a+b)", "a+b")
    return BgNbdParams(r, alpha, a, b, ll, n, tuple(names[i] for i in on_bound))


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


def _log_hyp_forms(
    r: float, alpha: float, a: float, b: float, x: FloatArray, T: FloatArray, t: float
) -> tuple[FloatArray, FloatArray]:
    """log of ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z) in two equal forms.

    Direct: the prefactor's logarithm plus log 2F1 as written (its parameters grow with x, so
    heavy buyers overflow). Euler's transformation: (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)
    (parameters independent of x, but with a and b large the 2F1 overflows while (1-z)^(a-1)
    underflows). Both are kept as logarithms, so neither the prefactor nor the 2F1 alone
    decides; whichever is finite (or both, agreeing) gives the answer.
    """
    z = t / (alpha + T + t)
    log_rest = np.log1p(-z)
    c = a + b + x - 1
    with np.errstate(all="ignore"):
        direct = np.log(special.hyp2f1(r + x, b + x, c, z)) + (r + x) * log_rest
        euler = np.log(special.hyp2f1(a + b - 1 - r, a - 1, c, z)) + (a - 1) * log_rest
    return direct, euler


def _beta_expectation(r: float, a: float, b: float, x: float, s: float) -> float:
    """E[(1 - (1 + p s)^-(r+x)) / p] for p ~ Beta(a, b + x), by quadrature over the quantile.

    The expected purchases of a living customer with x repeats, s = t / (alpha + T), with the
    purchase rate integrated out: no hypergeometric function, a bounded integrand (at most
    (r+x) s), and p = F^-1(u) removes the Beta density's peaks and end singularities. Used for
    the parameters where both closed forms fail or disagree.
    """

    def g(u: float) -> float:
        p = float(special.betaincinv(a, b + x, u))
        if p <= 0.0:
            return (r + x) * s
        return float(-np.expm1(-(r + x) * np.log1p(p * s)) / p)

    value, _ = integrate.quad(g, 0.0, 1.0, epsabs=0.0, epsrel=1e-11, limit=400)
    return float(value)


def _alive_expectation(params: BgNbdParams, data: RepeatSummary, t: float) -> FloatArray:
    """E[purchases in the next t | alive at T], for each customer.

    = (a+b+x-1)/(a-1) (1 - exp(L)) with L the log-term of `_log_hyp_forms`; 1 - exp(L) as
    -expm1(L), so it keeps its digits when L is near 0 (a short horizon). Falls back to
    `_beta_expectation` where neither form is finite, the two disagree, or the result leaves
    [0, (r+x) t/(alpha+T)] (the bound of the integrand).
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, T = data.x, data.T
    direct, euler = _log_hyp_forms(r, alpha, a, b, x, T, t)
    c = a + b + x - 1
    head = c / (a - 1) if a != 1 else np.full_like(x, np.inf)
    with np.errstate(all="ignore"):
        from_direct = head * -np.expm1(direct)
        from_euler = head * -np.expm1(euler)
    s = t / (alpha + T)
    top = (r + x) * s * (1 + 1e-9) + 1e-300

    def ok(v: FloatArray) -> npt.NDArray[np.bool_]:
        return np.isfinite(v) & (v >= 0) & (v <= top)

    good_d, good_e = ok(from_direct), ok(from_euler)
    both = good_d & good_e
    agree = np.isclose(from_direct, from_euler, rtol=1e-7, atol=1e-12)
    out = np.where(good_d, from_direct, from_euler)
    bad = ~(good_d | good_e) | (both & ~agree)
    for i in np.flatnonzero(bad):
        out[i] = _beta_expectation(r, a, b, float(x[i]), float(s[i]))
    result: FloatArray = out
    return result


def expected_purchases(params: BgNbdParams, data: RepeatSummary, t: float) -> FloatArray:
    """Expected transactions in the next `t` time units for each customer (FHL 2005, eq. 10).

    P(alive) times the expectation of a living customer; finite for every valid parameter set
    (including a and b on the fitting bound and customers with thousands of repeats).
    """
    if not np.isfinite(t) or t < 0:
        raise ModelInputError(BAD_PARAMETER.format(name="t", rule="a duration >= 0", value=t))
    if t == 0:
        return np.zeros_like(data.x)
    result: FloatArray = _alive_expectation(params, data, t) * p_alive(params, data)
    bad = np.flatnonzero(~np.isfinite(result))
    if bad.size:  # pragma: no cover - the quadrature fallback is finite by construction
        raise ModelInputError(
            FIT_FAILED.format(model=BG_NBD, reason=f"expected purchases at index {bad[0]}")
        )
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

    start = np.log([1.0, 1.0, float(np.mean(ms))])
    fitted, on_bound = _maximise(negative, [start], GAMMA_GAMMA)
    p, q, gamma = np.exp(fitted)
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
