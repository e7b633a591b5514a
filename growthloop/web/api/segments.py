"""Saved segments (用户分群): definitions, members, size over time, export."""

from __future__ import annotations

from contextlib import AbstractContextManager, suppress
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from growthloop.analytics import saved_segments as segs
from growthloop.analytics.funnels import FunnelSpec
from growthloop.analytics.saved_segments_export import members_csv, segments_of_person
from growthloop.analytics.saved_segments_funnel import segment_from_funnel
from growthloop.analytics.saved_segments_models import SavedSegment, SegmentMembership
from growthloop.analytics.spec import SegmentDefinition
from growthloop.analytics.validation import SpecError, problems_from_pydantic
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/segments", tags=["segments"])

EXAMPLE_DEFINITION = {
    "match": "all",
    "conditions": [
        {"type": "behaviour", "event": {"event": "purchase"}, "min_count": 2, "days": 30},
        {"type": "behaviour", "event": {"event": "$pageview"}, "days": 7, "negate": True},
    ],
}


class SegmentIn(BaseModel):
    """A rule segment; computed as soon as it is saved."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    definition: SegmentDefinition = Field(examples=[EXAMPLE_DEFINITION])
    refresh_hours: int | None = Field(
        default=segs.DEFAULT_REFRESH_HOURS,
        ge=1,
        le=segs.MAX_REFRESH_HOURS,
        description="Recompute every this many hours (null: on demand only).",
    )


class StaticSegmentIn(BaseModel):
    """A fixed list of people."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    person_ids: list[str] = Field(max_length=1_000_000)
    source: str = Field(min_length=1, max_length=200, description="Where the list comes from.")


class FunnelSegmentIn(BaseModel):
    """The people at a funnel step (by default: who reached it and went no further)."""

    name: str = Field(min_length=1, max_length=200)
    funnel: dict[str, Any] = Field(description="A funnel spec (docs/analytics.md).")
    step: int = Field(ge=1, description="The step, counted from 1.")
    dropped: bool = True
    static: bool = Field(default=False, description="Save today's list instead of the rule.")
    breakdown_value: str | None = Field(
        default=None, description="Only this group of a broken-down funnel (saved static)."
    )


class SegmentChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: SegmentDefinition | None = None
    refresh_hours: int | None = Field(default=None, ge=1, le=segs.MAX_REFRESH_HOURS)


class PreviewIn(BaseModel):
    """A definition to evaluate now without saving it."""

    definition: SegmentDefinition
    limit: int = Field(default=20, ge=0, le=1000)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def segment_out(seg: SavedSegment, state: SegmentMembership | None) -> dict[str, Any]:
    """A segment's definition and its last computation."""
    return {
        "id": seg.id,
        "name": seg.name,
        "description": seg.description,
        "kind": seg.kind,
        "definition": seg.definition,
        "source": seg.source,
        "refresh_hours": seg.refresh_hours,
        "created_by": seg.created_by,
        "created_at": _time(seg.created_at),
        "updated_at": _time(seg.updated_at),
        "version": seg.version,
        "size": state.size if state else None,
        "computed_at": _time(state.computed_at if state else None),
        "attempted_at": _time(state.attempted_at if state else None),
        "error": state.error if state else None,
    }


def _detail(exc: Exception) -> Any:
    """A spec's problems each naming its field; any other error's message."""
    if isinstance(exc, SpecError):
        problems = [{"field": p.field, "message": p.message} for p in exc.problems]
        return {"message": str(exc), "problems": problems}
    if isinstance(exc, ValidationError):
        problems = [{"field": p.field, "message": p.message} for p in problems_from_pydantic(exc)]
        return {"message": "invalid spec", "problems": problems}
    return str(exc)


def errors() -> AbstractContextManager[None]:
    """Segment errors as HTTP answers: 404 unknown, 409 version conflict, 422 bad value."""
    return http_errors(
        not_found=(segs.SegmentNotFoundError,),
        conflict=(segs.StaleSegmentError,),
        unprocessable=(SpecError, ValidationError, segs.SegmentError),
        detail=_detail,
    )


def _out(request: Request, seg: SavedSegment) -> dict[str, Any]:
    return segment_out(seg, segs.membership(workspace_of(request), seg.id))


