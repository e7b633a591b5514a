"""Bayesian A/B comparison of conversion rates (Beta-Binomial): chance to win, credible intervals.

Each variant's rate has a Beta(prior_alpha + conversions, prior_beta + non-conversions)
posterior. The chance that the test's rate beats the control's is computed exactly (a finite sum,
Evan Miller's formula, which needs an integer prior alpha); intervals for the difference and the
relative lift come from seeded Monte Carlo draws, so the same input gives the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from growthloop.models.errors import BAD_PARAMETER, FloatArray, ModelInputError
from growthloop.models.experiments import Interval, SampleStats

DEFAULT_DRAWS = 200_000


@dataclass(frozen=True)
class BayesianComparison:
    """Posterior comparison of test against control."""

    chance_to_win: float
    control_interval: Interval
    test_interval: Interval
    difference_interval: Interval
    relative_interval: Interval
    credibility: float


def chance_to_beat(alpha_a: float, beta_a: float, alpha_b: int, beta_b: float) -> float:
    """P(p_B > p_A) for p_A ~ Beta(alpha_a, beta_a), p_B ~ Beta(alpha_b, beta_b); alpha_b an integer."""
    if alpha_b < 1 or int(alpha_b) != alpha_b or min(alpha_a, beta_a, beta_b) <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="Beta parameters",
                rule="positive, with an integer alpha for B",
                value=(alpha_a, beta_a, alpha_b, beta_b),
            )
        )
    i = np.arange(int(alpha_b), dtype=np.float64)
    log_terms = (
        special.betaln(alpha_a + i, beta_a + beta_b)
        - np.log(beta_b + i)
        - special.betaln(1 + i, beta_b)
        - special.betaln(alpha_a, beta_a)
    )
    return float(min(max(np.exp(special.logsumexp(log_terms)), 0.0), 1.0))


def beta_binomial(
    control: SampleStats,
    test: SampleStats,
    *,
    prior: tuple[int, float] = (1, 1.0),
    credibility: float = 0.95,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> BayesianComparison:
    """Chance to win and equal-tailed credible intervals for two conversion rates.

    `control` and `test` are conversion statistics (`SampleStats.of_conversions`); the prior is
    Beta(prior[0], prior[1]), uniform by default.
    """
    if not 0 < credibility < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(name="credibility", rule="in (0, 1)", value=credibility)
        )
    if draws < 1000:
        raise ModelInputError(BAD_PARAMETER.format(name="draws", rule="at least 1000", value=draws))
    for name, s in (("control", control), ("test", test)):
        if s.total != s.total_sq or not 0 <= s.total <= s.n:
            raise ModelInputError(
                BAD_PARAMETER.format(name=name, rule="conversion counts (0/1 per user)", value=s)
            )
    a0, b0 = prior
    ac, bc = a0 + control.total, b0 + control.n - control.total
    at, bt = a0 + test.total, b0 + test.n - test.total
    tail = (1 - credibility) / 2
    rng = np.random.default_rng(seed)
    pc = rng.beta(ac, bc, draws)
    pt = rng.beta(at, bt, draws)

    def interval(values: FloatArray) -> Interval:
        low, high = np.quantile(values, [tail, 1 - tail])
        return Interval(float(low), float(high))

    def beta_interval(a: float, b: float) -> Interval:
        return Interval(float(stats.beta.ppf(tail, a, b)), float(stats.beta.ppf(1 - tail, a, b)))

    return BayesianComparison(
        chance_to_beat(ac, bc, int(at), bt),
        beta_interval(ac, bc),
        beta_interval(at, bt),
        interval(pt - pc),
        interval(pt / pc - 1),
        credibility,
    )
