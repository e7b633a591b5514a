"""Dashboards: ordered insights, private to their owner until shared within the project."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from growthloop.store.metadata import Dashboard
from growthloop.web import saved
from growthloop.web.context import CurrentProject
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/dashboards", tags=["dashboards"])


class DashboardIn(BaseModel):
    """A dashboard to create."""

    name: str = Field(min_length=1, max_length=200)
    shared: bool = False


class DashboardChange(BaseModel):
    """Fields to change; absent fields stay."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    shared: bool | None = None


class PinIn(BaseModel):
    """An insight to pin, and its width in grid columns."""

    insight_id: int
    width: int = Field(default=1, ge=1, le=4)


class LayoutItem(BaseModel):
    """One item's place in a new layout."""

    id: int
    width: int = Field(default=1, ge=1, le=4)


class LayoutIn(BaseModel):
    """A complete new layout."""

    items: list[LayoutItem] = Field(description="Every item of the dashboard, in display order.")


def dashboard_out(request: Request, board: Dashboard) -> dict[str, Any]:
    """A dashboard with its items in display order."""
    items = saved.dashboard_items(workspace_of(request), board)
    return {
        "id": board.id,
        "name": board.name,
        "shared": board.shared,
        "owner_id": board.owner_id,
        "items": [
            {
                "id": item.id,
                "insight_id": insight.id,
                "name": insight.name,
                "spec": insight.spec,
                "position": item.position,
                "width": item.width,
            }
            for item, insight in items
        ],
    }


def _editable(
    principal: Operator, request: Request, project: CurrentProject, dashboard_id: int
) -> Dashboard:
    try:
        return saved.editable_dashboard(
            workspace_of(request), project.id, dashboard_id, principal.account
        )
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except saved.NotOwner as exc:
        raise HTTPException(403, str(exc)) from None


Editable = Annotated[Dashboard, Depends(_editable)]


@router.get("")
def dashboards(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """Dashboards you own or that are shared in the project."""
    ws = workspace_of(request)
    return [
        dashboard_out(request, b)
        for b in saved.visible_dashboards(ws, project.id, principal.account)
    ]


@router.post("", status_code=201)
def create_dashboard(
    principal: Operator, request: Request, project: CurrentProject, body: DashboardIn
) -> dict[str, Any]:
    """A new, empty dashboard."""
    board = saved.create_dashboard(
        workspace_of(request), project.id, principal.account, body.name, body.shared
    )
    return dashboard_out(request, board)


@router.get("/{dashboard_id}")
def get_dashboard(
    principal: Viewer, request: Request, project: CurrentProject, dashboard_id: int
) -> dict[str, Any]:
    """One dashboard with its items in order."""
    try:
        board = saved.get_dashboard(
            workspace_of(request), project.id, dashboard_id, principal.account
        )
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return dashboard_out(request, board)


@router.patch("/{dashboard_id}")
def change_dashboard(
    principal: Operator, request: Request, board: Editable, body: DashboardChange
) -> dict[str, Any]:
    """Rename, share or unshare."""
    updated = saved.update_dashboard(workspace_of(request), board, body.name, body.shared)
    return dashboard_out(request, updated)


@router.delete("/{dashboard_id}", status_code=204)
def delete_dashboard(principal: Operator, request: Request, board: Editable) -> None:
    """Delete a dashboard (its insights stay)."""
    saved.delete_dashboard(workspace_of(request), board)


@router.post("/{dashboard_id}/items", status_code=201)
def pin_insight(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    board: Editable,
    body: PinIn,
) -> dict[str, Any]:
    """Pin a saved insight at the end of the dashboard."""
    ws = workspace_of(request)
    try:
        insight = saved.get_insight(ws, project.id, body.insight_id)
        saved.pin(ws, board, insight, body.width)
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return dashboard_out(request, board)


@router.put("/{dashboard_id}/layout")
def arrange(
    principal: Operator, request: Request, board: Editable, body: LayoutIn
) -> dict[str, Any]:
    """Reorder and resize: list every item in the new order with its width."""
    try:
        saved.arrange(workspace_of(request), board, [(i.id, i.width) for i in body.items])
    except saved.NotFound as exc:
        raise HTTPException(422, str(exc)) from None
    return dashboard_out(request, board)


@router.delete("/{dashboard_id}/items/{item_id}", status_code=204)
def unpin(principal: Operator, request: Request, board: Editable, item_id: int) -> None:
    """Remove an item from the dashboard."""
    try:
        saved.unpin(workspace_of(request), board, item_id)
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
