"""One experiment's full read-out: sample ratio check, every metric x variant, corrected p-values.

Pure: takes the per-variant statistics (`ExperimentData`) and returns the results; the page,
the API and the reports present them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from growthloop.models import experiment_bayes, experiments
from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.models.experiment_adjusted import compare_cuped
from growthloop.models.experiment_sequential import SequentialResult, sequential
from growthloop.models.experiments_data import ExperimentData

Correction = Literal["holm", "benjamini_hochberg"]
CORRECTIONS = {"holm": experiments.holm, "benjamini_hochberg": experiments.benjamini_hochberg}


@dataclass(frozen=True)
class MetricResult:
    """One metric for one variant against control, with its p-value after the correction."""

    metric: str
    variant: str
    comparison: experiments.Comparison
    adjusted_p_value: float
    significant: bool
    always_valid: SequentialResult
    """The confidence sequence for the difference: valid however often the test is read."""
    cuped_theta: float | None = None


@dataclass(frozen=True)
class ExperimentReport:
    control: str
    sample_ratio: experiments.SampleRatioCheck
    results: tuple[MetricResult, ...]
    bayesian: dict[str, experiment_bayes.BayesianComparison]
    correction: Correction
    users_in_several_variants: int


def analyse(
    data: ExperimentData,
    *,
    alpha: float = 0.05,
    correction: Correction = "holm",
    weights: dict[str, float] | None = None,
    seed: int = 0,
) -> ExperimentReport:
    """Conversion (z-test) and revenue per user (Welch) for each variant against control.

    The correction (Holm by default, or Benjamini-Hochberg) runs over all metric x variant
    comparisons; `weights` is the planned split for the sample ratio check (equal by default).
    Revenue uses CUPED when the data carry a pre-period covariate; every result also has its
    always-valid confidence sequence.
    """
    if correction not in CORRECTIONS:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="correction", rule=f"one of {list(CORRECTIONS)}", value=correction
            )
        )
    control = data.variant(data.spec.control)
    others = [v for v in data.variants if v.variant != control.variant]
    planned = None
    if weights is not None:
        missing = [v.variant for v in data.variants if v.variant not in weights]
        if missing:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="weights", rule="a weight for every variant", value=f"none for {missing}"
                )
            )
        planned = [weights[v.variant] for v in data.variants]
    srm = experiments.sample_ratio_check([v.conversion.n for v in data.variants], planned)
    raw: list[tuple[str, str, experiments.Comparison, float | None]] = []
    bayesian = {}
    for v in others:
        conversion = experiments.compare_proportions(control.conversion, v.conversion, alpha)
        raw.append(("conversion", v.variant, conversion, None))
        pre_c, pre_t = control.revenue_with_pre_period, v.revenue_with_pre_period
        if pre_c is not None and pre_t is not None:
            revenue, theta = compare_cuped(pre_c, pre_t, alpha, "revenue per user")
            raw.append(("revenue_per_user", v.variant, revenue, theta))
        else:
            revenue = experiments.compare_means(
                control.revenue, v.revenue, alpha, "revenue per user"
            )
            raw.append(("revenue_per_user", v.variant, revenue, None))
        bayesian[v.variant] = experiment_bayes.beta_binomial(
            control.conversion, v.conversion, seed=seed
        )
    users = {v.variant: v.conversion.n for v in data.variants}
    adjusted = CORRECTIONS[correction]([c.p_value for _, _, c, _ in raw])
    results = tuple(
        MetricResult(
            metric,
            variant,
            c,
            float(p),
            bool(p < alpha),
            sequential(
                c.absolute, c.standard_error**2, users[control.variant] + users[variant], alpha
            ),
            theta,
        )
        for (metric, variant, c, theta), p in zip(raw, adjusted, strict=True)
    )
    return ExperimentReport(
        control.variant, srm, results, bayesian, correction, data.users_in_several_variants
    )
