"""BG/NBD, Gamma-Gamma and CLV against the published CDNOW estimates and numerical integration."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

from growthloop.demo.cdnow import write_orders_file
from growthloop.ingest.files import import_files
from growthloop.models import churn, clv
from growthloop.models.clv_data import fetch_buyers
from growthloop.models.errors import ModelInputError
from growthloop.models.repeat_purchases import summarise_purchases
from growthloop.workspace import Workspace

CDNOW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cdnow"
CALIBRATION_END = date(1997, 9, 30)


def read_sample() -> dict[str, dict[date, float]]:
    """CDNOW_sample.txt as {master id: {day: dollars}}, same-day purchases added."""
    out: dict[str, dict[date, float]] = {}
    for line in (CDNOW / "CDNOW_sample.txt").read_text(encoding="ascii").splitlines():
        master, _, day, _, dollars = line.split()
        d = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        out.setdefault(master, {}).setdefault(d, 0.0)
        out[master][d] += float(dollars)
    return out


@pytest.fixture(scope="module")
def cdnow() -> tuple[list[str], clv.RepeatSummary, np.ndarray, np.ndarray]:
    return read_cdnow_summary()


def read_cdnow_summary() -> tuple[list[str], clv.RepeatSummary, np.ndarray, np.ndarray]:
    """The calibration summary built with plain loops (x, t_x, T in weeks, mean repeat spend)."""
    ids, x, t_x, T, spend = [], [], [], [], []
    for master, days in sorted(read_sample().items()):
        seen = sorted(d for d in days if d <= CALIBRATION_END)
        ids.append(master)
        x.append(len(seen) - 1)
        t_x.append((seen[-1] - seen[0]).days / 7)
        T.append((CALIBRATION_END - seen[0]).days / 7)
        repeats = [days[d] for d in seen[1:]]
        spend.append(sum(repeats) / len(repeats) if repeats else 0.0)
    return ids, clv.RepeatSummary.of(x, t_x, T), np.asarray(x, float), np.asarray(spend)


def test_bgnbd_reproduces_the_published_cdnow_estimates(cdnow: tuple) -> None:
    """Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4."""
    _, summary, _, _ = cdnow
    assert len(summary.x) == 2357
    fit = clv.fit_bgnbd(summary)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(cdnow: tuple) -> None:
    """Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013): p 6.25, q 3.74, gamma 15.44 over 946 repeat buyers."""
    _, _, x, spend = cdnow
    repeat = x > 0
    fit = clv.fit_gamma_gamma(x[repeat], spend[repeat])
    assert fit.customers == 946
    assert (fit.p, fit.q, fit.gamma) == pytest.approx((6.25, 3.74, 15.44), rel=0.01)


def test_summarise_purchases_matches_the_loops(cdnow: tuple) -> None:
    ids, summary, _, spend = cdnow
    codes, days, amounts = [], [], []
    index = {m: i for i, m in enumerate(ids)}
    for line in (CDNOW / "CDNOW_sample.txt").read_text(encoding="ascii").splitlines():
        master, _, day, _, dollars = line.split()
        d = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        codes.append(index[master])
        days.append(d.toordinal())
        amounts.append(float(dollars))
    got = summarise_purchases(codes, days, amounts, end_day=CALIBRATION_END.toordinal())
    assert list(got.customers) == list(range(len(ids)))
    np.testing.assert_allclose(got.summary.x, summary.x)
    np.testing.assert_allclose(got.summary.t_x, summary.t_x)
    np.testing.assert_allclose(got.summary.T, summary.T)
    np.testing.assert_allclose(got.mean_repeat_spend, spend)


def _posterior_integrals(
    r: float, alpha: float, a: float, b: float, x: int, t_x: float, T: float, t: float
) -> tuple[float, float]:
    """P(alive) and E[Y(t)] by integrating the model over lambda and p directly.

    Substitutions s = lambda^r and u = p^a remove the priors' singularities at 0.
    """

    def lam_p(s: float, u: float) -> tuple[float, float, float]:
        lam, p = s ** (1 / r), u ** (1 / a)
        # prior density x Jacobian, up to constants that cancel in the ratios
        weight = math.exp(-alpha * lam) * (1 - p) ** (b - 1)
        return lam, p, weight

    def alive(u: float, s: float) -> float:
        lam, p, w = lam_p(s, u)
        return w * (1 - p) ** x * lam**x * math.exp(-lam * T)

    def likelihood(u: float, s: float) -> float:
        lam, p, w = lam_p(s, u)
        dead = p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x) if x > 0 else 0.0
        return alive(u, s) + w * dead

    def future(u: float, s: float) -> float:
        lam, p, _ = lam_p(s, u)
        # E[purchases in t | alive, lambda, p] = (1 - exp(-lambda p t)) / p
        return alive(u, s) * -math.expm1(-lam * p * t) / p

    top = (1 / alpha + 40) ** r * 4
    opts = {"epsabs": 0, "epsrel": 1e-10}
    norm = integrate.dblquad(likelihood, 0, top, 0, 1, **opts)[0]
    return (
        integrate.dblquad(alive, 0, top, 0, 1, **opts)[0] / norm,
        integrate.dblquad(future, 0, top, 0, 1, **opts)[0] / norm,
    )


@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (7, 29.0, 35.0), (1, 2.0, 32.0)]
)
def test_p_alive_and_expected_purchases_match_numerical_integration(
    x: int, t_x: float, T: float
) -> None:
    params = clv.BgNbdParams(0.243, 4.414, 0.793, 2.426, 0.0, 1)
    one = clv.RepeatSummary.of([x], [t_x], [T])
    want_alive, want_future = _posterior_integrals(0.243, 4.414, 0.793, 2.426, x, t_x, T, 39.0)
    assert clv.p_alive(params, one)[0] == pytest.approx(want_alive, rel=1e-5)
    assert clv.expected_purchases(params, one, 39.0)[0] == pytest.approx(want_future, rel=1e-5)


def test_gamma_gamma_likelihood_matches_numerical_integration() -> None:
    """Mean spend z over x transactions: x z | nu ~ Gamma(p x, nu), nu ~ Gamma(q, gamma)."""
    p, q, g = 6.25, 3.74, 15.44
    for x, z in [(1, 20.0), (3, 35.5), (10, 12.0)]:

        def density(nu: float, x: int = x, z: float = z) -> float:
            log_total = (
                special.xlogy(p * x - 1, x * z)
                + p * x * math.log(nu)
                - nu * x * z
                - special.gammaln(p * x)
            )
            log_prior = q * math.log(g) + (q - 1) * math.log(nu) - g * nu - special.gammaln(q)
            return math.exp(log_total + log_prior) * x  # Jacobian of z -> x z

        want = math.log(integrate.quad(density, 0, np.inf, epsrel=1e-11)[0])
        got = clv.gamma_gamma_log_likelihood(p, q, g, np.array([float(x)]), np.array([z]))[0]
        assert got == pytest.approx(want, rel=1e-8)


def test_bgnbd_recovers_simulated_parameters() -> None:
    """Purchases simulated from the model's own story give back its parameters."""
    rng = np.random.default_rng(11)
    n, true = 6000, (0.5, 6.0, 0.7, 2.5)
    lam = rng.gamma(true[0], 1 / true[1], n)
    drop = rng.beta(true[2], true[3], n)
    T = rng.uniform(26, 52, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < drop[i]:
                break
    fit = clv.fit_bgnbd(clv.RepeatSummary.of(x, t_x, T))
    assert (fit.r, fit.alpha, fit.a, fit.b) == pytest.approx(true, rel=0.2)


def test_clv_is_the_discounted_sum_of_period_purchases(cdnow: tuple) -> None:
    _, summary, x, spend = cdnow
    params = clv.fit_bgnbd(summary)
    repeat = x > 0
    gg = clv.fit_gamma_gamma(x[repeat], spend[repeat])
    money = clv.expected_spend(gg, x, spend)
    # Without repeats a customer's expected spend is the population mean p gamma / (q - 1).
    assert money[~repeat][0] == pytest.approx(gg.p * gg.gamma / (gg.q - 1))
    weeks = 30 / 7
    undiscounted = clv.lifetime_value(
        params, summary, money, periods=12, period_length=weeks, discount_rate=0
    )
    np.testing.assert_allclose(
        undiscounted, clv.expected_purchases(params, summary, 12 * weeks) * money
    )
    value = clv.lifetime_value(
        params, summary, money, periods=12, period_length=weeks, discount_rate=0.01
    )
    for i in (0, 5, 100):
        one = clv.RepeatSummary.of(
            summary.x[i : i + 1], summary.t_x[i : i + 1], summary.T[i : i + 1]
        )
        cum = [0.0] + [
            float(clv.expected_purchases(params, one, k * weeks)[0]) for k in range(1, 13)
        ]
        want = sum(money[i] * (cum[k] - cum[k - 1]) / 1.01**k for k in range(1, 13))
        assert value[i] == pytest.approx(want)
    assert (value < undiscounted).all()


def test_churn_risk_and_overdue_lists() -> None:
    value = np.array([100, 900, 50, 800, 700, 20.0])
    alive = np.array([0.1, 0.2, 0.05, 0.9, 0.4, 0.3])
    risk = churn.churn_risk(value, alive, value_quantile=0.5, max_p_alive=0.5)
    # median value 400: customers 1, 3, 4 are valuable; 1 and 4 are unlikely to be alive.
    assert list(risk.indices) == [1, 4]
    got = churn.overdue([5, 2, 10, 3], [0, 0, 0, 50], [20, 5, 90, 56], 100, factor=3)
    np.testing.assert_allclose(got.typical_gap_days, [5, 0, 10, 3])
    np.testing.assert_allclose(got.overdue_ratio, [16, 0, 1, 44 / 3])
    assert list(got.flagged) == [True, False, False, True]
    assert list(got.has_cadence) == [True, False, True, True]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: clv.RepeatSummary.of([1], [5], [4]), "t_x must not exceed T"),
        (lambda: clv.RepeatSummary.of([0], [1], [4]), "t_x must be 0 where x is 0"),
        (lambda: clv.RepeatSummary.of([], [], []), "x is empty"),
        (
            lambda: clv.fit_bgnbd(clv.RepeatSummary.of([1] * 3, [1] * 3, [2] * 3)),
            "needs at least 10 customers, got 3",
        ),
        (
            lambda: clv.fit_bgnbd(clv.RepeatSummary.of([0] * 20, [0] * 20, [5] * 20)),
            "x \\(repeat purchases\\) has no variance",
        ),
        (lambda: clv.fit_gamma_gamma([1] * 20, [10.0] * 20), "mean_spend has no variance"),
        (
            lambda: clv.fit_gamma_gamma([0, 1], [0, 10.0]),
            "repeat buyers with a positive spend only",
        ),
        (
            lambda: summarise_purchases([1], [10], [5.0], end_day=3),
            "purchases up to day 3 is empty",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelInputError, match=message):
        call()


