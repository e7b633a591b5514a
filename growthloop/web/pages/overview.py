"""The overview dashboard page (运营概览), and saving one of its cards as an insight."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from growthloop.i18n import translator
from growthloop.web import saved
from growthloop.web.context import CurrentProject
from growthloop.web.insights import read_cursor
from growthloop.web.overview_cache import cached_overview
from growthloop.web.overview_view import (
    PERIOD_DAYS,
    PeriodError,
    channel_figure,
    kpi_card,
    resolve_period,
    trend_figure,
)
from growthloop.web.rendering import formatter_for, render, script_json
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)


@router.get("/")
def overview_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    days: Annotated[int | None, Query()] = None,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
) -> Response:
    """KPI cards with change and sparkline, daily trend, traffic by channel."""
    ws = workspace_of(request)
    t = translator(request.state.locale)
    fmt = formatter_for(request)
    with read_cursor(project.store) as cursor:
        try:
            period = resolve_period(cursor, ws.settings.tz, days, start, end)
        except PeriodError as exc:
            raise HTTPException(422, str(exc)) from None
        result = cached_overview(request, project.store, cursor, period)
    trend = trend_figure(result, t, fmt)
    channels = channel_figure(result, t)
    boards = saved.visible_dashboards(ws, project.id, principal.account)
    return render(
        request,
        "overview.html",
        {
            "project": project,
            "overview": result,
            "cards": [kpi_card(k, t, fmt) for k in result.kpis],
            "trend_json": script_json(trend) if trend else None,
            "channels_json": script_json(channels) if channels else None,
            "channel_rows": result.channels,
            "period_days": PERIOD_DAYS,
            "days": period.days,
            "dashboards": [b for b in boards if b.owner_id == principal.account.id],
        },
    )


@router.post("/insights")
def save_card(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    choice: Annotated[str, Form(description="kpi:<metric>, trend or channels")],
    days: Annotated[int, Form()],
    dashboard_id: Annotated[str, Form()] = "",
) -> Response:
    """Save an overview card as an insight and, when a dashboard is chosen, pin it there."""
    ws = workspace_of(request)
    kind, _, metric = choice.partition(":")
    spec: dict[str, object] = {"kind": kind, "days": days}
    if metric:
        spec["metric"] = metric
    board_id = int(dashboard_id) if dashboard_id.isdigit() else None
    try:
        insight = saved.save_insight(ws, project.id, principal.account, name, spec)
        if board_id is not None:
            board = saved.editable_dashboard(ws, project.id, board_id, principal.account)
            saved.pin(ws, board, insight, 1 if kind == "kpi" else 2)
    except ValidationError as exc:
        raise HTTPException(422, f"spec: {exc.errors()[0]['msg']}") from None
    except (saved.NotFound, saved.NotOwner) as exc:
        raise HTTPException(404, str(exc)) from None
    target = f"/dashboards/{board_id}" if board_id is not None else "/dashboards"
    return RedirectResponse(f"{target}?project={project.slug}", status_code=303)
