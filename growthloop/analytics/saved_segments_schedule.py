"""The `segments` job: recompute every rule segment whose refresh interval has passed.

A segment is due when it was never tried, or its last attempt (success or failure) is at least
`refresh_hours` old. Running the job twice at the same moment recomputes nothing the second
time; a segment that fails is recorded with its error and tried again one interval later.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from growthloop.analytics.saved_segments import recompute
from growthloop.analytics.saved_segments_models import RULE, SavedSegment, SegmentMembership
from growthloop.workspace import Workspace


@dataclass(frozen=True)
class SegmentRun:
    """One recomputation the job did: the size, or the error."""

    project_id: int
    segment_id: int
    size: int | None
    error: str | None = None


def due_segments(
    ws: Workspace, now_utc: datetime, project_ids: Collection[int] | None = None
) -> list[SavedSegment]:
    """Rule segments with a refresh interval whose last attempt is that old (or never made),
    of every project (or of `project_ids`)."""
    query = (
        select(SavedSegment, SegmentMembership.attempted_at)
        .outerjoin(SegmentMembership, SegmentMembership.segment_id == SavedSegment.id)
        .where(SavedSegment.kind == RULE, SavedSegment.refresh_hours.is_not(None))
        .order_by(SavedSegment.project_id, SavedSegment.id)
    )
    if project_ids is not None:
        query = query.where(SavedSegment.project_id.in_(list(project_ids)))
    with ws.sessions() as session:
        rows = session.execute(query).all()
    due = []
    for seg, attempted in rows:
        hours = seg.refresh_hours or 0
        if attempted is None or attempted + timedelta(hours=hours) <= now_utc:
            due.append(seg)
    return due


def run_due(
    ws: Workspace, now_utc: datetime, project_ids: Collection[int] | None = None
) -> list[SegmentRun]:
    """Recompute every due segment of every project (or of `project_ids`) at `now_utc` (the
    jobs registry entry)."""
    runs = []
    for seg in due_segments(ws, now_utc, project_ids):
        try:
            size = recompute(ws, seg.project_id, seg.id, now_utc)
        except Exception as exc:  # recorded on the segment; the other segments still run
            runs.append(SegmentRun(seg.project_id, seg.id, None, f"{type(exc).__name__}: {exc}"))
            continue
        runs.append(SegmentRun(seg.project_id, seg.id, size))
    return runs
