"""Monthly plan pages: the table and board views, quick edits, XLSX export and import."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from growthloop.ops import plans, research
from growthloop.ops.plan_xlsx import PlanImportError, import_plan
from growthloop.web.api.goals import today
from growthloop.web.api.plans import month_of
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.pages.goals import page_errors
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
STATUS_KEYS = {
    "todo": "plans.status_todo",
    "doing": "plans.status_doing",
    "done": "plans.status_done",
    "blocked": "plans.status_blocked",
}


def _back(project: ProjectRef, month: date, view: str = "table") -> RedirectResponse:
    return RedirectResponse(
        f"/plans?project={project.slug}&month={month:%Y-%m}&view={view}", status_code=303
    )


@router.get("/plans")
def plans_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    month: str | None = None,
    view: str = "table",
) -> Response:
    """The month's plan as a table (strategies with actions) or a board by status."""
    first, day = month_of(request, month), today(request)
    views = plans.plan_of(workspace_of(request), project.id, first)
    overdue = {a.id for v in views for a in v.actions if plans.is_overdue(a, day)}
    ids = {v.strategy.id for v in views}
    notes = [n for n in research.notes(workspace_of(request), project.id) if n.strategy_id in ids]
    return render(
        request,
        "plans.html",
        {
            "project": project,
            "month": first,
            "views": views,
            "overdue": overdue,
            "view": "board" if view == "board" else "table",
            "statuses": plans.STATUSES,
            "status_keys": STATUS_KEYS,
            "notes": notes,
        },
    )


@router.post("/plans/strategies")
def add_strategy(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    month: Annotated[str, Form(pattern=r"^\d{4}-\d{2}$")],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    description: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Add a strategy direction to the month's plan."""
    first = month_of(request, month)
    ws = workspace_of(request)
    plans.create_strategy(ws, project.id, principal.account, first, title, description)
    return _back(project, first)


@router.post("/plans/strategies/{strategy_id}/actions")
def add_action(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    strategy_id: int,
    month: Annotated[str, Form(pattern=r"^\d{4}-\d{2}$")],
    title: Annotated[str, Form(min_length=1, max_length=300)],
    owner: Annotated[str, Form(max_length=100)] = "",
    due: Annotated[date | None, Form()] = None,
) -> Response:
    """Add an action item under a strategy."""
    values = {"title": title, "owner": owner, "due": due}
    with page_errors():
        plans.create_action(
            workspace_of(request), project.id, principal.account, strategy_id, values
        )
    return _back(project, month_of(request, month))


@router.post("/plans/actions/{action_id}/status")
def set_status(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    action_id: int,
    month: Annotated[str, Form(pattern=r"^\d{4}-\d{2}$")],
    version: Annotated[int, Form()],
    status: Annotated[str, Form(pattern="^(todo|doing|done|blocked)$")],
    view: Annotated[str, Form()] = "table",
) -> Response:
    """Move an action to another status."""
    with page_errors():
        plans.update_action(
            workspace_of(request),
            project.id,
            principal.account,
            action_id,
            version,
            {"status": status},
        )
    return _back(project, month_of(request, month), view)


@router.post("/plans/import")
def import_workbook(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Replace the month in the workbook's cell B1 with its plan; bad cells are listed."""
    try:
        month, _, _ = import_plan(
            workspace_of(request), project.id, principal.account, file.file.read()
        )
    except PlanImportError as exc:
        raise HTTPException(422, "; ".join(exc.problems)) from None
    return _back(project, month)


@router.post("/plans/notes")
def add_note(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    month: Annotated[str, Form(pattern=r"^\d{4}-\d{2}$")],
    kind: Annotated[str, Form(pattern="^(survey|competitor)$")],
    title: Annotated[str, Form(min_length=1, max_length=200)],
    strategy_id: Annotated[int, Form()],
    body: Annotated[str, Form(max_length=20000)] = "",
    tags: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Add a research note to a strategy; tags are comma-separated."""
    values = {
        "kind": kind,
        "title": title,
        "body": body,
        "tags": tags.replace("，", ",").split(","),
        "strategy_id": strategy_id,
    }
    with page_errors():
        research.create_note(workspace_of(request), project.id, principal.account, values)
    return _back(project, month_of(request, month))
