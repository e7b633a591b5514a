"""Goal tree pages (目标拆解): the trees with actual vs target, and forms to build them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.analytics.kpis import KPI_NAMES
from growthloop.ops import goals
from growthloop.ops.targets import TargetError, period_containing
from growthloop.web.api.errors import http_errors
from growthloop.web.api.goals import goal_tree, today
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)


def _back(project: ProjectRef) -> RedirectResponse:
    return RedirectResponse(f"/goals?project={project.slug}", status_code=303)


def page_errors() -> AbstractContextManager[None]:
    """Ops errors as error pages: 404 unknown; a conflict or bad value as 422 with the message."""
    return http_errors(unprocessable=(TargetError,), conflict_status=422)


@router.get("/goals")
def goals_page(
    principal: Viewer, request: Request, project: CurrentProject, as_of: date | None = None
) -> Response:
    """Every goal tree with actual, target, pace and forecast of each node."""
    day = as_of or today(request)
    with page_errors():
        trees = goal_tree(request, project, day)
    return render(
        request,
        "goals.html",
        {
            "project": project,
            "trees": trees,
            "as_of": day,
            "kpis": KPI_NAMES,
            "default_start": period_containing("quarter", day).start,
        },
    )


@router.post("/goals")
def create_goal(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    period_kind: Annotated[str, Form()],
    period_start: Annotated[date, Form()],
    kpi: Annotated[str, Form()],
    target: Annotated[float | None, Form()] = None,
) -> Response:
    """A new goal tree bound to an overview KPI."""
    values = {
        "name": name,
        "period_kind": period_kind,
        "period_start": period_start,
        "metric": {"kind": "kpi", "name": kpi},
        "target": target,
    }
    with page_errors():
        goals.create_goal(workspace_of(request), project.id, principal.account, values)
    return _back(project)


@router.post("/goals/{goal_id}/target")
def set_target(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    goal_id: int,
    version: Annotated[int, Form()],
    target: Annotated[float | None, Form()] = None,
) -> Response:
    """Enter a node's target (empty: derive it from its parent and siblings)."""
    with page_errors():
        goals.update_goal(
            workspace_of(request),
            project.id,
            principal.account,
            goal_id,
            version,
            {"target": target},
        )
    return _back(project)


@router.post("/goals/{goal_id}/decompose")
def decompose(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    goal_id: int,
    channels: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """GMV = visitors x conversion rate x AOV; with channels, new users split by channel."""
    ws = workspace_of(request)
    names = [c.strip() for c in channels.replace("，", ",").split(",") if c.strip()]
    with page_errors():
        if names:
            goals.decompose_channels(ws, project.id, principal.account, goal_id, names)
        else:
            goals.decompose_gmv(ws, project.id, principal.account, goal_id)
    return _back(project)


@router.post("/goals/{goal_id}/split")
def split(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    goal_id: int,
    by: Annotated[str, Form(pattern="^(days|last_year)$")] = "days",
) -> Response:
    """Split a quarterly target over its months, by days or by last year's shape."""
    ws = workspace_of(request)
    with page_errors():
        weights = None
        if by == "last_year":
            goal = goals.get_goal(ws, project.id, goal_id)
            with read_cursor(project.store) as cursor:
                weights = goals.last_year_shape(cursor, goal, ws.settings.tz, ws.settings.currency)
        goals.split_into_months(ws, project.id, principal.account, goal_id, weights)
    return _back(project)


@router.post("/goals/{goal_id}/delete")
def delete(
    principal: Operator, request: Request, project: CurrentProject, goal_id: int
) -> Response:
    """Delete a node and everything under it."""
    with page_errors():
        goals.delete_goal(workspace_of(request), project.id, principal.account, goal_id)
    return _back(project)
