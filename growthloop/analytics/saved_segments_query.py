"""A project's saved segments as a query context sees them (SavedSegmentSource).

Analyses name saved segments by id: `{"type": "segment", "segment_id": 3}` in `filters`, an
`in segment` condition of a segment definition, a `segment` breakdown. The context asks this
object for a rule segment's definition (evaluated inline, at the context's moment) or a
segment's last computed members, which enter the query as an in-memory table. Members are
loaded once per context.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from growthloop.analytics.saved_segments import (
    SegmentNotFoundError,
    definition_of,
    get_segment,
    segment_members,
)
from growthloop.analytics.saved_segments_models import SavedSegment
from growthloop.analytics.spec import SegmentDefinition
from growthloop.analytics.validation import Problem, SpecError
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace


class WorkspaceSegments:
    """Saved segments of one project of a workspace, for query contexts anchored at `now_utc`;
    give the project's id, or its `slug` (looked up when a segment is first asked for)."""

    def __init__(
        self,
        ws: Workspace,
        project_id: int | None,
        now_utc: datetime,
        slug: str | None = None,
    ) -> None:
        self.ws = ws
        self.project_id = project_id
        self.slug = slug
        self.now_utc = now_utc
        self._members: dict[int, list[str]] = {}

    @classmethod
    def for_slug(cls, ws: Workspace, slug: str, now_utc: datetime) -> WorkspaceSegments:
        return cls(ws, None, now_utc, slug)

    def _project_id(self) -> int:
        if self.project_id is None:
            with self.ws.sessions() as session:
                found = session.scalar(select(Project.id).where(Project.slug == self.slug))
            if found is None:
                raise SpecError([Problem("project", "project", f"no project {self.slug!r}")])
            self.project_id = int(found)
        return self.project_id

    def _segment(self, segment_id: int) -> SavedSegment:
        try:
            return get_segment(self.ws, self._project_id(), segment_id)
        except SegmentNotFoundError as exc:
            raise SpecError([Problem("unknown_segment", "segment_id", str(exc))]) from exc

    def definition(self, segment_id: int) -> SegmentDefinition | None:
        return definition_of(self._segment(segment_id))

    def name(self, segment_id: int) -> str:
        return self._segment(segment_id).name

    def containing(self, person_id: str) -> Sequence[tuple[int, str]]:
        from growthloop.analytics.saved_segments_export import segments_of_person

        return [(s.id, s.name) for s in segments_of_person(self.ws, self._project_id(), person_id)]

    def member_ids(self, segment_id: int) -> Sequence[str]:
        if segment_id not in self._members:
            self._segment(segment_id)
            self._members[segment_id] = segment_members(
                self.ws, self._project_id(), segment_id, self.now_utc
            )
        return self._members[segment_id]
