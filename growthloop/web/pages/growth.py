"""Growth system pages (用户成长体系): points rules, levels, the ledger of a person."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from growthloop.ops import levels, points_award, points_ledger, points_rules
from growthloop.ops.points_models import PointsEntry
from growthloop.web.api.points import errors, summary
from growthloop.web.context import CurrentProject
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
KIND_KEYS = {
    "EARN": "growth.kind_earn",
    "REDEEM": "growth.kind_redeem",
    "ADJUST": "growth.kind_adjust",
    "EXPIRE": "growth.kind_expire",
    "REFUND": "growth.kind_refund",
}
BASIS_KEYS = {"points": "growth.basis_points", "spend": "growth.basis_spend"}


@router.get("/growth")
def growth_page(
    principal: Viewer, request: Request, project: CurrentProject, person: str | None = None
) -> Response:
    """Rules, levels, totals by entry kind and level, and one person's ledger."""
    ws = workspace_of(request)
    account, entries = None, []
    if person:
        account = levels.account_of(ws, project.id, person)
        with ws.sessions() as session:
            entries = list(
                session.scalars(
                    select(PointsEntry)
                    .where(PointsEntry.project_id == project.id, PointsEntry.person_id == person)
                    .order_by(PointsEntry.id.desc())
                    .limit(200)
                )
            )
    return render(
        request,
        "growth.html",
        {
            "project": project,
            "rules": points_rules.list_rules(ws, project.id),
            "levels": levels.list_levels(ws, project.id),
            "totals": summary(principal, request, project),
            "person": person or "",
            "account": account,
            "entries": entries,
            "kind_keys": KIND_KEYS,
            "basis_keys": BASIS_KEYS,
        },
    )


def _back(project: CurrentProject, person: str = "") -> RedirectResponse:
    extra = f"&person={person}" if person else ""
    return RedirectResponse(f"/growth?project={project.slug}{extra}", status_code=303)


@router.post("/growth/rules")
def add_rule(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    event: Annotated[str, Form(min_length=1, max_length=200)],
    points: Annotated[int, Form(ge=1, le=1_000_000)],
    per_amount: Annotated[Decimal | None, Form(gt=0)] = None,
    once: Annotated[bool, Form()] = False,
    daily_cap: Annotated[int | None, Form(ge=1)] = None,
    validity_days: Annotated[int | None, Form(ge=1, le=36500)] = None,
) -> Response:
    """Add a points rule."""
    values = {
        "name": name,
        "event": event,
        "points": points,
        "per_amount": per_amount,
        "once": once,
        "daily_cap": daily_cap,
        "validity_days": validity_days,
    }
    with errors():
        points_rules.create_rule(workspace_of(request), project.id, values)
    return _back(project)


@router.post("/growth/levels")
def add_level(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    basis: Annotated[str, Form(pattern="^(points|spend)$")],
    threshold: Annotated[Decimal, Form(ge=0)],
    benefits: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Add a level after the existing ones."""
    with errors():
        levels.create_level(workspace_of(request), project.id, name, basis, threshold, benefits)
    return _back(project)


@router.post("/growth/adjust")
def adjust_points(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    person: Annotated[str, Form(min_length=1, max_length=200)],
    points: Annotated[int, Form()],
    key: Annotated[str, Form(min_length=1, max_length=200)],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Add or take a person's points by hand, with a reason."""
    with errors():
        points_ledger.adjust(
            workspace_of(request),
            project.id,
            person,
            points,
            key,
            reason=reason,
            by=principal.account.name,
        )
    return _back(project, person)


@router.post("/growth/award")
def award_points(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    first: Annotated[date, Form()],
    last: Annotated[date, Form()],
) -> Response:
    """Apply the rules to the events of a date range (never awards twice)."""
    points_award.award(workspace_of(request), project, first=first, last=last)
    return _back(project)
