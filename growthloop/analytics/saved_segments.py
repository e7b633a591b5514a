"""Saved segments (用户分群): create, list, edit and delete them, compute their members.

A segment is either rule-based (a SegmentDefinition, recomputed on demand and by the `segments`
job every `refresh_hours`) or static (a fixed list of person_ids, such as an RFM group, a
churn-risk list or the people who dropped off at a funnel step; `source` says where it came
from). Every computation stores the membership and a size row (size over time).

    seg = create_segment(ws, project_id, "Repeat buyers", definition)
    recompute(ws, project_id, seg.id, now_utc)      # -> size
    segment_members(ws, project_id, seg.id)          # -> sorted person_ids
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import ibis
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from growthloop.analytics.context import QueryContext
from growthloop.analytics.saved_segments_models import (
    RULE,
    STATIC,
    SavedSegment,
    SegmentMembership,
    SegmentSize,
    pack_members,
    unpack_members,
)
from growthloop.analytics.spec import SegmentDefinition
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace

DEFAULT_REFRESH_HOURS = 24
MAX_REFRESH_HOURS = 24 * 31
MAX_PERSON_ID = 200


class SegmentError(ValueError):
    """A segment request that cannot be done; the message says what and where."""


class SegmentNotFoundError(SegmentError, LookupError):
    """No segment with that id in that project."""


class StaleSegmentError(SegmentError):
    """The segment changed since the version the edit started from."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise SegmentError(f"project: no project with id {project_id}")
    return project


def _segment(session: Session, project_id: int, segment_id: int) -> SavedSegment:
    seg = session.get(SavedSegment, segment_id)
    if seg is None or seg.project_id != project_id:
        raise SegmentNotFoundError(f"segment: no segment {segment_id} in project {project_id}")
    return seg


def _name(name: str) -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 200:
        raise SegmentError("name: a segment needs a name of 1 to 200 characters")
    return cleaned


def _refresh(hours: int | None) -> int | None:
    if hours is not None and not 1 <= hours <= MAX_REFRESH_HOURS:
        raise SegmentError(
            f"refresh_hours: {hours} is not 1 to {MAX_REFRESH_HOURS} (or none: on demand only)"
        )
    return hours


def _person_ids(person_ids: Sequence[str]) -> list[str]:
    out = set()
    for i, pid in enumerate(person_ids):
        if not isinstance(pid, str) or not pid or len(pid) > MAX_PERSON_ID or "\n" in pid:
            raise SegmentError(
                f"person_ids[{i}]: {pid!r} is not a person_id (1 to {MAX_PERSON_ID} characters,"
                " one line)"
            )
        out.add(pid)
    return sorted(out)


def referenced_segments(definition: SegmentDefinition) -> list[int]:
    """Ids of the saved segments a definition's conditions name (`in segment` conditions)."""
    return [
        int(c.segment_id)
        for c in definition.conditions
        if getattr(c, "type", None) == "segment" and hasattr(c, "segment_id")
    ]


def _check_references(
    session: Session, project_id: int, definition: SegmentDefinition, own_id: int | None
) -> None:
    """Every segment the definition names exists in the project, and none leads back to it."""
    stack = [(sid, f"conditions: segment {sid}") for sid in referenced_segments(definition)]
    seen: set[int] = set()
    while stack:
        sid, where = stack.pop()
        if own_id is not None and sid == own_id:
            raise SegmentError(f"{where}: a segment cannot contain itself (directly or nested)")
        if sid in seen:
            continue
        seen.add(sid)
        other = session.get(SavedSegment, sid)
        if other is None or other.project_id != project_id:
            raise SegmentError(f"{where}: no segment {sid} in this project")
        if other.kind == RULE and other.definition is not None:
            nested = SegmentDefinition.model_validate(other.definition)
            stack += [(n, where) for n in referenced_segments(nested)]


def create_segment(
    ws: Workspace,
    project_id: int,
    name: str,
    definition: SegmentDefinition,
    created_by: str | None = None,
    *,
    description: str = "",
    refresh_hours: int | None = DEFAULT_REFRESH_HOURS,
) -> SavedSegment:
    """A rule-based segment (not computed yet: `recompute` or `segment_members` compute it)."""
    with ws.sessions.begin() as session:
        _project(session, project_id)
        _check_references(session, project_id, definition, None)
        seg = SavedSegment(
            project_id=project_id,
            name=_name(name),
            description=description,
            kind=RULE,
            definition=definition.model_dump(mode="json"),
            refresh_hours=_refresh(refresh_hours),
            created_by=created_by,
        )
        session.add(seg)
        session.flush()
        session.add(SegmentMembership(segment_id=seg.id))
        return seg


