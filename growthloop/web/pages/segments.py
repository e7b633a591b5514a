"""Segment pages (用户分群): the list with sizes and sparklines, a rule builder, and each
segment's size history, members sample and export link."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, suppress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from growthloop.analytics import saved_segments as segs
from growthloop.analytics.saved_segments_models import SegmentSize
from growthloop.analytics.spec import SegmentDefinition
from growthloop.analytics.validation import SpecError, problems_from_pydantic
from growthloop.web.api.errors import http_errors
from growthloop.web.context import CurrentProject
from growthloop.web.overview_view import sparkline_points
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
ROWS = 4
"""Condition rows of the rule builder form."""
CONDITION_KEYS = {
    "did": "segments.cond_did",
    "did_not": "segments.cond_did_not",
    "person": "segments.cond_person",
    "in_segment": "segments.cond_in_segment",
    "not_in_segment": "segments.cond_not_in_segment",
    "funnel": "segments.cond_funnel",
    "funnel_dropped": "segments.cond_funnel_dropped",
}
OPERATORS = ("=", "!=", "contains", ">", ">=", "<", "<=", "is_set", "is_not_set")
HISTORY_POINTS = 30


def page_errors() -> AbstractContextManager[None]:
    """Segment errors as error pages: 404 unknown, 422 with the message otherwise."""
    return http_errors(
        not_found=(segs.SegmentNotFoundError,),
        unprocessable=(segs.SegmentError, SpecError, ValidationError),
        conflict_status=422,
        detail=lambda exc: (
            "; ".join(str(p) for p in problems_from_pydantic(exc))
            if isinstance(exc, ValidationError)
            else str(exc)
        ),
    )


def _number(form: dict[str, str], key: str, default: int | None) -> int | None:
    text = form.get(key, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise segs.SegmentError(f"{key}: {text!r} is not a whole number") from None


def _value(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


def condition_from_form(form: dict[str, str], i: int) -> dict[str, Any] | None:
    """Condition row `i` of the builder form as a definition condition (None: row unused)."""
    kind = form.get(f"c{i}_type", "")
    if not kind:
        return None
    if kind in ("did", "did_not"):
        event = form.get(f"c{i}_event", "").strip() or None
        return {
            "type": "behaviour",
            "event": {"event": event},
            "min_count": _number(form, f"c{i}_count", 1),
            "days": _number(form, f"c{i}_days", None),
            "negate": kind == "did_not",
        }
    if kind == "person":
        op = form.get(f"c{i}_operator", "=")
        flt: dict[str, Any] = {"key": form.get(f"c{i}_key", "").strip(), "type": "person"}
        flt["operator"] = op
        if op not in ("is_set", "is_not_set"):
            raw = form.get(f"c{i}_value", "")
            flt["value"] = _value(raw) if op in (">", ">=", "<", "<=") else raw
        return {"type": "person", "filter": flt}
    if kind in ("in_segment", "not_in_segment"):
        return {
            "type": "segment",
            "segment_id": _number(form, f"c{i}_segment", None),
            "negate": kind == "not_in_segment",
        }
    if kind in ("funnel", "funnel_dropped"):
        steps = [s.strip() for s in form.get(f"c{i}_steps", "").split(",") if s.strip()]
        return {
            "type": "funnel",
            "steps": [{"event": s} for s in steps],
            "step": _number(form, f"c{i}_step", len(steps)),
            "dropped": kind == "funnel_dropped",
            "window": {"value": _number(form, f"c{i}_window", 14), "unit": "day"},
            "date_range": {"date_from": f"-{_number(form, f'c{i}_funnel_days', 30)}d"},
        }
    raise segs.SegmentError(f"c{i}_type: unknown condition {kind!r}")


def definition_from_form(form: dict[str, str]) -> SegmentDefinition:
    """The JSON of the advanced field when given, else the builder rows."""
    raw = form.get("definition_json", "").strip()
    if raw:
        try:
            return SegmentDefinition.model_validate(json.loads(raw))
        except json.JSONDecodeError as exc:
            raise segs.SegmentError(f"definition_json: not valid JSON ({exc.msg})") from None
    conditions = [c for c in (condition_from_form(form, i) for i in range(ROWS)) if c]
    if not conditions:
        raise segs.SegmentError("conditions: add at least one condition")
    return SegmentDefinition.model_validate(
        {"match": form.get("match", "all"), "conditions": conditions}
    )


def history_chart(rows: list[SegmentSize]) -> dict[str, Any] | None:
    """Points of the size-over-time chart (an 600 x 160 SVG) with its axis labels."""
    if not rows:
        return None
    sizes = [float(r.size) for r in rows]
    return {
        "points": sparkline_points(tuple(sizes), 600, 160),
        "low": int(min(sizes)),
        "high": int(max(sizes)),
        "first": rows[0].computed_at,
        "last": rows[-1].computed_at,
    }


@router.get("/segments")
def segments_page(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """Every segment with its size and size sparkline, and the rule builder."""
    ws = workspace_of(request)
    found = segs.list_segments(ws, project.id)
    states = segs.memberships(ws, [s.id for s in found])
    sparks = {}
    for seg in found:
        history = segs.size_history(ws, project.id, seg.id)[-HISTORY_POINTS:]
        sparks[seg.id] = sparkline_points(tuple(float(h.size) for h in history))
    return render(
        request,
        "segments.html",
        {
            "project": project,
            "segments": found,
            "states": states,
            "sparks": sparks,
            "rows": range(ROWS),
            "condition_keys": CONDITION_KEYS,
            "operators": OPERATORS,
        },
    )


@router.post("/segments")
async def create_segment(
    principal: Operator, request: Request, project: CurrentProject
) -> Response:
    """Save a rule segment from the builder form and compute it."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    ws = workspace_of(request)
    with page_errors():
        definition = definition_from_form(form)
        seg = segs.create_segment(
            ws,
            project.id,
            form.get("name", ""),
            definition,
            principal.account.name,
            description=form.get("description", ""),
            refresh_hours=_number(form, "refresh_hours", segs.DEFAULT_REFRESH_HOURS) or None,
        )
    with suppress(Exception):  # a failure is shown on the segment's page
        segs.recompute(ws, project.id, seg.id)
    return RedirectResponse(f"/segments/{seg.id}?project={project.slug}", status_code=303)


