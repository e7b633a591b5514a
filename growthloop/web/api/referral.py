"""Referral programme (老带新 / 邀请返利): settings, codes, attribution runs, results."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from growthloop.ops import referral, referral_stats
from growthloop.ops.referral_models import Referral, ReferralProgramme
from growthloop.web.api.points import errors
from growthloop.web.context import CurrentProject
from growthloop.web.security import Admin, Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/referral", tags=["referral"])


class ProgrammeChange(BaseModel):
    """Settings to change and the version the edit started from."""

    version: int
    invite_event: str | None = Field(default=None, min_length=1, max_length=200)
    signup_events: str | None = Field(default=None, min_length=1, max_length=500)
    order_event: str | None = Field(default=None, min_length=1, max_length=200)
    code_property: str | None = Field(default=None, min_length=1, max_length=100)
    link_template: str | None = Field(default=None, min_length=1, max_length=500)
    inviter_signup_points: int | None = Field(default=None, ge=0)
    invitee_signup_points: int | None = Field(default=None, ge=0)
    inviter_order_points: int | None = Field(default=None, ge=0)
    invitee_order_points: int | None = Field(default=None, ge=0)
    max_rewards_per_inviter: int | None = Field(default=None, ge=0)
    validity_days: int | None = Field(default=None, ge=1, le=36500)


class RunRange(BaseModel):
    first: date | None = Field(default=None, alias="from")
    last: date | None = Field(default=None, alias="to")


def programme_out(p: ReferralProgramme) -> dict[str, Any]:
    return {**{f: getattr(p, f) for f in referral.SETTINGS}, "version": p.version}


def window(request: Request, first: date | None, last: date | None) -> tuple[date, date]:
    """The window asked for; default the 90 days up to today in the project time zone."""
    end = last or datetime.now(workspace_of(request).settings.tz).date()
    start = first or end - timedelta(days=89)
    if start > end:
        raise HTTPException(422, f"from, to: {start} is after {end}")
    return start, end


@router.get("/programme")
def get_programme(principal: Viewer, request: Request, project: CurrentProject) -> dict[str, Any]:
    """The programme settings: events, code property, rewards, cap."""
    return programme_out(referral.programme(workspace_of(request), project.id))


@router.patch("/programme")
def change_programme(
    principal: Admin, request: Request, project: CurrentProject, body: ProgrammeChange
) -> dict[str, Any]:
    """Change settings (send the version you read)."""
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    with errors():
        found = referral.update_programme(workspace_of(request), project.id, version, changes)
    return programme_out(found)


@router.post("/codes/{person_id}")
def code(
    principal: Operator, request: Request, project: CurrentProject, person_id: str
) -> dict[str, Any]:
    """The person's invite code and link (generated on first ask, then the same)."""
    ws = workspace_of(request)
    with errors():
        found = referral.code_for(ws, project.id, person_id)
    link = referral.invite_link(referral.programme(ws, project.id), found.code)
    return {"person_id": person_id, "code": found.code, "link": link, "source": found.source}


@router.post("/run")
def run(
    principal: Operator, request: Request, project: CurrentProject, body: RunRange
) -> dict[str, Any]:
    """Attribute and reward signups and first orders (of from..to, or newly loaded events)."""
    ws = workspace_of(request)
    if body.first is None and body.last is None:
        s = referral.process_new(ws, project)
    else:
        s = referral.process(ws, project, first=body.first, last=body.last)
    return {
        "codes_registered": s.codes_registered,
        "signups": s.signups,
        "accepted": s.accepted,
        "rejected": s.rejected,
        "first_orders": s.first_orders,
    }


@router.get("/stats")
def stats(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """K-factor, invite funnel, rejections by reason and top inviters over the window."""
    start, end = window(request, first, last)
    s = referral_stats.stats(workspace_of(request), project, start, end, top)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "invites": s.invites,
        "inviters": s.inviters,
        "users": s.users,
        "signups": s.signups,
        "first_orders": s.first_orders,
        "rejected": s.rejected,
        "invites_per_user": s.invites_per_user,
        "conversion": s.conversion,
        "k_factor": s.k_factor,
        "funnel": [{"step": step, "count": n} for step, n in s.funnel],
        "top": [asdict(i) for i in s.top],
    }


@router.get("/referrals")
def referrals(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    status: Annotated[str | None, Query(pattern="^(accepted|rejected)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The latest referrals, each with its status and (when rejected) the reason."""
    with workspace_of(request).sessions() as session:
        query = select(Referral).where(Referral.project_id == project.id)
        if status:
            query = query.where(Referral.status == status)
        rows = session.scalars(query.order_by(Referral.signed_up_at.desc()).limit(limit)).all()
    return [
        {
            "invitee_id": r.invitee_id,
            "inviter_id": r.inviter_id,
            "code": r.code,
            "signed_up_at": r.signed_up_at.isoformat(),
            "status": r.status,
            "reason": r.reason,
            "first_order_at": r.first_order_at.isoformat() if r.first_order_at else None,
            "first_order_amount": (
                float(r.first_order_amount) if r.first_order_amount is not None else None
            ),
        }
        for r in rows
    ]
