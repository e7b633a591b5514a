"""Save a model's list as a user segment: an RFM segment's members, the churn-risk list.

The segment is static (the people on the list when it was saved), created with
growthloop.analytics.saved_segments.create_static_segment, so outreach can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from growthloop.analytics import saved_segments
from growthloop.models import rfm
from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.web.api.models_common import store_of, today
from growthloop.web.api.models_customers import MAPS, SegmentMap, churn_list, clv_view, rfm_view
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.security import Operator, Principal, workspace_of

router = APIRouter()


class RfmSegmentIn(BaseModel):
    """Which RFM segment to save, as of which day."""

    segment: str = Field(description="A segment code, e.g. cant_lose or important_retention.")
    map: SegmentMap = Field(default="rf", description="rf: 10 segments; value: 8 segments.")
    as_of: date | None = None
    since: date | None = None
    threshold: rfm.Threshold = "mean"
    name: str | None = Field(default=None, max_length=200, description="Default: from the segment.")


class ChurnSegmentIn(BaseModel):
    """The churn-risk list's settings, as of which day."""

    as_of: date | None = None
    value_quantile: float = 0.8
    max_p_alive: float = 0.5
    name: str | None = Field(default=None, max_length=200)


def save(
    request: Request,
    project: ProjectRef,
    principal: Principal,
    name: str,
    person_ids: Sequence[str],
    source: str,
) -> dict[str, Any]:
    """Create the static segment; 422 with the reason when the segment store refuses."""
    if not person_ids:
        raise HTTPException(422, f"{source}: the list is empty, there is nobody to save")
    try:
        seg = saved_segments.create_static_segment(
            workspace_of(request),
            project.id,
            name,
            person_ids,
            source,
            principal.account.name,
            description=source,
        )
    except saved_segments.SegmentError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"id": seg.id, "name": seg.name, "size": len(set(person_ids)), "source": source}


@router.post("/rfm/segments", status_code=201)
def save_rfm_segment(
    principal: Operator, request: Request, project: CurrentProject, body: RfmSegmentIn
) -> dict[str, Any]:
    """Save one RFM segment's customers as a static user segment."""
    day = body.as_of or today(request)
    with store_of(request, project) as store:
        if body.segment not in MAPS[body.map]:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="segment", rule=f"one of {list(MAPS[body.map])}", value=body.segment
                )
            )
        view = rfm_view(store, day, body.since, body.threshold)
        members = rfm.segment_members(
            view.customers.person_ids.tolist(), view.segments(body.map).tolist(), body.segment
        )
    label = rfm.SEGMENT_NAMES[body.segment][0]
    source = f"RFM {'R x F' if body.map == 'rf' else '8-segment'} {label} as of {day}"
    return save(request, project, principal, body.name or source, members, source)


@router.post("/churn/segments", status_code=201)
def save_churn_segment(
    principal: Operator, request: Request, project: CurrentProject, body: ChurnSegmentIn
) -> dict[str, Any]:
    """Save the churn-risk list (high value, low P(alive)) as a static user segment."""
    day = body.as_of or today(request)
    with store_of(request, project) as store:
        view = clv_view(store, day)
        _, rows = churn_list(view, body.value_quantile, body.max_p_alive)
    source = f"churn risk as of {day} (spend >= q{body.value_quantile:g}, P(alive) < {body.max_p_alive:g})"
    ids = [str(r["person_id"]) for r in rows]
    return save(request, project, principal, body.name or source, ids, source)
