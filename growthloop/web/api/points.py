"""Growth system (用户成长体系): points rules, ledger, balances, levels."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from growthloop.ops import audit, levels, points_award, points_ledger, points_rules
from growthloop.ops.points_models import PointsAccount, PointsEntry, PointsRule
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/points", tags=["points"])


def errors() -> AbstractContextManager[None]:
    """Points errors as HTTP answers: 404 unknown, 409 conflict, 422 bad value or too few points."""
    return http_errors(
        conflict=(points_ledger.KeyConflict,), unprocessable=(points_ledger.PointsError,)
    )


class RuleIn(BaseModel):
    """A points rule."""

    name: str = Field(min_length=1, max_length=100)
    event: str = Field(min_length=1, max_length=200, description="Event name that earns.")
    points: int = Field(ge=1, le=1_000_000, description="Points per event, or per per_amount.")
    per_amount: Decimal | None = Field(default=None, gt=0, description="E.g. 1 = per 1 CNY.")
    amount_property: str = Field(default="revenue", max_length=100)
    once: bool = False
    daily_cap: int | None = Field(default=None, ge=1)
    validity_days: int | None = Field(default=None, ge=1, le=36500)
    active: bool = True


class RuleChange(BaseModel):
    """Fields to change and the version the edit started from."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=100)
    event: str | None = Field(default=None, min_length=1, max_length=200)
    points: int | None = Field(default=None, ge=1, le=1_000_000)
    per_amount: Decimal | None = None
    once: bool | None = None
    daily_cap: int | None = None
    validity_days: int | None = None
    active: bool | None = None


class LevelIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    basis: str = Field(pattern="^(points|spend)$")
    threshold: Decimal = Field(ge=0)
    benefits: str = Field(default="", max_length=5000)


class Redeem(BaseModel):
    person_id: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=1)
    key: str = Field(min_length=1, max_length=200, description="Idempotency key, e.g. order id.")
    reason: str = Field(default="", max_length=500)


class Adjust(BaseModel):
    person_id: str = Field(min_length=1, max_length=200)
    points: int = Field(description="Positive adds, negative takes (never below 0).")
    key: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    validity_days: int | None = Field(default=None, ge=1, le=36500)


class Refund(BaseModel):
    redeem_key: str = Field(min_length=1, max_length=200)
    key: str = Field(min_length=1, max_length=200)
    points: int | None = Field(default=None, ge=1, description="Default: all that is left.")
    reason: str = Field(default="", max_length=500)


class AwardRange(BaseModel):
    first: date | None = Field(default=None, alias="from")
    last: date | None = Field(default=None, alias="to")


def rule_out(rule: PointsRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        **{f: audit.plain(getattr(rule, f)) for f in points_rules.FIELDS},
        "version": rule.version,
    }


def entry_out(e: PointsEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "person_id": e.person_id,
        "kind": e.kind,
        "points": e.points,
        "key": e.key,
        "rule_id": e.rule_id,
        "event_uuid": e.event_uuid,
        "occurred_at": e.occurred_at.isoformat(),
        "expires_at": e.expires_at.isoformat() if e.expires_at else None,
        "remaining": e.remaining,
        "reason": e.reason,
        "created_by": e.created_by,
    }


