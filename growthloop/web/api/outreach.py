"""Outreach (个性化触达) to segments: messages, sends, holdouts, results."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from growthloop.ops import audit, outreach
from growthloop.ops.outreach_models import Outreach, OutreachSend, OutreachSettings
from growthloop.ops.outreach_results import RunResult, results, send_log
from growthloop.ops.outreach_schedule import send_now
from growthloop.ops.outreach_templates import MessageTemplate, TemplateProblem, preview
from growthloop.ops.targets import TargetError
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.security import (
    Admin,
    Operator,
    Viewer,
    workspace_of,
)

router = APIRouter(prefix="/api/outreach", tags=["outreach"])
Channel = Literal["email", "push", "sms"]


class OutreachIn(BaseModel):
    """A message to a segment."""

    name: str = Field(min_length=1, max_length=200)
    channel: Channel = "email"
    subject: str = Field(default="", max_length=500, description="Jinja2; email only.")
    body: str = Field(
        min_length=1,
        max_length=20000,
        description="Jinja2 template: {{ person.<property> }}, {{ person_id }}, {{ unsubscribe_url }}.",
    )
    segment_id: int | None = Field(default=None, description="A saved segment's id.")
    person_ids: list[str] | None = Field(default=None, max_length=1_000_000)
    holdout_percent: float = Field(default=10.0, ge=0, lt=100)
    send_at: datetime | None = Field(
        default=None, description="First (or only) send, UTC; none: send with POST .../send."
    )
    repeat_days: int = Field(default=0, ge=0, description="0: once; n: every n days.")
    active: bool = True
    conversion_event: str = Field(default="purchase", min_length=1, max_length=200)
    window_days: int = Field(default=7, ge=1, le=365)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_seconds: int = Field(default=60, ge=0, le=86400)


class OutreachChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, min_length=1, max_length=20000)
    segment_id: int | None = None
    person_ids: list[str] | None = None
    holdout_percent: float | None = Field(default=None, ge=0, lt=100)
    send_at: datetime | None = None
    repeat_days: int | None = Field(default=None, ge=0)
    active: bool | None = None
    conversion_event: str | None = Field(default=None, min_length=1, max_length=200)
    window_days: int | None = Field(default=None, ge=1, le=365)


class SettingsIn(BaseModel):
    """The project's frequency cap and push / SMS webhooks."""

    cap_messages: int | None = Field(default=None, ge=1, description="None: no cap.")
    cap_days: int = Field(default=7, ge=1, le=365)
    push_webhook_url: str = Field(default="", max_length=1000)
    sms_webhook_url: str = Field(default="", max_length=1000)
    webhook_headers: dict[str, str] = Field(default_factory=dict)


class SuppressionIn(BaseModel):
    channel: Channel = "email"
    address: str = Field(min_length=1, max_length=320)
    reason: str = Field(default="manual", max_length=200)


def errors() -> AbstractContextManager[None]:
    """Ops errors as HTTP answers: 404 unknown, 409 version conflict, 422 bad value."""
    return http_errors(unprocessable=(TargetError, TemplateProblem))


def outreach_out(item: Outreach) -> dict[str, Any]:
    """A message's stored fields."""
    out = {"id": item.id, **{f: audit.plain(getattr(item, f)) for f in outreach.FIELDS}}
    out["person_ids"] = len(item.person_ids) if item.person_ids else None
    return out | {"version": item.version}


def result_out(result: RunResult) -> dict[str, Any]:
    """A run's counts and its receivers-versus-holdout comparison."""
    out = asdict(result)
    for key in ("started_at", "window_end"):
        out[key] = out[key].isoformat()
    out["receivers"]["rate"] = result.receivers.rate
    out["holdout"]["rate"] = result.holdout.rate
    if result.comparison is not None:
        out["comparison"]["significant"] = result.comparison.significant
    return out


def send_out(row: OutreachSend) -> dict[str, Any]:
    """One send-log row."""
    return {
        "person_id": row.person_id,
        "address": row.address,
        "status": row.status,
        "reason": row.reason,
        "attempts": row.attempts,
        "next_attempt_at": audit.plain(row.next_attempt_at),
        "sent_at": audit.plain(row.sent_at),
    }


def settings_out(found: OutreachSettings) -> dict[str, Any]:
    """The settings, header values hidden (they are usually credentials)."""
    return {
        "cap_messages": found.cap_messages,
        "cap_days": found.cap_days,
        "push_webhook_url": found.push_webhook_url,
        "sms_webhook_url": found.sms_webhook_url,
        "webhook_headers": sorted((found.webhook_headers or {}).keys()),
    }


def run_results(request: Request, project: ProjectRef, item: Outreach) -> list[RunResult]:
    """Every run's result from the project's event store."""
    with read_cursor(project.store) as cursor:
        return results(workspace_of(request), cursor, item)


