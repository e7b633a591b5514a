"""GET /api/overview: the overview KPIs, channels and daily values for a period."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from growthloop.web.context import CurrentProject
from growthloop.web.insights import read_cursor
from growthloop.web.overview_cache import cached_overview
from growthloop.web.overview_view import PeriodError, overview_json, resolve_period
from growthloop.web.security import Viewer, workspace_of

router = APIRouter(prefix="/api", tags=["overview"])


@router.get("/overview")
def overview(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    days: Annotated[
        int | None, Query(description="Period length ending on the last day with data.")
    ] = None,
    start: Annotated[str | None, Query(description="First day, YYYY-MM-DD (with end).")] = None,
    end: Annotated[str | None, Query(description="Last day, YYYY-MM-DD (with start).")] = None,
) -> dict[str, Any]:
    """KPIs with change against the previous period, sessions by channel, daily values."""
    settings = workspace_of(request).settings
    with read_cursor(project.store) as cursor:
        try:
            period = resolve_period(cursor, settings.tz, days, start, end)
        except PeriodError as exc:
            raise HTTPException(422, str(exc)) from None
        result = cached_overview(request, project.store, cursor, period)
    return {"project": project.slug, **overview_json(result)}
