"""A/B test statistics, p-values and intervals against scipy.stats and statsmodels."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from statsmodels.stats import multitest, power, proportion
from statsmodels.stats._delta_method import NonlinearDeltaCov

from growthloop.ingest.files import import_files
from growthloop.models import experiment_bayes, experiment_design, experiments
from growthloop.models.errors import ModelInputError
from growthloop.models.experiment_adjusted import JointStats
from growthloop.models.experiment_report import analyse
from growthloop.models.experiment_sequential import sequential
from growthloop.models.experiments import SampleStats
from growthloop.models.experiments_data import (
    ExperimentSpec,
    fetch_experiment,
    fetch_experiment_assignments,
)
from growthloop.workspace import Workspace


def delta_method_ci(c: float, t: float, var_c: float, var_t: float, alpha: float) -> np.ndarray:
    """statsmodels' generic delta method for test / control - 1."""
    nl = NonlinearDeltaCov(
        lambda p: np.atleast_1d(p[1] / p[0] - 1), np.array([c, t]), np.diag([var_c, var_t])
    )
    return nl.conf_int(alpha=alpha)[0]


@pytest.mark.parametrize("seed", range(8))
def test_proportions_match_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nc, nt = rng.integers(50, 5000, 2)
    cc, ct = rng.binomial(nc, rng.uniform(0.02, 0.6)), rng.binomial(nt, rng.uniform(0.02, 0.6))
    alpha = [0.05, 0.1, 0.01][seed % 3]
    got = experiments.compare_proportions(
        SampleStats.of_conversions(nc, cc), SampleStats.of_conversions(nt, ct), alpha
    )
    z, p = proportion.proportions_ztest([ct, cc], [nt, nc])
    assert got.statistic == pytest.approx(z, rel=1e-10)
    assert got.p_value == pytest.approx(p, rel=1e-9)
    low, high = proportion.confint_proportions_2indep(
        ct, nt, cc, nc, method="wald", compare="diff", alpha=alpha
    )
    assert (got.absolute_ci.low, got.absolute_ci.high) == pytest.approx((low, high), rel=1e-10)
    pc, pt = cc / nc, ct / nt
    want = delta_method_ci(pc, pt, pc * (1 - pc) / nc, pt * (1 - pt) / nt, alpha)
    assert got.relative == pytest.approx(pt / pc - 1)
    assert got.relative_ci is not None
    assert (got.relative_ci.low, got.relative_ci.high) == pytest.approx(tuple(want), rel=1e-8)
    assert got.significant == (p < alpha)


@pytest.mark.parametrize("seed", range(8))
def test_welch_matches_scipy_and_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    control = rng.lognormal(3, rng.uniform(0.3, 1.5), rng.integers(3, 3000))
    test = rng.lognormal(3.1, rng.uniform(0.3, 1.5), rng.integers(3, 3000))
    alpha = [0.05, 0.1, 0.01][seed % 3]
    got = experiments.compare_means(
        SampleStats.of_values(control), SampleStats.of_values(test), alpha
    )
    ref = stats.ttest_ind(test, control, equal_var=False)
    assert got.statistic == pytest.approx(ref.statistic, rel=1e-8)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-7)
    assert got.df == pytest.approx(ref.df, rel=1e-8)
    ci = ref.confidence_interval(1 - alpha)
    assert (got.absolute_ci.low, got.absolute_ci.high) == pytest.approx((ci.low, ci.high), rel=1e-8)
    vc, vt = control.var(ddof=1) / len(control), test.var(ddof=1) / len(test)
    want = delta_method_ci(control.mean(), test.mean(), vc, vt, alpha)
    assert got.relative_ci is not None
    assert (got.relative_ci.low, got.relative_ci.high) == pytest.approx(tuple(want), rel=1e-7)


