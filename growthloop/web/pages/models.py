"""Growth model pages (增长模型): the index at /models and one page per model.

The pages live in sub-routers by area (models_customers, models_channels, models_signals,
models_alerts); each renders the same numbers as its /api/models endpoint.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from growthloop.web.context import CurrentProject
from growthloop.web.pages import (
    models_alerts,
    models_channels,
    models_customers,
    models_signals,
)
from growthloop.web.pages.models_view import Page
from growthloop.web.rendering import render
from growthloop.web.security import Viewer

router = APIRouter(include_in_schema=False)
router.include_router(models_customers.router)
router.include_router(models_channels.router)
router.include_router(models_signals.router)
router.include_router(models_alerts.router)


@router.get("/models")
def models_index(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """The list of growth models with what each answers."""
    t = Page(request).t
    entries = [
        ("rfm", t("models.rfm"), t("models.rfm_intro")),
        ("clv", t("models.clv_title"), t("models.clv_intro")),
        ("channel-roi", t("models.roi_title"), t("models.roi_intro")),
        ("attribution", t("models.attribution_title"), t("models.attribution_intro")),
        ("budget-mix", t("models.budget_title"), t("models.budget_intro")),
        ("experiments", t("models.ab_title"), t("models.ab_intro")),
        ("anomalies", t("models.anomalies_title"), t("models.anomalies_intro")),
        ("content", t("models.content_title"), t("models.content_intro")),
        ("pacing", t("models.pacing_title"), t("models.pacing_intro")),
        ("alerts", t("models.alerts_title"), t("models.alerts_intro")),
    ]
    return render(request, "models.html", {"project": project, "entries": entries})