def create_static_segment(
    ws: Workspace,
    project_id: int,
    name: str,
    person_ids: Sequence[str],
    source: str,
    created_by: str | None = None,
    *,
    description: str = "",
    now_utc: datetime | None = None,
) -> SavedSegment:
    """A fixed list of people (duplicates dropped); `source` says where the list came from."""
    ids = _person_ids(person_ids)
    if not source.strip() or len(source) > 200:
        raise SegmentError("source: say where the list comes from (1 to 200 characters)")
    now = now_utc or utcnow()
    with ws.sessions.begin() as session:
        _project(session, project_id)
        seg = SavedSegment(
            project_id=project_id,
            name=_name(name),
            description=description,
            kind=STATIC,
            source=source.strip(),
            refresh_hours=None,
            created_by=created_by,
        )
        session.add(seg)
        session.flush()
        session.add(
            SegmentMembership(
                segment_id=seg.id,
                attempted_at=now,
                computed_at=now,
                size=len(ids),
                members=pack_members(ids),
            )
        )
        session.add(
            SegmentSize(
                segment_id=seg.id, computed_at=now, size=len(ids), added=len(ids), removed=0
            )
        )
        return seg


def get_segment(ws: Workspace, project_id: int, segment_id: int) -> SavedSegment:
    with ws.sessions() as session:
        return _segment(session, project_id, segment_id)


def definition_of(seg: SavedSegment) -> SegmentDefinition | None:
    """The rule of a rule-based segment (None for a static one)."""
    if seg.kind != RULE or seg.definition is None:
        return None
    return SegmentDefinition.model_validate(seg.definition)


def list_segments(ws: Workspace, project_id: int) -> list[SavedSegment]:
    with ws.sessions() as session:
        return list(
            session.scalars(
                select(SavedSegment)
                .where(SavedSegment.project_id == project_id)
                .order_by(SavedSegment.name, SavedSegment.id)
            )
        )


def membership(ws: Workspace, segment_id: int) -> SegmentMembership | None:
    with ws.sessions() as session:
        return session.get(SegmentMembership, segment_id)


def memberships(ws: Workspace, segment_ids: Sequence[int]) -> dict[int, SegmentMembership]:
    """The last computation of each segment, without loading the member lists' history."""
    with ws.sessions() as session:
        rows = session.scalars(
            select(SegmentMembership).where(SegmentMembership.segment_id.in_(list(segment_ids)))
        )
        return {m.segment_id: m for m in rows}


def size_history(ws: Workspace, project_id: int, segment_id: int) -> list[SegmentSize]:
    """Every computation's size, oldest first."""
    with ws.sessions() as session:
        _segment(session, project_id, segment_id)
        return list(
            session.scalars(
                select(SegmentSize)
                .where(SegmentSize.segment_id == segment_id)
                .order_by(SegmentSize.computed_at, SegmentSize.id)
            )
        )


