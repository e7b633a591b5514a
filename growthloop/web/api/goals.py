"""Goal trees (目标拆解): nodes bound to analytics metrics, with live actual, pace and forecast."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from growthloop.ops import audit, goals
from growthloop.ops.targets import TargetError
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/goals", tags=["goals"])

AsOf = Query(
    default=None, description="Measure up to this day (default: today, project time zone)."
)


class GoalIn(BaseModel):
    """A goal node; without parent_id it is the root of a new tree."""

    name: str = Field(min_length=1, max_length=200)
    period_kind: Literal["quarter", "month", "week"]
    period_start: date = Field(description="First day: Jan/Apr/Jul/Oct 1, a month's 1st, a Monday.")
    metric: dict[str, Any] | None = Field(
        default=None,
        description='{"kind": "kpi", "name": "gmv"} or {"kind": "trends", "spec": {...}}.',
    )
    combine: Literal["product", "sum"] | None = None
    target: float | None = None
    parent_id: int | None = None


class GoalChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    metric: dict[str, Any] | None = None
    combine: Literal["product", "sum"] | None = None
    target: float | None = None


class DecomposeIn(BaseModel):
    """Which decomposition to create under the node."""

    template: Literal["gmv", "channels"] = Field(
        default="gmv",
        description="gmv: visitors x conversion x AOV; channels: new users by signup channel.",
    )
    channels: list[str] = Field(
        default_factory=list, max_length=30, description="For channels: the channel names."
    )


class SplitIn(BaseModel):
    """How to split a quarterly target over its months."""

    by: Literal["days", "last_year"] = "days"


def today(request: Request) -> date:
    """Today in the project time zone."""
    return datetime.now(workspace_of(request).settings.tz).date()


def errors() -> AbstractContextManager[None]:
    """Ops errors as HTTP answers: 404 unknown, 409 version conflict, 422 bad value."""
    return http_errors(unprocessable=(TargetError,))


def goal_out(goal: Any) -> dict[str, Any]:
    """A goal node's stored fields."""
    return {
        "id": goal.id,
        "parent_id": goal.parent_id,
        "name": goal.name,
        "period_kind": goal.period_kind,
        "period_start": goal.period_start.isoformat(),
        "period_end": goal.period_end.isoformat(),
        "metric": goal.metric,
        "combine": goal.combine,
        "target": goal.target,
        "target_source": goal.target_source,
        "version": goal.version,
    }


def node_out(node: goals.Node) -> dict[str, Any]:
    """A node with its live progress and children."""
    p = node.progress
    return {
        **goal_out(node.goal),
        "target": node.target,
        "target_source": node.target_source,
        "actual": p.actual,
        "expected_to_date": p.expected_to_date,
        "pace": p.pace,
        "forecast": p.forecast,
        "achieved": p.achieved,
        "on_track": p.on_track,
        "elapsed_days": p.elapsed_days,
        "total_days": p.total_days,
        "children": [node_out(c) for c in node.children],
    }


def goal_tree(request: Request, project: ProjectRef, as_of: date) -> list[goals.Node]:
    """The project's goal trees measured up to `as_of`."""
    ws = workspace_of(request)
    nodes = goals.list_goals(ws, project.id)
    with read_cursor(project.store) as cursor:
        return goals.evaluate_tree(nodes, cursor, as_of, ws.settings.tz, ws.settings.currency)


@router.get("")
def goal_trees(
    principal: Viewer, request: Request, project: CurrentProject, as_of: date | None = AsOf
) -> list[dict[str, Any]]:
    """Every goal tree of the project with actual, pace and forecast of each node."""
    with errors():
        return [node_out(n) for n in goal_tree(request, project, as_of or today(request))]


@router.post("", status_code=201)
def create_goal(
    principal: Operator, request: Request, project: CurrentProject, body: GoalIn
) -> dict[str, Any]:
    """A new goal node (a tree root without parent_id)."""
    with errors():
        goal = goals.create_goal(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return goal_out(goal)


@router.get("/{goal_id}")
def get_goal(
    principal: Viewer, request: Request, project: CurrentProject, goal_id: int
) -> dict[str, Any]:
    """One goal node's stored fields."""
    with errors():
        return goal_out(goals.get_goal(workspace_of(request), project.id, goal_id))


@router.patch("/{goal_id}")
def change_goal(
    principal: Operator, request: Request, project: CurrentProject, goal_id: int, body: GoalChange
) -> dict[str, Any]:
    """Change a node; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        goal = goals.update_goal(
            workspace_of(request), project.id, principal.account, goal_id, body.version, updates
        )
    return goal_out(goal)


@router.delete("/{goal_id}", status_code=204)
def delete_goal(
    principal: Operator, request: Request, project: CurrentProject, goal_id: int
) -> None:
    """Delete a node and everything under it."""
    with errors():
        goals.delete_goal(workspace_of(request), project.id, principal.account, goal_id)


@router.post("/{goal_id}/decompose", status_code=201)
def decompose(
    principal: Operator, request: Request, project: CurrentProject, goal_id: int, body: DecomposeIn
) -> list[dict[str, Any]]:
    """Create the template's children: GMV = visitors x conversion rate x AOV, or new users
    as the sum of their signup channels."""
    ws = workspace_of(request)
    with errors():
        if body.template == "channels":
            children = goals.decompose_channels(
                ws, project.id, principal.account, goal_id, body.channels
            )
        else:
            children = goals.decompose_gmv(ws, project.id, principal.account, goal_id)
    return [goal_out(c) for c in children]


@router.post("/{goal_id}/split", status_code=201)
def split(
    principal: Operator, request: Request, project: CurrentProject, goal_id: int, body: SplitIn
) -> list[dict[str, Any]]:
    """Month children of a quarterly node, its target split by days or by last year's shape."""
    ws = workspace_of(request)
    with errors():
        weights = None
        if body.by == "last_year":
            goal = goals.get_goal(ws, project.id, goal_id)
            with read_cursor(project.store) as cursor:
                weights = goals.last_year_shape(cursor, goal, ws.settings.tz, ws.settings.currency)
        children = goals.split_into_months(ws, project.id, principal.account, goal_id, weights)
    return [goal_out(c) for c in children]


@router.get("/{goal_id}/history")
def goal_history(
    principal: Viewer, request: Request, project: CurrentProject, goal_id: int
) -> list[dict[str, Any]]:
    """Who changed the node, when, and what (oldest first)."""
    ws = workspace_of(request)
    return [audit.entry_out(e) for e in audit.history(ws, project.id, goals.OBJECT, goal_id)]
