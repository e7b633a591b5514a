"""Referral page (老带新 / 邀请返利): K-factor, invite funnel, rejections, top inviters."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.ops import referral, referral_stats
from growthloop.web.api.referral import window
from growthloop.web.context import CurrentProject
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
REASON_KEYS = {
    "unknown_code": "referral.reason_unknown_code",
    "self_referral": "referral.reason_self_referral",
    "same_device": "referral.reason_same_device",
    "same_ip": "referral.reason_same_ip",
    "cap_reached": "referral.reason_cap_reached",
}
STEP_KEYS = {
    "invites": "referral.step_invites",
    "signups": "referral.step_signups",
    "first_orders": "referral.step_first_orders",
}


@router.get("/referral")
def referral_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """The programme's results over a window (default: the 90 days up to today)."""
    first, last = window(request, start, end)
    ws = workspace_of(request)
    found = referral_stats.stats(ws, project, first, last)
    return render(
        request,
        "referral.html",
        {
            "project": project,
            "stats": found,
            "programme": referral.programme(ws, project.id),
            "reason_keys": REASON_KEYS,
            "step_keys": STEP_KEYS,
        },
    )


@router.post("/referral/run")
def run_referral(principal: Operator, request: Request, project: CurrentProject) -> Response:
    """Attribute and reward the referrals of newly loaded events."""
    referral.process_new(workspace_of(request), project)
    return RedirectResponse(f"/referral?project={project.slug}", status_code=303)