def update_segment(
    ws: Workspace,
    project_id: int,
    segment_id: int,
    version: int,
    changes: dict[str, Any],
) -> SavedSegment:
    """Change name, description, definition (rule segments) or refresh_hours; `version` is the
    one the edit started from (StaleSegmentError if someone changed it since)."""
    allowed = {"name", "description", "definition", "refresh_hours"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise SegmentError(
            f"{unknown[0]}: not a field you can change ({', '.join(sorted(allowed))})"
        )
    try:
        with ws.sessions.begin() as session:
            seg = _segment(session, project_id, segment_id)
            if seg.version != version:
                raise StaleSegmentError(
                    f"version: segment {segment_id} is at version {seg.version}, not {version};"
                    " reload it and try again"
                )
            if "name" in changes:
                seg.name = _name(str(changes["name"]))
            if "description" in changes:
                seg.description = str(changes["description"] or "")
            if "refresh_hours" in changes:
                if seg.kind == STATIC and changes["refresh_hours"] is not None:
                    raise SegmentError("refresh_hours: a static segment is never recomputed")
                seg.refresh_hours = _refresh(changes["refresh_hours"])
            if "definition" in changes:
                if seg.kind == STATIC:
                    raise SegmentError("definition: a static segment has no rule")
                definition = changes["definition"]
                if not isinstance(definition, SegmentDefinition):
                    definition = SegmentDefinition.model_validate(definition)
                _check_references(session, project_id, definition, segment_id)
                seg.definition = definition.model_dump(mode="json")
            seg.updated_at = utcnow()
            session.flush()
            return seg
    except StaleDataError as exc:
        raise StaleSegmentError(
            f"version: segment {segment_id} changed while saving; reload it and try again"
        ) from exc


def delete_segment(ws: Workspace, project_id: int, segment_id: int) -> None:
    """Delete a segment, its membership and history; refused while another segment uses it."""
    with ws.sessions.begin() as session:
        _segment(session, project_id, segment_id)
        for other in session.scalars(
            select(SavedSegment).where(SavedSegment.project_id == project_id)
        ):
            rule = definition_of(other)
            if rule is not None and segment_id in referenced_segments(rule):
                raise SegmentError(
                    f"segment: {segment_id} is used by segment {other.id} ({other.name});"
                    " change that one first"
                )
        session.execute(delete(SegmentSize).where(SegmentSize.segment_id == segment_id))
        session.execute(delete(SegmentMembership).where(SegmentMembership.segment_id == segment_id))
        session.execute(delete(SavedSegment).where(SavedSegment.id == segment_id))


def project_slug(ws: Workspace, project_id: int) -> str:
    with ws.sessions() as session:
        return _project(session, project_id).slug


@contextmanager
def query_context(ws: Workspace, project_id: int, now_utc: datetime) -> Iterator[QueryContext]:
    """A context on the project's event store (a cursor of its own, so it may run in any
    thread) that knows the project's saved segments."""
    from growthloop.analytics.saved_segments_query import WorkspaceSegments

    cursor = ws.events(project_slug(ws, project_id)).con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        backend = ibis.duckdb.from_connection(cursor)
        yield QueryContext(
            backend, ws.settings.tz, now_utc, WorkspaceSegments(ws, project_id, now_utc)
        )
    finally:
        cursor.close()


def compute_people(ctx: QueryContext, definition: SegmentDefinition) -> list[str]:
    """Everyone in the segment at ctx.now_utc, sorted."""
    people = ctx.segment(definition)
    return sorted(str(r["person_id"]) for r in ctx.execute(people.select("person_id")))


def recompute(
    ws: Workspace, project_id: int, segment_id: int, now_utc: datetime | None = None
) -> int:
    """Compute a rule segment's members at `now_utc` and store them with a size row; returns
    the size. A static segment keeps its list (its size is returned). A failure is recorded
    on the segment (`error`) and raised."""
    now = now_utc or utcnow()
    seg = get_segment(ws, project_id, segment_id)
    rule = definition_of(seg)
    if rule is None:
        found = membership(ws, segment_id)
        return int(found.size or 0) if found else 0
    try:
        with query_context(ws, project_id, now) as ctx:
            people = compute_people(ctx, rule)
    except Exception as exc:
        with ws.sessions.begin() as session:
            failed = session.get(SegmentMembership, segment_id) or SegmentMembership(
                segment_id=segment_id
            )
            failed.attempted_at, failed.error = now, f"{type(exc).__name__}: {exc}"[:2000]
            session.add(failed)
        raise
    with ws.sessions.begin() as session:
        state = session.get(SegmentMembership, segment_id)
        if state is None:
            state = SegmentMembership(segment_id=segment_id)
            session.add(state)
        before = set(unpack_members(state.members))
        after = set(people)
        state.attempted_at, state.computed_at, state.error = now, now, None
        state.size, state.members = len(people), pack_members(people)
        session.add(
            SegmentSize(
                segment_id=segment_id,
                computed_at=now,
                size=len(people),
                added=len(after - before),
                removed=len(before - after),
            )
        )
    return len(people)


def segment_members(
    ws: Workspace, project_id: int, segment_id: int, now_utc: datetime | None = None
) -> list[str]:
    """The segment's person_ids, sorted: a static segment's list; a rule segment's last
    computed membership (computed at `now_utc` first if it never was)."""
    seg = get_segment(ws, project_id, segment_id)
    state = membership(ws, segment_id)
    if seg.kind == RULE and (state is None or state.computed_at is None):
        recompute(ws, project_id, segment_id, now_utc)
        state = membership(ws, segment_id)
    return unpack_members(state.members if state else None)