@router.get("")
def list_outreach(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The project's messages, newest first."""
    return [outreach_out(i) for i in outreach.list_outreach(workspace_of(request), project.id)]


@router.post("", status_code=201)
def create_outreach(
    principal: Operator, request: Request, project: CurrentProject, body: OutreachIn
) -> dict[str, Any]:
    """A new message; 422 names a bad field or a template error with its line."""
    with errors():
        item = outreach.create_outreach(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return outreach_out(item)


@router.get("/settings")
def get_settings(principal: Viewer, request: Request, project: CurrentProject) -> dict[str, Any]:
    """The frequency cap and webhooks."""
    return settings_out(outreach.settings_of(workspace_of(request), project.id))


@router.put("/settings")
def put_settings(
    principal: Admin, request: Request, project: CurrentProject, body: SettingsIn
) -> dict[str, Any]:
    """Set the frequency cap (at most cap_messages per cap_days per person) and webhooks."""
    with errors():
        found = outreach.save_settings(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return settings_out(found)


@router.get("/suppressions")
def list_suppressions(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The suppression list, newest first."""
    return [
        {
            "channel": s.channel,
            "address": s.address,
            "person_id": s.person_id,
            "reason": s.reason,
            "outreach_id": s.outreach_id,
            "created_at": s.created_at.isoformat(),
        }
        for s in outreach.suppressions(workspace_of(request), project.id)
    ]


@router.post("/suppressions", status_code=201)
def add_suppression(
    principal: Operator, request: Request, project: CurrentProject, body: SuppressionIn
) -> dict[str, Any]:
    """Put an address on the suppression list (`added` false: it was on it)."""
    with errors():
        added = outreach.suppress(
            workspace_of(request), project.id, body.channel, body.address, reason=body.reason
        )
    return {"added": added}


@router.delete("/suppressions")
def remove_suppression(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    address: Annotated[str, Query(min_length=1)],
    channel: Channel = "email",
) -> dict[str, Any]:
    """Take an address off the list."""
    return {"removed": outreach.unsuppress(workspace_of(request), project.id, channel, address)}


@router.get("/runs/{run_id}/sends")
def run_sends(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    run_id: int,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 200,
) -> list[dict[str, Any]]:
    """A run's send log (optionally one status): queued, sending, sent, failed, holdout, skipped."""
    ws = workspace_of(request)
    rows = send_log(ws, run_id, status, limit)
    if rows and rows[0].project_id != project.id:
        raise HTTPException(404, f"run: no run {run_id} in this project")
    return [send_out(r) for r in rows]


@router.get("/{outreach_id}")
def get_outreach(
    principal: Viewer, request: Request, project: CurrentProject, outreach_id: int
) -> dict[str, Any]:
    """One message with each run's send counts and result against the holdout."""
    with errors():
        item = outreach.get_outreach(workspace_of(request), project.id, outreach_id)
    runs = [result_out(r) for r in run_results(request, project, item)]
    return outreach_out(item) | {"runs": runs}


@router.patch("/{outreach_id}")
def change_outreach(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    outreach_id: int,
    body: OutreachChange,
) -> dict[str, Any]:
    """Change a message; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        item = outreach.update_outreach(
            workspace_of(request), project.id, principal.account, outreach_id, body.version, updates
        )
    return outreach_out(item)


@router.delete("/{outreach_id}", status_code=204)
def delete_outreach(
    principal: Operator, request: Request, project: CurrentProject, outreach_id: int
) -> None:
    """Delete a message with its runs and send log."""
    with errors():
        outreach.delete_outreach(workspace_of(request), project.id, principal.account, outreach_id)


@router.get("/{outreach_id}/preview")
def preview_outreach(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    outreach_id: int,
    samples: Annotated[int, Query(ge=0, le=50)] = 3,
) -> dict[str, Any]:
    """The message rendered for the first recipients, and every recipient it fails for."""
    ws = workspace_of(request)
    with errors():
        item = outreach.get_outreach(ws, project.id, outreach_id)
        people = outreach.members(ws, item)
        template = MessageTemplate.compile(item.subject, item.body)
    found = preview(template, outreach.person_properties(ws, project.slug, people), samples)
    return {
        "recipients": found.checked,
        "problem_count": found.problem_count,
        "problems": list(found.problems),
        "samples": [
            {"person_id": p, "subject": r.subject, "body": r.body} for p, r in found.samples
        ],
    }


@router.post("/{outreach_id}/send")
def send_outreach(
    principal: Operator, request: Request, project: CurrentProject, outreach_id: int
) -> dict[str, Any]:
    """Send now (a one-off message's only run: sending again only retries what is due)."""
    ws = workspace_of(request)
    with errors():
        item = outreach.get_outreach(ws, project.id, outreach_id)
        report = send_now(ws, item)
    return {"run_id": report.run_id, "run_key": report.run_key, **asdict(report.delivery)}


@router.get("/{outreach_id}/results")
def outreach_results(
    principal: Viewer, request: Request, project: CurrentProject, outreach_id: int
) -> list[dict[str, Any]]:
    """Each run: conversion of receivers against the holdout over the window, z test and CI."""
    with errors():
        item = outreach.get_outreach(workspace_of(request), project.id, outreach_id)
    return [result_out(r) for r in run_results(request, project, item)]
