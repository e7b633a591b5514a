"""Monthly operations plans (月度运营规划表): strategies, action items, XLSX export and import."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from growthloop.ops import audit, plans, research
from growthloop.ops.models import PlanAction, PlanStrategy, ResearchNote
from growthloop.ops.plan_xlsx import PlanImportError, export_plan, import_plan
from growthloop.web.api.goals import errors, today
from growthloop.web.context import CurrentProject
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/plans", tags=["plans"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Status = Literal["todo", "doing", "done", "blocked"]
MonthQuery = Query(
    default=None, pattern=r"^\d{4}-\d{2}$", description="2026-11; default: this month."
)


class StrategyIn(BaseModel):
    """A strategy direction of a month's plan."""

    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="2026-11")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class StrategyChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)


class ActionIn(BaseModel):
    """An action item: what, who, by when, and what it serves."""

    title: str = Field(min_length=1, max_length=300)
    owner: str = Field(default="", max_length=100)
    due: date | None = None
    status: Status = "todo"
    goal_id: int | None = None
    campaign_id: int | None = None
    content_ref: str = Field(default="", max_length=200)


class ActionChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    title: str | None = Field(default=None, min_length=1, max_length=300)
    owner: str | None = Field(default=None, max_length=100)
    due: date | None = None
    status: Status | None = None
    goal_id: int | None = None
    campaign_id: int | None = None
    content_ref: str | None = Field(default=None, max_length=200)


class NoteIn(BaseModel):
    """A research note: a user-survey finding or a competitor analysis."""

    kind: Literal["survey", "competitor"]
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    strategy_id: int | None = None


class NoteChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=20000)
    tags: list[str] | None = Field(default=None, max_length=20)
    strategy_id: int | None = None


def note_out(note: ResearchNote) -> dict[str, Any]:
    """A note's fields."""
    return {
        "id": note.id,
        **{f: getattr(note, f) for f in research.FIELDS},
        "created_at": note.created_at.isoformat(),
        "version": note.version,
    }


def month_of(request: Request, month: str | None) -> date:
    """The first day of ?month= (default: this month in the project time zone)."""
    if month is None:
        return today(request).replace(day=1)
    try:
        return datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise HTTPException(422, f"month: {month!r} is not a month like 2026-11") from None


def strategy_out(st: PlanStrategy) -> dict[str, Any]:
    """A strategy's fields."""
    return {
        "id": st.id,
        "month": f"{st.month:%Y-%m}",
        "title": st.title,
        "description": st.description,
        "version": st.version,
    }


def action_out(action: PlanAction, day: date) -> dict[str, Any]:
    """An action's fields, with whether it is overdue on `day`."""
    return {
        "id": action.id,
        "strategy_id": action.strategy_id,
        "title": action.title,
        "owner": action.owner,
        "due": action.due.isoformat() if action.due else None,
        "status": action.status,
        "goal_id": action.goal_id,
        "campaign_id": action.campaign_id,
        "content_ref": action.content_ref,
        "overdue": plans.is_overdue(action, day),
        "version": action.version,
    }


@router.get("")
def plan(
    principal: Viewer, request: Request, project: CurrentProject, month: str | None = MonthQuery
) -> dict[str, Any]:
    """The month's strategies with their actions; overdue actions are flagged."""
    first, day = month_of(request, month), today(request)
    views = plans.plan_of(workspace_of(request), project.id, first)
    return {
        "month": f"{first:%Y-%m}",
        "strategies": [
            {**strategy_out(v.strategy), "actions": [action_out(a, day) for a in v.actions]}
            for v in views
        ],
    }


@router.post("/strategies", status_code=201)
def create_strategy(
    principal: Operator, request: Request, project: CurrentProject, body: StrategyIn
) -> dict[str, Any]:
    """A new strategy direction at the end of the month's plan."""
    month = month_of(request, body.month)
    st = plans.create_strategy(
        workspace_of(request), project.id, principal.account, month, body.title, body.description
    )
    return strategy_out(st)


