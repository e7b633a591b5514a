"""Outreach pages (个性化触达): messages, a form to write one, each message's preview, send log
and result against its holdout; and the public page an unsubscribe link opens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.ops import outreach
from growthloop.ops.outreach_models import FAILED, SENDING
from growthloop.ops.outreach_results import send_log
from growthloop.ops.outreach_schedule import send_now
from growthloop.ops.outreach_templates import MessageTemplate, TemplateProblem, preview
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import Project
from growthloop.web.api.outreach import errors, run_results
from growthloop.web.context import CurrentProject
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
# Send-log statuses shown through the catalogues (literal keys for the i18n test).
STATUS_KEYS = {
    "queued": "outreach.status_queued",
    "sending": "outreach.status_sending",
    "sent": "outreach.status_sent",
    "failed": "outreach.status_failed",
    "holdout": "outreach.status_holdout",
    "skipped": "outreach.status_skipped",
}


def _segments(request: Request, project_id: int) -> list[Any]:
    from growthloop.analytics import saved_segments  # the segments package imports ops

    return saved_segments.list_segments(workspace_of(request), project_id)


@router.get("/outreach")
def outreach_page(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """The project's messages, the form to write one, the cap and the suppression list."""
    ws = workspace_of(request)
    return render(
        request,
        "outreach.html",
        {
            "project": project,
            "messages": outreach.list_outreach(ws, project.id),
            "segments": _segments(request, project.id),
            "settings": outreach.settings_of(ws, project.id),
            "suppressions": outreach.suppressions(ws, project.id)[:50],
        },
    )


@router.post("/outreach")
def create_outreach(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    body: Annotated[str, Form(min_length=1, max_length=20000)],
    channel: Annotated[str, Form()] = "email",
    subject: Annotated[str, Form(max_length=500)] = "",
    segment_id: Annotated[str, Form()] = "",
    person_ids: Annotated[str, Form(max_length=1_000_000)] = "",
    holdout_percent: Annotated[float, Form(ge=0, lt=100)] = 10.0,
    conversion_event: Annotated[str, Form(min_length=1, max_length=200)] = "purchase",
    window_days: Annotated[int, Form(ge=1, le=365)] = 7,
    send_at: Annotated[str, Form()] = "",
    repeat_days: Annotated[int, Form(ge=0)] = 0,
) -> Response:
    """Write a message; person_ids (comma or line separated) stand in for a saved segment."""
    ids = [p.strip() for p in person_ids.replace(",", "\n").splitlines() if p.strip()]
    values = {
        "name": name,
        "channel": channel,
        "subject": subject,
        "body": body,
        "segment_id": int(segment_id) if segment_id.strip().isdigit() else None,
        "person_ids": ids or None,
        "holdout_percent": holdout_percent,
        "conversion_event": conversion_event,
        "window_days": window_days,
        "send_at": datetime.fromisoformat(send_at) if send_at.strip() else None,
        "repeat_days": repeat_days,
    }
    with errors():
        item = outreach.create_outreach(
            workspace_of(request), project.id, principal.account, values
        )
    return RedirectResponse(f"/outreach/{item.id}?project={project.slug}", status_code=303)


@router.get("/outreach/{outreach_id}")
def message_page(
    principal: Viewer, request: Request, project: CurrentProject, outreach_id: int
) -> Response:
    """A message: its preview for the first recipients, each run's send counts and the
    conversion of receivers against the holdout."""
    ws = workspace_of(request)
    with errors():
        item = outreach.get_outreach(ws, project.id, outreach_id)
    problem = ""
    shown = None
    try:
        template = MessageTemplate.compile(item.subject, item.body)
        people = outreach.members(ws, item)
        shown = preview(template, outreach.person_properties(ws, project.slug, people))
    except (TargetError, TemplateProblem) as exc:
        problem = str(exc)
    runs = run_results(request, project, item)
    trouble = [r for run in runs[:1] for r in send_log(ws, run.run_id, FAILED, 50)]
    trouble += [r for run in runs[:1] for r in send_log(ws, run.run_id, SENDING, 50)]
    return render(
        request,
        "outreach_message.html",
        {
            "project": project,
            "item": item,
            "preview": shown,
            "problem": problem,
            "runs": runs,
            "trouble": trouble,
            "status_keys": STATUS_KEYS,
        },
    )


@router.post("/outreach/{outreach_id}/send")
def send_message(
    principal: Operator, request: Request, project: CurrentProject, outreach_id: int
) -> Response:
    """Send now (a one-off message once; again only retries what failed and is due)."""
    ws = workspace_of(request)
    with errors():
        item = outreach.get_outreach(ws, project.id, outreach_id)
        send_now(ws, item)
    return RedirectResponse(f"/outreach/{outreach_id}?project={project.slug}", status_code=303)


def _unsubscribe(request: Request, token: str) -> Response:
    ws = workspace_of(request)
    payload = outreach.read_unsubscribe_token(request.app.state.secret, token)
    if payload is None:
        raise HTTPException(422, "unsubscribe: this link is not valid (it may be cut short)")
    with ws.sessions() as s:
        project = s.get(Project, payload["p"])
    if project is None:
        raise HTTPException(404, "unsubscribe: the project of this link no longer exists")
    outreach.suppress(
        ws,
        project.id,
        payload["c"],
        payload["a"],
        person_id=str(payload.get("i", "")),
        reason="unsubscribe",
        outreach_id=payload.get("o"),
    )
    return render(request, "outreach_unsubscribed.html", {"address": payload["a"]})


# Open without a login: the signed token in the path is the credential (the person who
# unsubscribes has no account); a token that does not verify is refused with 422.
SIGNED_LINK_ROUTES = {("GET", "/unsubscribe/{token}"), ("POST", "/unsubscribe/{token}")}


@router.get("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str) -> Response:
    """The link in every outreach email: puts the address on the suppression list."""
    return _unsubscribe(request, token)


@router.post("/unsubscribe/{token}")
def unsubscribe_one_click(request: Request, token: str) -> Response:
    """RFC 8058 one-click unsubscribe (the List-Unsubscribe-Post header mail clients use)."""
    return _unsubscribe(request, token)