@router.get("/rules")
def list_rules(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The project's points rules."""
    return [rule_out(r) for r in points_rules.list_rules(workspace_of(request), project.id)]


@router.post("/rules", status_code=201)
def create_rule(
    principal: Operator, request: Request, project: CurrentProject, body: RuleIn
) -> dict[str, Any]:
    """A new points rule."""
    with errors():
        rule = points_rules.create_rule(workspace_of(request), project.id, body.model_dump())
    return rule_out(rule)


@router.patch("/rules/{rule_id}")
def change_rule(
    principal: Operator, request: Request, project: CurrentProject, rule_id: int, body: RuleChange
) -> dict[str, Any]:
    """Change a rule (send the version you read; 409 if it changed meanwhile)."""
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    with errors():
        rule = points_rules.update_rule(
            workspace_of(request), project.id, rule_id, version, changes
        )
    return rule_out(rule)


@router.get("/levels")
def list_levels(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """Levels in order, with their thresholds and benefits."""
    return [
        {
            "id": lv.id,
            "name": lv.name,
            "basis": lv.basis,
            "threshold": float(lv.threshold),
            "benefits": lv.benefits,
            "position": lv.position,
        }
        for lv in levels.list_levels(workspace_of(request), project.id)
    ]


@router.post("/levels", status_code=201)
def create_level(
    principal: Operator, request: Request, project: CurrentProject, body: LevelIn
) -> dict[str, Any]:
    """A new level after the existing ones."""
    with errors():
        lv = levels.create_level(
            workspace_of(request), project.id, body.name, body.basis, body.threshold, body.benefits
        )
    return {"id": lv.id, "name": lv.name, "position": lv.position}


@router.get("/accounts/{person_id}")
def account(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    person_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """A person's balance, lifetime earned points, spend, level and latest ledger entries."""
    ws = workspace_of(request)
    found = levels.account_of(ws, project.id, person_id)
    if found is None:
        raise HTTPException(404, f"person_id: no points account for {person_id!r}")
    with ws.sessions() as session:
        entries = session.scalars(
            select(PointsEntry)
            .where(PointsEntry.project_id == project.id, PointsEntry.person_id == person_id)
            .order_by(PointsEntry.id.desc())
            .limit(limit)
        ).all()
    return {
        "person_id": person_id,
        "balance": found.balance,
        "earned": found.earned,
        "spend": float(found.spend),
        "level": found.level,
        "entries": [entry_out(e) for e in entries],
    }


@router.get("/summary")
def summary(principal: Viewer, request: Request, project: CurrentProject) -> dict[str, Any]:
    """Points by entry kind, accounts and the level distribution."""
    ws = workspace_of(request)
    with ws.sessions() as session:
        kinds = session.execute(
            select(PointsEntry.kind, func.count(), func.sum(PointsEntry.points))
            .where(PointsEntry.project_id == project.id)
            .group_by(PointsEntry.kind)
        ).all()
        dist = session.execute(
            select(PointsAccount.level, func.count(), func.sum(PointsAccount.balance))
            .where(PointsAccount.project_id == project.id)
            .group_by(PointsAccount.level)
        ).all()
    return {
        "kinds": {k: {"entries": int(n), "points": int(p or 0)} for k, n, p in kinds},
        "levels": {lv: {"persons": int(n), "balance": int(b or 0)} for lv, n, b in dist},
        "accounts": sum(int(n) for _, n, _ in dist),
        "outstanding": sum(int(b or 0) for _, _, b in dist),
    }


@router.post("/redeem", status_code=201)
def redeem(
    principal: Operator, request: Request, project: CurrentProject, body: Redeem
) -> dict[str, Any]:
    """Spend points; the same key again returns the first redemption (never spends twice)."""
    with errors():
        entry = points_ledger.redeem(
            workspace_of(request),
            project.id,
            body.person_id,
            body.points,
            body.key,
            reason=body.reason,
            by=principal.account.name,
        )
    return entry_out(entry)


@router.post("/adjust", status_code=201)
def adjust(
    principal: Operator, request: Request, project: CurrentProject, body: Adjust
) -> dict[str, Any]:
    """An operator's correction with a reason."""
    with errors():
        entry = points_ledger.adjust(
            workspace_of(request),
            project.id,
            body.person_id,
            body.points,
            body.key,
            reason=body.reason,
            by=principal.account.name,
            validity_days=body.validity_days,
        )
    return entry_out(entry)


@router.post("/refund", status_code=201)
def refund(
    principal: Operator, request: Request, project: CurrentProject, body: Refund
) -> dict[str, Any]:
    """Give back (part of) a redemption."""
    with errors():
        entry = points_ledger.refund(
            workspace_of(request),
            project.id,
            body.redeem_key,
            body.key,
            body.points,
            reason=body.reason,
            by=principal.account.name,
        )
    return entry_out(entry)


@router.post("/award")
def award(
    principal: Operator, request: Request, project: CurrentProject, body: AwardRange
) -> dict[str, Any]:
    """Apply the rules to events of from..to (local days), or to newly loaded events."""
    ws = workspace_of(request)
    if (body.first is None) != (body.last is None):
        raise HTTPException(422, "from, to: give both or neither")
    with errors():
        if body.first is not None:
            s = points_award.award(ws, project, first=body.first, last=body.last)
        else:
            s = points_award.award_new(ws, project)
    return {
        "events": s.events,
        "entries": s.entries,
        "points": s.points,
        "capped": s.capped,
        "level_changes": s.level_changes,
        "level_events": s.level_events,
    }


@router.post("/expire")
def expire(principal: Operator, request: Request, project: CurrentProject) -> dict[str, Any]:
    """Expire points past their validity now."""
    with errors():
        written = points_ledger.expire(workspace_of(request), project.id)
    return {"expired_lots": written}
