"""A/B tests (A/B测试) over the API: an experiment's statistics, the sample-size calculator."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from growthloop.models.errors import ModelInputError
from growthloop.models.experiment_design import mean_sample_size, proportion_sample_size
from growthloop.models.experiment_report import analyse
from growthloop.models.experiments_data import ExperimentSpec, _json_path, fetch_experiment
from growthloop.web.api.models_common import Store, model_errors, plain, store_of
from growthloop.web.context import CurrentProject
from growthloop.web.security import Viewer

router = APIRouter()

LIST_SQL = """
    SELECT json_extract_string(properties, ?) AS name, count(DISTINCT person_id) AS users,
           min(timestamp) AS first_exposure, max(timestamp) AS last_exposure
    FROM events WHERE event = ? AND json_extract_string(properties, ?) IS NOT NULL
    GROUP BY 1 ORDER BY 3 DESC, 1
"""


def experiment_names(
    store: Store,
    exposure_event: str = "experiment_exposure",
    experiment_property: str = "experiment",
) -> list[dict[str, Any]]:
    """The experiments seen in exposure events, latest first, with their exposed users."""
    path = _json_path(experiment_property)
    rows = store.cursor.execute(LIST_SQL, [path, exposure_event, path]).fetchall()
    return plain(  # type: ignore[no-any-return]
        [
            {"name": n, "users": u, "first_exposure": f, "last_exposure": last}
            for n, u, f, last in rows
        ]
    )


def experiment_result(
    store: Store,
    spec: ExperimentSpec,
    pre_days: int | None = None,
    alpha: float = 0.05,
    correction: Literal["holm", "benjamini_hochberg"] = "holm",
) -> dict[str, Any]:
    """Per variant users, conversions and revenue; every comparison; SRM; Bayesian; CUPED."""
    if not 0 < alpha < 1:
        raise ModelInputError(f"alpha must be in (0, 1), got {alpha}")
    data = fetch_experiment(store.cursor, spec, pre_days=pre_days)
    report = analyse(data, alpha=alpha, correction=correction)
    variants = [
        {
            "variant": v.variant,
            "users": v.conversion.n,
            "conversions": v.conversion.total,
            "conversion_rate": v.conversion.total / v.conversion.n if v.conversion.n else None,
            "revenue": v.revenue.total,
            "revenue_per_user": v.revenue.total / v.revenue.n if v.revenue.n else None,
        }
        for v in data.variants
    ]
    return plain(  # type: ignore[no-any-return]
        {
            "experiment": spec,
            "pre_days": pre_days,
            "alpha": alpha,
            "variants": variants,
            "users_in_several_variants": report.users_in_several_variants,
            "control": report.control,
            "sample_ratio": report.sample_ratio,
            "correction": report.correction,
            "results": report.results,
            "bayesian": report.bayesian,
        }
    )


@router.get("/experiments")
def list_experiments(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    exposure_event: str = Query(default="experiment_exposure", min_length=1, max_length=200),
    experiment_property: str = Query(default="experiment", min_length=1, max_length=200),
) -> list[dict[str, Any]]:
    """The experiments found in the exposure events."""
    with store_of(request, project) as store:
        return experiment_names(store, exposure_event, experiment_property)


@router.get("/experiments/sample-size")
def get_sample_size(
    principal: Viewer,
    effect: float = Query(description="Absolute: 0.02 = two points, or a difference of means."),
    baseline: float | None = Query(default=None, description="Conversion rate of control."),
    std_dev: float | None = Query(default=None, description="For a mean metric instead."),
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = Query(default=1.0, description="Control users per test user."),
    daily_users: float | None = Query(default=None, description="Users entering per day."),
) -> dict[str, Any]:
    """Users per variant (and days) to detect `effect` from `baseline` (or with `std_dev`)."""
    with model_errors():
        if (baseline is None) == (std_dev is None):
            raise ModelInputError(
                "give either baseline (a conversion rate) or std_dev (a mean metric)"
            )
        if baseline is not None:
            size = proportion_sample_size(
                baseline, effect, alpha=alpha, power=power, ratio=ratio, daily_users=daily_users
            )
        else:
            assert std_dev is not None
            size = mean_sample_size(
                std_dev, effect, alpha=alpha, power=power, ratio=ratio, daily_users=daily_users
            )
    return plain(size)  # type: ignore[no-any-return]


@router.get("/experiments/{name}")
def get_experiment(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    name: str,
    exposure_event: str = Query(default="experiment_exposure", min_length=1, max_length=200),
    experiment_property: str = Query(default="experiment", min_length=1, max_length=200),
    variant_property: str = Query(default="variant", min_length=1, max_length=200),
    conversion_event: str = Query(default="purchase", min_length=1, max_length=200),
    control: str = Query(default="control", min_length=1, max_length=200),
    pre_days: int | None = Query(default=None, ge=1, le=365, description="CUPED pre-period."),
    alpha: float = 0.05,
    correction: Literal["holm", "benjamini_hochberg"] = "holm",
) -> dict[str, Any]:
    """All statistics of one experiment (exposure event + variant property)."""
    spec = ExperimentSpec(
        name, exposure_event, experiment_property, variant_property, conversion_event, control
    )
    with store_of(request, project) as store:
        return experiment_result(store, spec, pre_days, alpha, correction)
