"""Feedback inbox pages (用户反馈): the inbox with counts by tag, an entry, and the forms."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from growthloop.ops import audit, feedback
from growthloop.ops.feedback_forward import ForwardError, forward
from growthloop.ops.feedback_import import FeedbackImportError, import_feedback
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.rendering import render
from growthloop.web.security import Admin, Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
# Status names through the catalogues (literal keys, for the i18n test).
STATUS_KEYS = {
    "new": "feedback.status_new",
    "triaged": "feedback.status_triaged",
    "forwarded": "feedback.status_forwarded",
    "done": "feedback.status_done",
}
WEEKS_SHOWN = 8


def page_errors() -> AbstractContextManager[None]:
    """Inbox errors as error pages with the message: 404, 422 (bad value, stale version), 502."""
    return http_errors(
        unprocessable=(FeedbackImportError, feedback.FeedbackError),
        bad_gateway=(ForwardError,),
        conflict_status=422,
        detail=lambda exc: (
            "; ".join(exc.problems) if isinstance(exc, FeedbackImportError) else str(exc)
        ),
    )


def _local(tz: ZoneInfo) -> Callable[[datetime], str]:
    """A stored UTC time as local "YYYY-MM-DD HH:MM" for the page."""
    return lambda at: f"{at.replace(tzinfo=UTC).astimezone(tz):%Y-%m-%d %H:%M}"


def _back(project: ProjectRef, entry_id: int | None = None) -> RedirectResponse:
    where = f"/feedback/{entry_id}" if entry_id else "/feedback"
    return RedirectResponse(f"{where}?project={project.slug}", status_code=303)


@router.get("/feedback")
def inbox_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    status: str | None = None,
    tag: str | None = None,
) -> Response:
    """The inbox (newest first, by status and tag) and the last weeks' counts by tag."""
    ws = workspace_of(request)
    today = datetime.now(ws.settings.tz).date()
    with page_errors():
        entries = feedback.list_entries(ws, project.id, status or None, tag or None)
        first = today - timedelta(days=7 * (WEEKS_SHOWN - 1))
        counts = feedback.tag_counts(ws, project.id, ws.settings.tz, "week", first, today)
    webhook = feedback.webhook_of(ws, project.id)
    return render(
        request,
        "feedback.html",
        {
            "project": project,
            "entries": entries,
            "counts": counts,
            "status": status or "",
            "tag": tag or "",
            "status_keys": STATUS_KEYS,
            "webhook_url": webhook.webhook_url if webhook else "",
            "local": _local(ws.settings.tz),
        },
    )


@router.post("/feedback")
def add_entry(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    text: Annotated[str, Form(min_length=1, max_length=feedback.MAX_TEXT)],
    tags: Annotated[str, Form(max_length=2000)] = "",
    rating: Annotated[str, Form(max_length=3)] = "",
    assignee: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add an entry by hand (tags separated by commas)."""
    values = {"text": text, "tags": tags, "rating": rating or None, "assignee": assignee}
    with page_errors():
        feedback.add_entry(workspace_of(request), project.id, principal.account, values)
    return _back(project)


@router.post("/feedback/import")
def import_entries(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import a CSV or JSONL file (all rows or none)."""
    data = file.file.read()
    with page_errors():
        import_feedback(
            workspace_of(request), project.id, principal.account, file.filename or "upload", data
        )
    return _back(project)


@router.post("/feedback/webhook")
def set_webhook(
    principal: Admin,
    request: Request,
    project: CurrentProject,
    webhook_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Set the product team's webhook ("" turns forwarding off)."""
    with page_errors():
        feedback.set_webhook(workspace_of(request), project.id, principal.account, webhook_url)
    return _back(project)


@router.get("/feedback/{entry_id}")
def entry_page(
    principal: Viewer, request: Request, project: CurrentProject, entry_id: int
) -> Response:
    """One entry: its text, its forward attempts and its history."""
    ws = workspace_of(request)
    with page_errors():
        entry = feedback.get_entry(ws, project.id, entry_id)
    return render(
        request,
        "feedback_entry.html",
        {
            "project": project,
            "entry": entry,
            "forwards": feedback.forwards_of(ws, entry_id),
            "history": audit.history(ws, project.id, "feedback", entry_id),
            "status_keys": STATUS_KEYS,
            "local": _local(ws.settings.tz),
        },
    )


@router.post("/feedback/{entry_id}")
def change_entry(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    entry_id: int,
    version: Annotated[int, Form()],
    status: Annotated[str, Form(max_length=16)],
    tags: Annotated[str, Form(max_length=2000)] = "",
    assignee: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Triage an entry: status, tags (comma-separated), assignee."""
    updates = {"status": status, "tags": tags, "assignee": assignee}
    with page_errors():
        feedback.update_entry(
            workspace_of(request), project.id, principal.account, entry_id, version, updates
        )
    return _back(project, entry_id)


@router.post("/feedback/{entry_id}/forward")
def forward_entry(
    principal: Operator, request: Request, project: CurrentProject, entry_id: int
) -> Response:
    """Forward the entry to the product team's webhook."""
    with page_errors():
        forward(workspace_of(request), project.id, principal.account, entry_id)
    return _back(project, entry_id)
