"""BG/NBD numerics: expected purchases against mpmath at extreme parameters, the fit on the demos.

The reference is independent of the hypergeometric function: with the purchase rate integrated
out, a living customer's expected purchases in the next t are E[(1 - (1 + p s)^-(r+x)) / p] for
p ~ Beta(a, b + x) and s = t / (alpha + T), integrated here with mpmath at 40 digits.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

from growthloop.demo.build import build_demo
from growthloop.models import clv
from growthloop.models.clv_data import fetch_buyers
from growthloop.models.errors import ModelInputError
from growthloop.workspace import Workspace

E12 = float(np.exp(12.0))
E_12 = float(np.exp(-12.0))


def reference(
    r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float, t: float
) -> tuple[float, float]:
    """(P(alive), E[Y(t)]) at 40 digits by mpmath quadrature over p."""
    with mp.workdps(40):
        r_, al, a_, b_ = (mp.mpf(v) for v in (r, alpha, a, b))
        big_b, s, big_a = b_ + x, mp.mpf(t) / (al + T), r_ + x
        log_norm = mp.log(mp.beta(a_, big_b))

        def g(p: mp.mpf) -> mp.mpf:
            return big_a * s if p == 0 else -mp.expm1(-big_a * mp.log1p(p * s)) / p

        if a_ < 1:  # u = p^a takes the density's spike at 0 away: p^(a-1) dp = du / a

            def f(u: mp.mpf) -> mp.mpf:
                p = u ** (1 / a_)
                return mp.exp((big_b - 1) * mp.log1p(-p) - log_norm) / a_ * g(p)

            cuts = [0, mp.mpf("1e-30"), mp.mpf("1e-10"), mp.mpf("1e-3"), 0.5, 1]
        elif big_b < 1:  # v = (1-p)^B likewise at 1

            def f(v: mp.mpf) -> mp.mpf:
                p = 1 - v ** (1 / big_b)
                return mp.exp((a_ - 1) * mp.log(p) - log_norm) / big_b * g(p)

            cuts = [0, mp.mpf("1e-30"), mp.mpf("1e-10"), mp.mpf("1e-3"), 0.5, 1]
        else:

            def f(p: mp.mpf) -> mp.mpf:
                dens = (a_ - 1) * mp.log(p) + (big_b - 1) * mp.log1p(-p) - log_norm
                return mp.exp(dens) * g(p)

            m = a_ / (a_ + big_b)
            sd = mp.sqrt(a_ * big_b / ((a_ + big_b) ** 2 * (a_ + big_b + 1)))
            inner = {min(max(m + k * sd, mp.mpf(0)), mp.mpf(1)) for k in (-30, -8, 0, 8, 30)}
            cuts = sorted({mp.mpf(0), mp.mpf(1)} | inner)
        alive_future = mp.quad(f, cuts)
        if x == 0:
            alive = mp.mpf(1)
        else:
            odds = a_ / (b_ + x - 1) * ((al + T) / (al + t_x)) ** (r_ + x)
            alive = 1 / (1 + odds)
        return float(alive), float(alive * alive_future)


EXTREMES = [
    # a and b on the bound with a/(a+b) ~ 0.14: the demo's case that gave NaN before
    (0.2168, 1.9644, 22559.0, 140156.0, 0, 0.0, 0.0, 90 / 7),
    (0.2168, 1.9644, 22559.0, 140156.0, 3, 8.0, 12.7, 90 / 7),
    (0.2168, 1.9644, 22559.0, 140156.0, 13, 12.0, 12.7, 52.0),
    (0.2, 1.86, E12, 7 * E12, 2000, 30.0, 40.0, 52.0),
    (0.2, 1.86, E12, 0.9 * E12, 50, 1.0, 1.0, 1000.0),
    # one of a, b tiny, the other huge
    (0.5, 2.0, E_12, E12, 5, 3.0, 10.0, 4.3),
    (0.5, 2.0, E12, E_12, 0, 0.0, 13.0, 1000.0),
    (0.5, 2.0, E12, E_12, 1, 0.5, 1.0, 52.0),
    # r and alpha on their bounds; a, b tiny
    (E12, E12, 1.5, 3.0, 50, 12.0, 13.0, 1000.0),
    (E_12, E_12, 0.3, 0.4, 2000, 1.0, 10.0, 4.3),
    # CDNOW's parameters, heavy buyer over a long horizon
    (0.243, 4.414, 0.793, 2.426, 2000, 0.9, 1.0, 52.0),
]


@pytest.mark.parametrize(("r", "alpha", "a", "b", "x", "t_x", "T", "t"), EXTREMES)
def test_expected_purchases_match_mpmath_at_extreme_parameters(
    r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float, t: float
) -> None:
    params = clv.BgNbdParams(r, alpha, a, b, 0.0, 1)
    one = clv.RepeatSummary.of([x], [t_x], [T])
    want_alive, want = reference(r, alpha, a, b, x, t_x, T, t)
    assert clv.p_alive(params, one)[0] == pytest.approx(want_alive, rel=1e-9, abs=1e-300)
    got = clv.expected_purchases(params, one, t)[0]
    assert np.isfinite(got)
    assert got == pytest.approx(want, rel=1e-8, abs=1e-300)


def check_demo_fit(
    ws: Workspace, as_of: date
) -> tuple[clv.BgNbdParams, np.ndarray, clv.RepeatSummary]:
    """Fit, then every buyer's expected purchases over 90 days are finite and three equal mpmath."""
    data = fetch_buyers(ws.events().con, ws.settings.tz, as_of).purchases.summary
    fit = clv.fit_bgnbd(data)
    future = clv.expected_purchases(fit, data, 90 / 7)
    assert np.isfinite(future).all() and (future >= 0).all()
    for i in (int(np.argmax(data.x)), int(np.argmin(data.T)), len(data.x) // 2):
        _, want = reference(
            fit.r, fit.alpha, fit.a, fit.b, int(data.x[i]), data.t_x[i], data.T[i], 90 / 7
        )
        assert future[i] == pytest.approx(want, rel=1e-8)
    # The 12-month CLV is finite as well (it sums 12 such expectations).
    money = np.full_like(data.x, 100.0)
    value = clv.lifetime_value(
        fit, data, money, periods=12, period_length=30 / 7, discount_rate=0.01
    )
    assert np.isfinite(value).all()
    return fit, future, data


def test_the_small_demo_gives_finite_expected_purchases(demo_dir: Path) -> None:
    """Seed 0 ending 2026-11-23: a + b runs to its bound (a/(a+b) about 0.14); no NaN now."""
    with Workspace.open(demo_dir) as ws:
        fit, _, _ = check_demo_fit(ws, date(2026, 11, 23))
    assert fit.on_bound == ("a+b",)
    assert fit.a / (fit.a + fit.b) == pytest.approx(0.139, abs=0.005)


@pytest.fixture(scope="module")
def seed7_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo the browser tests use (seed 7), ending 2026-11-24: its fit used to run out of
    Nelder-Mead evaluations."""
    path = tmp_path_factory.mktemp("seed7") / "data"
    with Workspace.open(path) as ws:
        build_demo(ws, "small", 7, date(2026, 11, 24))
    return path


def test_the_seed_7_demo_fit_converges(seed7_dir: Path) -> None:
    with Workspace.open(seed7_dir) as ws:
        fit, _, data = check_demo_fit(ws, date(2026, 11, 24))
    # Converged: moving any free coordinate 1% either way does not raise the log-likelihood.
    assert fit.log_likelihood == pytest.approx(
        float(clv.bgnbd_log_likelihood(fit.r, fit.alpha, fit.a, fit.b, data).sum())
    )
    for step in (1.01, 0.99):
        for r, alpha, a, b in (
            (fit.r * step, fit.alpha, fit.a, fit.b),
            (fit.r, fit.alpha * step, fit.a, fit.b),
            (fit.r, fit.alpha, fit.a * step, fit.b * (2 - step)),
        ):
            ll = float(clv.bgnbd_log_likelihood(r, alpha, a, b, data).sum())
            assert ll <= fit.log_likelihood + 1e-6


def test_a_fit_that_cannot_converge_is_refused() -> None:
    """An objective whose slope never flattens: FIT_FAILED, not a number."""

    def rough(theta: np.ndarray) -> float:
        return float(np.sum(theta**2) + 0.1 * np.sin(1e7 * theta[0]))

    with pytest.raises(ModelInputError, match="the BG/NBD fit did not converge"):
        clv._maximise(rough, [np.array([1.0, 1.0])], clv.BG_NBD)

    def nowhere(theta: np.ndarray) -> float:
        return float("inf")

    with pytest.raises(ModelInputError, match="not finite at any start"):
        clv._maximise(nowhere, [np.array([1.0, 1.0])], clv.BG_NBD)