def test_expected_purchases_reproduce_the_published_example() -> None:
    """FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 is expected to buy 1.226 times in the next 39 weeks."""
    params = clv.BgNbdParams(0.243, 4.414, 0.793, 2.426, 0.0, 1)
    one = clv.RepeatSummary.of([2], [30.43], [38.86])
    assert clv.expected_purchases(params, one, 39)[0] == pytest.approx(1.226, abs=5e-4)


def test_cdnow_through_the_event_store_gives_the_same_fit(
    workspace: Workspace, tmp_path: Path
) -> None:
    """CDNOW imported as orders, read back by fetch_buyers: the same summary and estimates."""
    file, _ = write_orders_file(
        CDNOW / "CDNOW_sample.txt", tmp_path / "cdnow.parquet", workspace.settings.timezone
    )
    import_files(workspace, "orders", [file], timezone=workspace.settings.timezone)
    buyers = fetch_buyers(workspace.events().con, workspace.settings.tz, CALIBRATION_END)
    ids, summary, _, spend = read_cdnow_summary()
    order = np.argsort(ids)
    assert list(buyers.person_ids) == sorted(ids)
    np.testing.assert_allclose(buyers.purchases.summary.x, summary.x[order])
    np.testing.assert_allclose(buyers.purchases.summary.t_x, summary.t_x[order])
    np.testing.assert_allclose(buyers.purchases.summary.T, summary.T[order])
    np.testing.assert_allclose(buyers.purchases.mean_repeat_spend, spend[order])
    fit = clv.fit_bgnbd(buyers.purchases.summary)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_heavy_buyers_neither_overflow_nor_lose_their_expectation() -> None:
    """Thousands of repeats (daily buyers): finite answers, and the Euler form agrees with the direct one."""
    params = clv.BgNbdParams(0.243, 4.414, 0.793, 2.426, 0.0, 1)
    heavy = clv.RepeatSummary.of([2000, 500, 500, 0], [50, 1, 80, 0], [52, 80, 80, 30])
    alive = clv.p_alive(params, heavy)
    future = clv.expected_purchases(params, heavy, 52)
    assert np.isfinite(future).all() and ((alive >= 0) & (alive <= 1)).all()
    assert alive[1] < 1e-100 and future[1] < 1e-100  # 500 purchases in a week, then silence
    assert future[2] > 200  # 500 purchases spread over the whole year, still buying
    assert list(clv.expected_purchases(params, heavy, 0)) == [0, 0, 0, 0]
    # The direct formula (FHL eq. 10) for a moderate customer, where it does not overflow.
    r, al, a, b = 0.243, 4.414, 0.793, 2.426
    x, tx, T, t = 20.0, 30.0, 38.0, 39.0
    direct = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((al + T) / (al + T + t)) ** (r + x)
            * special.hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))
        )
    )
    direct /= 1 + a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)
    assert clv.expected_purchases(params, clv.RepeatSummary.of([x], [tx], [T]), t)[
        0
    ] == pytest.approx(direct, rel=1e-10)
