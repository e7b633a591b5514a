"""The "today" page (今日工作台) for an operator."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from growthloop.web.api.goals import today
from growthloop.web.api.today import day_of
from growthloop.web.context import CurrentProject
from growthloop.web.pages.campaigns import METRIC_KEYS, STAGE_KEYS
from growthloop.web.rendering import render
from growthloop.web.security import Viewer

router = APIRouter(include_in_schema=False)
SERIES_KEYS = {
    "visitors": "kpi.visitors",
    "orders": "kpi.orders",
    "gmv": "kpi.gmv",
    "events": "today.events",
}


@router.get("/today")
def today_page(
    principal: Viewer, request: Request, project: CurrentProject, day: date | None = None
) -> Response:
    """Own tasks due, campaigns running, recent anomalies."""
    found = day_of(request, principal, project, day or today(request), None)
    return render(
        request,
        "today.html",
        {
            "project": project,
            **found,
            "stage_keys": STAGE_KEYS,
            "metric_keys": METRIC_KEYS,
            "series_keys": SERIES_KEYS,
        },
    )