def test_sample_ratio_mismatch_matches_scipy_chisquare() -> None:
    for users, weights in [
        ([5012, 4988], None),
        ([5200, 4800], None),
        ([3300, 3350, 3350], None),
        ([2100, 7900], [1, 4]),
    ]:
        got = experiments.sample_ratio_check(users, weights)
        w = np.ones(len(users)) if weights is None else np.asarray(weights, float)
        ref = stats.chisquare(users, np.sum(users) * w / w.sum())
        assert got.chi2 == pytest.approx(ref.statistic)
        assert got.p_value == pytest.approx(ref.pvalue)
        assert got.mismatch == (ref.pvalue < 0.001)
    assert experiments.sample_ratio_check([5200, 4800]).mismatch  # p = 6.3e-5
    assert not experiments.sample_ratio_check([5012, 4988]).mismatch


@pytest.mark.parametrize("seed", range(5))
def test_holm_and_benjamini_hochberg_match_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 1, 12), rng.uniform(0, 0.01, 5), [0.02, 0.02]])
    rng.shuffle(p)
    np.testing.assert_allclose(experiments.holm(p), multitest.multipletests(p, method="holm")[1])
    np.testing.assert_allclose(
        experiments.benjamini_hochberg(p), multitest.multipletests(p, method="fdr_bh")[1]
    )


def test_bayesian_chance_to_win_and_intervals_match_integration() -> None:
    control, test = SampleStats.of_conversions(465, 309), SampleStats.of_conversions(460, 364)
    got = experiment_bayes.beta_binomial(control, test, seed=1)
    ac, bc, at, bt = 310, 157, 365, 97
    want = integrate.quad(
        lambda x: stats.beta.pdf(x, at, bt) * stats.beta.cdf(x, ac, bc),
        0,
        1,
        epsabs=1e-13,
        limit=200,
    )[0]
    assert got.chance_to_win == pytest.approx(want, abs=1e-9)
    assert (got.control_interval.low, got.control_interval.high) == pytest.approx(
        stats.beta.ppf([0.025, 0.975], ac, bc)
    )

    def diff_cdf(d: float) -> float:
        return integrate.quad(
            lambda x: stats.beta.pdf(x, ac, bc) * stats.beta.cdf(x + d, at, bt), 0, 1, limit=200
        )[0]

    low = optimize.brentq(lambda d: diff_cdf(d) - 0.025, -0.5, 0.5)
    high = optimize.brentq(lambda d: diff_cdf(d) - 0.975, -0.5, 0.5)
    assert (got.difference_interval.low, got.difference_interval.high) == pytest.approx(
        (low, high), abs=1e-3
    )
    # Same seed, same answer; a close race is near one half.
    assert experiment_bayes.beta_binomial(control, test, seed=1) == got
    even = experiment_bayes.beta_binomial(
        SampleStats.of_conversions(1000, 100), SampleStats.of_conversions(1000, 100)
    )
    assert even.chance_to_win == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    ("baseline", "effect", "ratio"),
    [(0.1, 0.01, 1.0), (0.665, 0.05, 1.0), (0.3, -0.03, 2.0), (0.02, 0.004, 0.5)],
)
def test_proportion_sample_size_matches_statsmodels(
    baseline: float, effect: float, ratio: float
) -> None:
    got = experiment_design.proportion_sample_size(baseline, effect, ratio=ratio, daily_users=500)
    want = proportion.samplesize_proportions_2indep_onetail(
        effect, baseline, 0.8, ratio=ratio, alpha=0.05
    )
    assert got.test_users == int(np.ceil(want))
    assert got.control_users == int(np.ceil(ratio * got.test_users))
    assert got.days == int(np.ceil(got.total_users / 500))


