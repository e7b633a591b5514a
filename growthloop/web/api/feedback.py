"""Feedback inbox (用户反馈): entries, tags, status, assignee, forwarding, counts by tag."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, UploadFile
from pydantic import BaseModel, Field

from growthloop.ops import audit, feedback
from growthloop.ops.feedback_events import copy_project
from growthloop.ops.feedback_forward import ForwardError, forward
from growthloop.ops.feedback_import import FeedbackImportError, import_feedback
from growthloop.ops.feedback_models import FeedbackEntry, FeedbackForward
from growthloop.store.metadata import utcnow
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject
from growthloop.web.insights import read_cursor
from growthloop.web.security import Admin, Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/feedback", tags=["feedback"])
Status = Literal["new", "triaged", "forwarded", "done"]


class EntryIn(BaseModel):
    """A piece of feedback."""

    text: str = Field(min_length=1, max_length=feedback.MAX_TEXT)
    tags: list[str] = Field(default_factory=list, max_length=feedback.MAX_TAGS)
    rating: int | None = Field(default=None, ge=1, le=5)
    status: Status = "new"
    assignee: str = Field(default="", max_length=100)
    distinct_id: str = Field(default="", max_length=200, description="Who gave it, if known.")
    received_at: datetime | None = Field(
        default=None, description="When it was given (ISO 8601 with offset); default: now."
    )


class EntryChange(BaseModel):
    """Tags, status or assignee to change, and the version the edit started from."""

    version: int
    tags: list[str] | None = Field(default=None, max_length=feedback.MAX_TAGS)
    status: Status | None = None
    assignee: str | None = Field(default=None, max_length=100)


class WebhookIn(BaseModel):
    """The product team's webhook ("" turns forwarding off)."""

    webhook_url: str = Field(max_length=500)


def errors() -> AbstractContextManager[None]:
    """Inbox errors as HTTP answers: 404, 409 version conflict, 422 bad value (an import's
    problems as a list), 502 webhook."""
    return http_errors(
        unprocessable=(FeedbackImportError, feedback.FeedbackError),
        bad_gateway=(ForwardError,),
        detail=lambda exc: exc.problems if isinstance(exc, FeedbackImportError) else str(exc),
    )


def entry_out(entry: FeedbackEntry) -> dict[str, Any]:
    """An entry as JSON (times in UTC)."""
    return {
        "id": entry.id,
        "source": entry.source,
        "event_uuid": entry.event_uuid,
        "distinct_id": entry.distinct_id,
        "text": entry.text,
        "rating": entry.rating,
        "tags": list(entry.tags),
        "status": entry.status,
        "assignee": entry.assignee,
        "received_at": entry.received_at.isoformat() + "Z",
        "forwarded_at": entry.forwarded_at.isoformat() + "Z" if entry.forwarded_at else None,
        "version": entry.version,
    }


def forward_out(attempt: FeedbackForward) -> dict[str, Any]:
    """One forward attempt."""
    return {
        "at": attempt.at.isoformat() + "Z",
        "url": attempt.url,
        "ok": attempt.ok,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "user": attempt.user_name,
    }


@router.get("")
def list_feedback(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    status: Status | None = None,
    tag: str | None = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict[str, Any]]:
    """The newest entries first, filtered by status, tag and assignee."""
    with errors():
        found = feedback.list_entries(
            workspace_of(request), project.id, status, tag, assignee, limit
        )
    return [entry_out(e) for e in found]


@router.post("", status_code=201)
def add_feedback(
    principal: Operator, request: Request, project: CurrentProject, body: EntryIn
) -> dict[str, Any]:
    """Add an entry (source "api")."""
    with errors():
        entry = feedback.add_entry(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return entry_out(entry)


@router.post("/import")
def import_file(
    principal: Operator, request: Request, project: CurrentProject, file: UploadFile
) -> dict[str, Any]:
    """Import a CSV or JSONL file, all rows or none; 422 lists each bad row as file:line."""
    data = file.file.read()
    with errors():
        n = import_feedback(
            workspace_of(request), project.id, principal.account, file.filename or "upload", data
        )
    return {"imported": n}


@router.post("/sync-events")
def sync_events(principal: Operator, request: Request, project: CurrentProject) -> dict[str, Any]:
    """Copy new `$feedback` events into the inbox now (the periodic job does it every minute)."""
    with read_cursor(project.store) as cursor:
        copied = copy_project(workspace_of(request), project.id, project.slug, cursor, utcnow())
    return {"added": copied.added, "skipped": copied.skipped}


@router.get("/counts")
def counts(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    interval: Literal["day", "week"] = "week",
    date_from: Annotated[date | None, Query(description="Default: 8 weeks / 14 days ago.")] = None,
    date_to: Annotated[date | None, Query(description="Default: today.")] = None,
) -> dict[str, Any]:
    """Entries per tag per day or week (project time zone); an entry counts under each tag."""
    ws = workspace_of(request)
    last = date_to or datetime.now(ws.settings.tz).date()
    first = date_from or last - timedelta(days=55 if interval == "week" else 13)
    with errors():
        found = feedback.tag_counts(ws, project.id, ws.settings.tz, interval, first, last)
    return {
        "interval": found.interval,
        "periods": [p.isoformat() for p in found.periods],
        "tags": {t: list(c) for t, c in found.counts.items()},
        "totals": list(found.totals),
    }


@router.get("/settings")
def get_settings(principal: Operator, request: Request, project: CurrentProject) -> dict[str, Any]:
    """The webhook that forwarded feedback goes to ("" when none)."""
    found = feedback.webhook_of(workspace_of(request), project.id)
    return {"webhook_url": found.webhook_url if found else ""}


@router.put("/settings")
def put_settings(
    principal: Admin, request: Request, project: CurrentProject, body: WebhookIn
) -> dict[str, Any]:
    """Set the product team's webhook (an http:// or https:// URL; "" turns it off)."""
    with errors():
        found = feedback.set_webhook(
            workspace_of(request), project.id, principal.account, body.webhook_url
        )
    return {"webhook_url": found.webhook_url}


@router.get("/{entry_id}")
def get_feedback(
    principal: Viewer, request: Request, project: CurrentProject, entry_id: int
) -> dict[str, Any]:
    """One entry with its forward attempts and its history."""
    ws = workspace_of(request)
    with errors():
        entry = feedback.get_entry(ws, project.id, entry_id)
    return {
        **entry_out(entry),
        "forwards": [forward_out(f) for f in feedback.forwards_of(ws, entry_id)],
        "history": [
            audit.entry_out(e) for e in audit.history(ws, project.id, "feedback", entry_id)
        ],
    }


@router.patch("/{entry_id}")
def change_feedback(
    principal: Operator, request: Request, project: CurrentProject, entry_id: int, body: EntryChange
) -> dict[str, Any]:
    """Tag, triage, assign or close an entry; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        entry = feedback.update_entry(
            workspace_of(request), project.id, principal.account, entry_id, body.version, updates
        )
    return entry_out(entry)


@router.post("/{entry_id}/forward")
def forward_feedback(
    principal: Operator, request: Request, project: CurrentProject, entry_id: int
) -> dict[str, Any]:
    """POST the entry to the product team's webhook; 502 with the receiver's answer when it
    failed (the attempt is recorded either way)."""
    ws = workspace_of(request)
    with errors():
        attempt = forward(ws, project.id, principal.account, entry_id)
    return {
        **forward_out(attempt),
        "entry": entry_out(feedback.get_entry(ws, project.id, entry_id)),
    }