@router.patch("/strategies/{strategy_id}")
def change_strategy(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    strategy_id: int,
    body: StrategyChange,
) -> dict[str, Any]:
    """Rename or describe a strategy; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        st = plans.update_strategy(
            workspace_of(request), project.id, principal.account, strategy_id, body.version, updates
        )
    return strategy_out(st)


@router.delete("/strategies/{strategy_id}", status_code=204)
def delete_strategy(
    principal: Operator, request: Request, project: CurrentProject, strategy_id: int
) -> None:
    """Delete a strategy with its actions."""
    with errors():
        plans.delete_strategy(workspace_of(request), project.id, principal.account, strategy_id)


@router.post("/strategies/{strategy_id}/actions", status_code=201)
def create_action(
    principal: Operator, request: Request, project: CurrentProject, strategy_id: int, body: ActionIn
) -> dict[str, Any]:
    """A new action item at the end of a strategy."""
    with errors():
        action = plans.create_action(
            workspace_of(request), project.id, principal.account, strategy_id, body.model_dump()
        )
    return action_out(action, today(request))


@router.patch("/actions/{action_id}")
def change_action(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    action_id: int,
    body: ActionChange,
) -> dict[str, Any]:
    """Change an action (status, owner, due date, links); 409 when saved since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        action = plans.update_action(
            workspace_of(request), project.id, principal.account, action_id, body.version, updates
        )
    return action_out(action, today(request))


@router.delete("/actions/{action_id}", status_code=204)
def delete_action(
    principal: Operator, request: Request, project: CurrentProject, action_id: int
) -> None:
    """Delete an action item."""
    with errors():
        plans.delete_action(workspace_of(request), project.id, principal.account, action_id)


@router.get("/actions/{action_id}/history")
def action_history(
    principal: Viewer, request: Request, project: CurrentProject, action_id: int
) -> list[dict[str, Any]]:
    """Who changed the action, when, and what (oldest first)."""
    ws = workspace_of(request)
    return [audit.entry_out(e) for e in audit.history(ws, project.id, "action", action_id)]


@router.get("/export")
def export(
    principal: Viewer, request: Request, project: CurrentProject, month: str | None = MonthQuery
) -> Response:
    """The month's plan as an .xlsx workbook (sheet 运营规划)."""
    first = month_of(request, month)
    data = export_plan(workspace_of(request), project.id, first, today(request))
    name = f"plan-{project.slug}-{first:%Y-%m}.xlsx"
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post("/import")
def import_workbook(
    principal: Operator, request: Request, project: CurrentProject, file: UploadFile
) -> dict[str, Any]:
    """Replace the month in cell B1 with the workbook's plan; 422 lists every bad cell."""
    data = file.file.read()
    try:
        month, strategies, actions = import_plan(
            workspace_of(request), project.id, principal.account, data
        )
    except PlanImportError as exc:
        raise HTTPException(422, exc.problems) from None
    return {"month": f"{month:%Y-%m}", "strategies": strategies, "actions": actions}


@router.get("/notes")
def list_notes(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    tag: str | None = None,
    strategy_id: int | None = None,
) -> list[dict[str, Any]]:
    """Research notes, newest first (only those with `tag` / linked to `strategy_id`)."""
    found = research.notes(workspace_of(request), project.id, tag, strategy_id)
    return [note_out(n) for n in found]


@router.post("/notes", status_code=201)
def create_note(
    principal: Operator, request: Request, project: CurrentProject, body: NoteIn
) -> dict[str, Any]:
    """A survey finding or competitor analysis, tagged, maybe linked to a strategy."""
    with errors():
        note = research.create_note(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return note_out(note)


@router.patch("/notes/{note_id}")
def change_note(
    principal: Operator, request: Request, project: CurrentProject, note_id: int, body: NoteChange
) -> dict[str, Any]:
    """Change a note; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        note = research.update_note(
            workspace_of(request), project.id, principal.account, note_id, body.version, updates
        )
    return note_out(note)


@router.delete("/notes/{note_id}", status_code=204)
def delete_note(
    principal: Operator, request: Request, project: CurrentProject, note_id: int
) -> None:
    """Delete a note."""
    with errors():
        research.delete_note(workspace_of(request), project.id, principal.account, note_id)