@pytest.mark.parametrize(("sd", "effect", "ratio"), [(50.0, 5.0, 1.0), (120.0, -8.0, 3.0)])
def test_mean_sample_size_matches_statsmodels(sd: float, effect: float, ratio: float) -> None:
    got = experiment_design.mean_sample_size(sd, effect, ratio=ratio, power=0.9, alpha=0.01)
    want = power.normal_sample_size_one_tail(
        abs(effect), 0.9, 0.005, std_null=sd * np.sqrt(1 + 1 / ratio)
    )
    assert got.test_users == int(np.ceil(want))
    both_tails = power.NormalIndPower().solve_power(
        effect_size=abs(effect) / sd, alpha=0.01, power=0.9, ratio=ratio
    )
    assert got.test_users == pytest.approx(both_tails, abs=1)
    assert got.days is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: experiments.sample_ratio_check([100]), "needs at least two variants, got 1"),
        (
            lambda: experiments.compare_proportions(
                SampleStats.of_conversions(10, 0), SampleStats.of_conversions(12, 0)
            ),
            "conversion has no variance",
        ),
        (
            lambda: experiments.compare_means(
                SampleStats.of_values([3, 3, 3]), SampleStats.of_values([3, 3])
            ),
            "has no variance",
        ),
        (
            lambda: experiments.compare_means(
                SampleStats.of_values([1]), SampleStats.of_values([3, 4])
            ),
            r"needs at least 2 users, got 1",
        ),
        (
            lambda: SampleStats.of_conversions(10, 11, "test"),
            r"test: conversions \(11\) must be between 0 and the users \(10\)",
        ),
        (lambda: SampleStats.of_values([]), "values is empty"),
        (lambda: experiments.holm([0.2, 1.5]), "p_values must be in"),
        (
            lambda: experiment_design.proportion_sample_size(0.95, 0.1),
            "rates strictly between 0 and 1",
        ),
        (lambda: experiment_design.mean_sample_size(0, 1), "positive standard deviation"),
        (
            lambda: experiment_bayes.beta_binomial(
                SampleStats.of_values([2.5, 1.0]), SampleStats.of_conversions(5, 1)
            ),
            "conversion counts",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelInputError, match=message):
        call()


def test_relative_lift_over_a_zero_control_is_left_out_with_a_note() -> None:
    got = experiments.compare_proportions(
        SampleStats.of_conversions(500, 0), SampleStats.of_conversions(500, 9)
    )
    assert got.relative is None and got.relative_ci is None
    assert got.notes == (experiments.RELATIVE_UNDEFINED,)
    assert got.p_value < 0.01