@router.get("")
def list_segments(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The project's segments with their last size."""
    ws = workspace_of(request)
    found = segs.list_segments(ws, project.id)
    states = segs.memberships(ws, [s.id for s in found])
    return [segment_out(s, states.get(s.id)) for s in found]


@router.post("", status_code=201)
def create_segment(
    principal: Operator, request: Request, project: CurrentProject, body: SegmentIn
) -> dict[str, Any]:
    """A rule segment, computed now (a failing computation is reported in `error`)."""
    ws = workspace_of(request)
    with errors():
        seg = segs.create_segment(
            ws,
            project.id,
            body.name,
            body.definition,
            principal.account.name,
            description=body.description,
            refresh_hours=body.refresh_hours,
        )
    # A failing computation is kept on the segment as `error`; the segment itself is saved.
    with suppress(Exception):
        segs.recompute(ws, project.id, seg.id)
    return _out(request, seg)


@router.post("/static", status_code=201)
def create_static_segment(
    principal: Operator, request: Request, project: CurrentProject, body: StaticSegmentIn
) -> dict[str, Any]:
    """A static segment from a list of person_ids."""
    with errors():
        seg = segs.create_static_segment(
            workspace_of(request),
            project.id,
            body.name,
            body.person_ids,
            body.source,
            principal.account.name,
            description=body.description,
        )
    return _out(request, seg)


@router.post("/from-funnel", status_code=201)
def create_from_funnel(
    principal: Operator, request: Request, project: CurrentProject, body: FunnelSegmentIn
) -> dict[str, Any]:
    """The people who dropped off at (or reached) a funnel step, as a segment."""
    ws = workspace_of(request)
    with errors():
        spec = FunnelSpec.model_validate(body.funnel)
        seg = segment_from_funnel(
            ws,
            project.id,
            body.name,
            spec,
            body.step,
            dropped=body.dropped,
            static=body.static,
            breakdown_value=body.breakdown_value,
            created_by=principal.account.name,
        )
        segs.recompute(ws, project.id, seg.id)
    return _out(request, seg)


@router.post("/preview")
def preview(
    principal: Viewer, request: Request, project: CurrentProject, body: PreviewIn
) -> dict[str, Any]:
    """Size and the first person_ids of a definition, evaluated now, not saved."""
    ws = workspace_of(request)
    with errors(), segs.query_context(ws, project.id, segs.utcnow()) as ctx:
        people = segs.compute_people(ctx, body.definition)
    return {"size": len(people), "people": people[: body.limit]}


@router.get("/of-person")
def of_person(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    person_id: str = Query(min_length=1, max_length=200),
) -> list[dict[str, Any]]:
    """The saved segments whose last computed membership holds the person."""
    ws = workspace_of(request)
    found = segments_of_person(ws, project.id, person_id)
    states = segs.memberships(ws, [s.id for s in found])
    return [segment_out(s, states.get(s.id)) for s in found]


@router.post("/recompute")
def recompute_all(
    principal: Operator, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """Recompute every rule segment of the project now."""
    ws = workspace_of(request)
    out = []
    for seg in segs.list_segments(ws, project.id):
        if seg.kind != "rule":
            continue
        try:
            size: int | None = segs.recompute(ws, project.id, seg.id)
            error = None
        except Exception as exc:  # recorded on the segment too
            size, error = None, f"{type(exc).__name__}: {exc}"
        out.append({"id": seg.id, "size": size, "error": error})
    return out


@router.get("/{segment_id}")
def get_segment(
    principal: Viewer, request: Request, project: CurrentProject, segment_id: int
) -> dict[str, Any]:
    """One segment with its last computation."""
    with errors():
        seg = segs.get_segment(workspace_of(request), project.id, segment_id)
    return _out(request, seg)


@router.patch("/{segment_id}")
def change_segment(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    segment_id: int,
    body: SegmentChange,
) -> dict[str, Any]:
    """Change a segment; 409 when someone saved it since `version`. A changed definition is
    recomputed at once."""
    ws = workspace_of(request)
    changes = body.model_dump(exclude_unset=True, exclude={"version", "definition"})
    if body.definition is not None:
        changes["definition"] = body.definition
    with errors():
        seg = segs.update_segment(ws, project.id, segment_id, body.version, changes)
        if "definition" in changes:
            segs.recompute(ws, project.id, segment_id)
    return _out(request, seg)


@router.delete("/{segment_id}", status_code=204)
def delete_segment(
    principal: Operator, request: Request, project: CurrentProject, segment_id: int
) -> None:
    """Delete a segment, its members and history (refused while another segment uses it)."""
    with errors():
        segs.delete_segment(workspace_of(request), project.id, segment_id)


@router.post("/{segment_id}/recompute")
def recompute(
    principal: Operator, request: Request, project: CurrentProject, segment_id: int
) -> dict[str, Any]:
    """Recompute the segment now."""
    ws = workspace_of(request)
    with errors():
        seg = segs.get_segment(ws, project.id, segment_id)
        segs.recompute(ws, project.id, segment_id)
    return _out(request, seg)


@router.get("/{segment_id}/members")
def members(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    segment_id: int,
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=1, le=10_000),
) -> dict[str, Any]:
    """The person_ids of the last computation, sorted (computed first if never)."""
    with errors():
        people = segs.segment_members(workspace_of(request), project.id, segment_id)
    return {"size": len(people), "offset": offset, "people": people[offset : offset + limit]}


@router.get("/{segment_id}/history")
def history(
    principal: Viewer, request: Request, project: CurrentProject, segment_id: int
) -> list[dict[str, Any]]:
    """Size after every computation, oldest first, with people joined and left."""
    with errors():
        rows = segs.size_history(workspace_of(request), project.id, segment_id)
    return [
        {
            "computed_at": _time(r.computed_at),
            "size": r.size,
            "added": r.added,
            "removed": r.removed,
        }
        for r in rows
    ]


@router.get("/{segment_id}/export.csv")
def export_csv(
    principal: Viewer, request: Request, project: CurrentProject, segment_id: int
) -> Response:
    """The members as CSV: person_id, distinct_ids (';'-separated), properties (JSON)."""
    with errors():
        text = members_csv(workspace_of(request), project.id, segment_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'},
    )
