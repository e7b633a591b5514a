"""Saved insights: named analysis specs in a project (operators write, everyone reads)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError

from growthloop.analytics.saved_segments_query import WorkspaceSegments
from growthloop.i18n import Formatter, translator
from growthloop.store.metadata import SavedInsight
from growthloop.web import saved
from growthloop.web.context import CurrentProject
from growthloop.web.insights import RunContext, read_cursor, run_insight
from growthloop.web.overview_cache import cached_overview
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/insights", tags=["insights"])


class InsightOut(BaseModel):
    """A saved insight."""

    id: int
    name: str
    spec: dict[str, Any]
    owner_id: int
    created_at: datetime
    updated_at: datetime


class InsightIn(BaseModel):
    """An insight to save."""

    name: str = Field(min_length=1, max_length=200)
    spec: dict[str, Any] = Field(
        description='An analysis spec, e.g. {"kind": "kpi", "metric": "gmv", "days": 30}.'
    )


class InsightChange(BaseModel):
    """Fields to change; absent fields stay."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    spec: dict[str, Any] | None = None


def insight_out(i: SavedInsight) -> InsightOut:
    """The API view of a stored insight."""
    return InsightOut(
        id=i.id,
        name=i.name,
        spec=i.spec,
        owner_id=i.owner_id,
        created_at=i.created_at,
        updated_at=i.updated_at,
    )


def _spec_error(exc: ValidationError) -> HTTPException:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in ("spec", *first["loc"]))
    return HTTPException(422, f"{where}: {first['msg']}")


def _lookup(request: Request, project: CurrentProject, insight_id: int) -> SavedInsight:
    try:
        return saved.get_insight(workspace_of(request), project.id, insight_id)
    except saved.NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("")
def insights(principal: Viewer, request: Request, project: CurrentProject) -> list[InsightOut]:
    """The project's saved insights."""
    return [insight_out(i) for i in saved.list_insights(workspace_of(request), project.id)]


@router.post("", status_code=201)
def create_insight(
    principal: Operator, request: Request, project: CurrentProject, body: InsightIn
) -> InsightOut:
    """Save a spec under a name."""
    try:
        insight = saved.save_insight(
            workspace_of(request), project.id, principal.account, body.name, body.spec
        )
    except ValidationError as exc:
        raise _spec_error(exc) from None
    return insight_out(insight)


@router.get("/{insight_id}")
def get_insight(
    principal: Viewer, request: Request, project: CurrentProject, insight_id: int
) -> InsightOut:
    """One saved insight."""
    return insight_out(_lookup(request, project, insight_id))


@router.get("/{insight_id}/result")
def insight_result(
    principal: Viewer, request: Request, project: CurrentProject, insight_id: int
) -> dict[str, Any]:
    """Run the insight: a KPI card, a Plotly figure, or an analysis result (`analysis`)."""
    insight = _lookup(request, project, insight_id)
    ws = workspace_of(request)
    locale = getattr(request.state, "locale", "en")
    with read_cursor(project.store) as cursor:
        ctx = RunContext(
            cursor,
            ws.settings.tz,
            translator(locale),
            Formatter(locale, ws.settings.currency),
            partial(cached_overview, request, project.store, cursor),
            saved=WorkspaceSegments(ws, project.id, datetime.now(UTC).replace(tzinfo=None)),
        )
        card = run_insight(insight.spec, ctx)
    kpi = card.kpi.__dict__ if card.kpi else None
    return {
        "kind": card.kind,
        "period": card.period,
        "kpi": kpi,
        "figure": card.figure,
        "analysis": card.analysis,
    }


@router.put("/{insight_id}")
def change_insight(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    insight_id: int,
    body: InsightChange,
) -> InsightOut:
    """Rename an insight or replace its spec."""
    _lookup(request, project, insight_id)
    try:
        insight = saved.update_insight(
            workspace_of(request), project.id, insight_id, body.name, body.spec
        )
    except ValidationError as exc:
        raise _spec_error(exc) from None
    return insight_out(insight)


@router.delete("/{insight_id}", status_code=204)
def delete_insight(
    principal: Operator, request: Request, project: CurrentProject, insight_id: int
) -> None:
    """Delete an insight and unpin it everywhere."""
    _lookup(request, project, insight_id)
    saved.delete_insight(workspace_of(request), project.id, insight_id)