def test_fetch_experiment_matches_a_replay_of_the_events(
    workspace: Workspace, tmp_path: Path
) -> None:
    """First exposure decides the variant; outcomes count from it; users in two variants are left out."""
    rnd = random.Random(5)
    start = datetime(2026, 5, 1)
    rows: list[dict[str, object]] = []
    for i in range(300):
        user = f"u{i}"
        variants = ["control", "test"] if i % 50 == 0 else [rnd.choice(["control", "test"])]
        for k in range(rnd.randint(1, 3)):
            at = start + timedelta(hours=rnd.randrange(24 * 20))
            variant = variants[k % len(variants)]
            rows.append(
                {
                    "event": "experiment_exposure",
                    "distinct_id": user,
                    "timestamp": at,
                    "properties": {"experiment": "new_checkout", "variant": variant},
                }
            )
        if i % 7 == 0:  # another experiment, never counted
            rows.append(
                {
                    "event": "experiment_exposure",
                    "distinct_id": user,
                    "timestamp": start,
                    "properties": {"experiment": "other", "variant": "treatment"},
                }
            )
        for _ in range(rnd.randint(0, 3)):
            # to the second: the importer keeps one of two identical events
            at = start + timedelta(seconds=rnd.randrange(86400 * 25))
            rows.append(
                {
                    "event": "purchase",
                    "distinct_id": user,
                    "timestamp": at,
                    "revenue": rnd.randint(10, 500),
                    "properties": {},
                }
            )
    path = tmp_path / "events.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(dict(row, timestamp=row["timestamp"].isoformat() + "Z")) + "\n")
    import_files(workspace, "events", [path], timezone="UTC")

    exposures: dict[str, list[tuple[datetime, str]]] = {}
    for r in rows:
        if r["event"] == "experiment_exposure" and r["properties"]["experiment"] == "new_checkout":
            exposures.setdefault(str(r["distinct_id"]), []).append(
                (r["timestamp"], r["properties"]["variant"])
            )
    want: dict[str, list[float]] = {"control": [], "test": []}
    converted: dict[str, int] = {"control": 0, "test": 0}
    pre: dict[str, list[float]] = {"control": [], "test": []}
    mixed = 0
    for user, seen in exposures.items():
        if len({v for _, v in seen}) > 1:
            mixed += 1
            continue
        at, variant = min(seen)
        buys = [
            r
            for r in rows
            if r["event"] == "purchase" and r["distinct_id"] == user and r["timestamp"] >= at
        ]
        want[variant].append(float(sum(r["revenue"] for r in buys)))
        converted[variant] += bool(buys)
        before = [
            r["revenue"]
            for r in rows
            if r["event"] == "purchase"
            and r["distinct_id"] == user
            and at - timedelta(days=7) <= r["timestamp"] < at
        ]
        pre[variant].append(float(sum(before)))
    data = fetch_experiment(workspace.events().con, ExperimentSpec("new_checkout"))
    assert data.users_in_several_variants == mixed > 0
    for v in data.variants:
        assert v.conversion == SampleStats.of_conversions(
            len(want[v.variant]), converted[v.variant]
        )
        assert v.revenue == SampleStats.of_values(want[v.variant])
    assignments = [(user, v, at) for user, seen in exposures.items() for at, v in seen]
    assignments.append(("ghost", "control", start))  # assigned, never seen again
    by_table = fetch_experiment_assignments(
        workspace.events().con, ExperimentSpec("new_checkout"), assignments
    )
    assert by_table.users_in_several_variants == data.users_in_several_variants
    for v in by_table.variants:
        plain = data.variant(v.variant)
        extra = v.variant == "control"
        assert (
            v.conversion.n == plain.conversion.n + extra
            and v.conversion.total == plain.conversion.total
        )
        assert v.revenue.total == plain.revenue.total
    with pytest.raises(ModelInputError, match="needs at least 1 assignment for 'new_checkout'"):
        fetch_experiment_assignments(workspace.events().con, ExperimentSpec("new_checkout"), [])
    with_pre = fetch_experiment(workspace.events().con, ExperimentSpec("new_checkout"), pre_days=7)
    for v in with_pre.variants:
        assert v.revenue_with_pre_period == pytest.approx(
            JointStats.of_values(want[v.variant], pre[v.variant])
        )
        assert v.conversion == data.variant(v.variant).conversion
    cuped = analyse(with_pre)
    revenue = next(r for r in cuped.results if r.metric == "revenue_per_user")
    assert revenue.cuped_theta is not None
    report = analyse(data, correction="benjamini_hochberg")
    assert all(r.cuped_theta is None for r in report.results)
    for r in report.results:
        n = sum(v.conversion.n for v in data.variants)
        assert r.always_valid.interval.low < r.comparison.absolute_ci.low
        assert r.always_valid == sequential(
            r.comparison.absolute, r.comparison.standard_error**2, n
        )
    p = [r.comparison.p_value for r in report.results]
    np.testing.assert_allclose(
        [r.adjusted_p_value for r in report.results], multitest.multipletests(p, method="fdr_bh")[1]
    )
    with pytest.raises(ModelInputError, match="needs at least two variants, got only 'treatment'"):
        fetch_experiment(workspace.events().con, ExperimentSpec("other"))
    with pytest.raises(
        ModelInputError,
        match="needs at least 1 experiment_exposure event with experiment = 'missing'",
    ):
        fetch_experiment(workspace.events().con, ExperimentSpec("missing"))
    with pytest.raises(ModelInputError, match="variant 'baseline' has no exposed users"):
        analyse(
            fetch_experiment(
                workspace.events().con, ExperimentSpec("new_checkout", control="baseline")
            )
        )