@router.get("/segments/{segment_id}")
def segment_page(
    principal: Viewer, request: Request, project: CurrentProject, segment_id: int
) -> Response:
    """A segment's rule, size history, a sample of members and the export link."""
    ws = workspace_of(request)
    with page_errors():
        seg = segs.get_segment(ws, project.id, segment_id)
        history = segs.size_history(ws, project.id, segment_id)
    state = segs.membership(ws, segment_id)
    sample: list[str] = []
    if state is not None and state.computed_at is not None:
        sample = segs.segment_members(ws, project.id, segment_id)[:50]
    return render(
        request,
        "segment.html",
        {
            "project": project,
            "segment": seg,
            "state": state,
            "history": history,
            "chart": history_chart(history),
            "sample": sample,
            "definition": json.dumps(seg.definition, ensure_ascii=False, indent=2)
            if seg.definition
            else None,
        },
    )


@router.post("/segments/{segment_id}/recompute")
def recompute_segment(
    principal: Operator, request: Request, project: CurrentProject, segment_id: int
) -> Response:
    """Recompute now, then show the segment (a failure is shown there)."""
    ws = workspace_of(request)
    with page_errors():
        segs.get_segment(ws, project.id, segment_id)
    with suppress(Exception):
        segs.recompute(ws, project.id, segment_id)
    return RedirectResponse(f"/segments/{segment_id}?project={project.slug}", status_code=303)


@router.post("/segments/{segment_id}/delete")
def delete_segment(
    principal: Operator, request: Request, project: CurrentProject, segment_id: int
) -> Response:
    """Delete the segment (refused while another segment uses it)."""
    with page_errors():
        segs.delete_segment(workspace_of(request), project.id, segment_id)
    return RedirectResponse(f"/segments?project={project.slug}", status_code=303)
