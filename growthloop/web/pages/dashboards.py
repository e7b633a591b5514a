"""Dashboard pages: list and create, view with every pinned insight, share, arrange, unpin."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.analytics.saved_segments_query import WorkspaceSegments
from growthloop.i18n import translator
from growthloop.store.metadata import Dashboard
from growthloop.web import saved
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import RunContext, read_cursor, run_insight
from growthloop.web.overview_cache import cached_overview
from growthloop.web.rendering import formatter_for, render, script_json
from growthloop.web.security import Operator, Principal, Viewer, workspace_of

router = APIRouter(include_in_schema=False)


def _back(project: ProjectRef, dashboard_id: int | None = None) -> RedirectResponse:
    path = f"/dashboards/{dashboard_id}" if dashboard_id else "/dashboards"
    return RedirectResponse(f"{path}?project={project.slug}", status_code=303)


def _editable(
    request: Request, project: ProjectRef, principal: Principal, dashboard_id: int
) -> Dashboard:
    try:
        return saved.editable_dashboard(
            workspace_of(request), project.id, dashboard_id, principal.account
        )
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except saved.NotOwner as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/dashboards")
def dashboards_page(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """Your dashboards and the ones shared in the project."""
    ws = workspace_of(request)
    boards = saved.visible_dashboards(ws, project.id, principal.account)
    counts = {b.id: len(saved.dashboard_items(ws, b)) for b in boards}
    return render(
        request, "dashboards.html", {"project": project, "boards": boards, "counts": counts}
    )


@router.post("/dashboards")
def create_dashboard(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    shared: Annotated[bool, Form()] = False,
) -> Response:
    """Create a dashboard and open it."""
    board = saved.create_dashboard(
        workspace_of(request), project.id, principal.account, name, shared
    )
    return _back(project, board.id)


@router.get("/dashboards/{dashboard_id}")
def dashboard_page(
    principal: Viewer, request: Request, project: CurrentProject, dashboard_id: int
) -> Response:
    """A dashboard with each pinned insight run for the current data."""
    ws = workspace_of(request)
    try:
        board = saved.get_dashboard(ws, project.id, dashboard_id, principal.account)
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    locale = request.state.locale
    items = []
    with read_cursor(project.store) as cursor:
        ctx = RunContext(
            cursor,
            ws.settings.tz,
            translator(locale),
            formatter_for(request),
            partial(cached_overview, request, project.store, cursor),
            saved=WorkspaceSegments(ws, project.id, datetime.now(UTC).replace(tzinfo=None)),
        )
        for item, insight in saved.dashboard_items(ws, board):
            card = run_insight(insight.spec, ctx)
            figure = script_json(card.figure) if card.figure else None
            analysis = script_json(card.analysis) if card.analysis else None
            items.append(
                {
                    "item": item,
                    "insight": insight,
                    "card": card,
                    "figure": figure,
                    "analysis": analysis,
                }
            )
    editable = principal.account.id == board.owner_id or principal.account.role.name == "admin"
    return render(
        request,
        "dashboard.html",
        {"project": project, "board": board, "items": items, "editable": editable},
    )


@router.post("/dashboards/{dashboard_id}/share")
def share(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    dashboard_id: int,
    shared: Annotated[bool, Form()] = False,
) -> Response:
    """Share the dashboard with the project, or make it private again."""
    board = _editable(request, project, principal, dashboard_id)
    saved.update_dashboard(workspace_of(request), board, shared=shared)
    return _back(project, dashboard_id)


@router.post("/dashboards/{dashboard_id}/items/{item_id}/move")
def move_item(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    dashboard_id: int,
    item_id: int,
    delta: Annotated[int, Form(ge=-100, le=100)],
) -> Response:
    """Move an item earlier (negative delta) or later."""
    board = _editable(request, project, principal, dashboard_id)
    try:
        saved.move(workspace_of(request), board, item_id, delta)
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return _back(project, dashboard_id)


@router.post("/dashboards/{dashboard_id}/items/{item_id}/remove")
def remove_item(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    dashboard_id: int,
    item_id: int,
) -> Response:
    """Unpin an item (the saved insight stays)."""
    board = _editable(request, project, principal, dashboard_id)
    try:
        saved.unpin(workspace_of(request), board, item_id)
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return _back(project, dashboard_id)


@router.post("/dashboards/{dashboard_id}/items/{item_id}/width")
def resize_item(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    dashboard_id: int,
    item_id: int,
    width: Annotated[int, Form(ge=1, le=4)],
) -> Response:
    """Set an item's width in grid columns (1 to 4)."""
    board = _editable(request, project, principal, dashboard_id)
    ws = workspace_of(request)
    layout = [
        (i.id, width if i.id == item_id else i.width) for i, _ in saved.dashboard_items(ws, board)
    ]
    if item_id not in [i for i, _ in layout]:
        raise HTTPException(404, f"item_id: no item {item_id} on dashboard {dashboard_id}")
    saved.arrange(ws, board, layout)
    return _back(project, dashboard_id)
