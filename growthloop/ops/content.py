"""Topic library (选题库) and content calendar (内容日历).

Topics are typed hot / pain / scene (热点 / 痛点 / 场景) with a source and a priority (1 high ..
3 low). A piece of content moves idea -> draft -> review -> scheduled -> published; review may
send it back to draft and a scheduled piece back to review. Review needs a reviewer, scheduling a
publishing day. A piece may be a variant of another for a different channel. Cadence targets
("3 articles and 2 videos a week") are checked against the pieces scheduled or published in each
Monday-to-Sunday week. Every change is audited and version-checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.models import Cadence, ContentPiece, Topic
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

TOPIC_KINDS = ("hot", "pain", "scene")
STAGES = ("idea", "draft", "review", "scheduled", "published")
NEXT_STAGES = {
    "idea": ("draft",),
    "draft": ("review",),
    "review": ("draft", "scheduled"),
    "scheduled": ("review", "published"),
    "published": (),
}
TOPIC_FIELDS = ("title", "kind", "source", "priority")
PIECE_FIELDS = (
    "title",
    "channel",
    "format",
    "stage",
    "assignee",
    "reviewer",
    "publish_on",
    "topic_id",
    "variant_of",
    "item_id",
)
COUNTED_STAGES = ("scheduled", "published")


def create_topic(ws: Workspace, project_id: int, who: Account, values: dict[str, Any]) -> Topic:
    """A topic in the library; TargetError for an unknown kind or priority."""
    if values["kind"] not in TOPIC_KINDS:
        raise TargetError(f"kind: {values['kind']!r} is not one of {', '.join(TOPIC_KINDS)}")
    if values.get("priority", 2) not in (1, 2, 3):
        raise TargetError("priority: 1 (high), 2 or 3 (low)")
    with ws.sessions.begin() as s:
        topic = Topic(project_id=project_id, created_at=utcnow(), updated_at=utcnow(), **values)
        s.add(topic)
        s.flush()
        audit.record(
            s, project_id, who, "topic", topic.id, "create", audit.created(topic, TOPIC_FIELDS)
        )
        return topic


def topics(ws: Workspace, project_id: int) -> list[Topic]:
    """The library, highest priority first."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(Topic)
                .where(Topic.project_id == project_id)
                .order_by(Topic.priority, Topic.id)
            )
        )


def _check_refs(s: Any, project_id: int, values: dict[str, Any]) -> None:
    for field, model in (("topic_id", Topic), ("variant_of", ContentPiece)):
        ref = values.get(field)
        if ref is not None:
            found = s.get(model, ref)
            if found is None or found.project_id != project_id:
                raise TargetError(
                    f"{field}: no such {field.removesuffix('_id')} {ref} in this project"
                )


def _check_stage(piece: dict[str, Any]) -> None:
    if piece["stage"] in ("review", "scheduled", "published") and not piece.get("reviewer"):
        raise TargetError(f"reviewer: a piece in {piece['stage']} needs a reviewer")
    if piece["stage"] in ("scheduled", "published") and piece.get("publish_on") is None:
        raise TargetError(f"publish_on: a {piece['stage']} piece needs a publishing day")


def create_piece(
    ws: Workspace, project_id: int, who: Account, values: dict[str, Any]
) -> ContentPiece:
    """A new piece of content (stage idea unless given; checked like a move)."""
    values = {"stage": "idea", **values}
    if values["stage"] not in STAGES:
        raise TargetError(f"stage: {values['stage']!r} is not one of {', '.join(STAGES)}")
    _check_stage(values)
    with ws.sessions.begin() as s:
        _check_refs(s, project_id, values)
        piece = ContentPiece(
            project_id=project_id, created_at=utcnow(), updated_at=utcnow(), **values
        )
        s.add(piece)
        s.flush()
        audit.record(
            s, project_id, who, "content", piece.id, "create", audit.created(piece, PIECE_FIELDS)
        )
        return piece


def get_piece(ws: Workspace, project_id: int, piece_id: int) -> ContentPiece:
    """One piece of the project; NotFound otherwise."""
    with ws.sessions() as s:
        piece = s.get(ContentPiece, piece_id)
    if piece is None or piece.project_id != project_id:
        raise audit.NotFound(f"piece_id: no content {piece_id} in this project")
    return piece


def update_piece(
    ws: Workspace,
    project_id: int,
    who: Account,
    piece_id: int,
    version: int,
    updates: dict[str, Any],
) -> ContentPiece:
    """Change a piece still at `version`; a stage change must follow the pipeline."""
    try:
        with ws.sessions.begin() as s:
            piece = s.get(ContentPiece, piece_id)
            if piece is None or piece.project_id != project_id:
                raise audit.NotFound(f"piece_id: no content {piece_id} in this project")
            after = {f: getattr(piece, f) for f in PIECE_FIELDS} | updates
            new_stage = updates.get("stage", piece.stage)
            if new_stage != piece.stage and new_stage not in NEXT_STAGES[piece.stage]:
                allowed = ", ".join(NEXT_STAGES[piece.stage]) or "nothing"
                raise TargetError(
                    f"stage: a piece in {piece.stage} moves to {allowed}, not to {new_stage}"
                )
            _check_stage(after)
            _check_refs(s, project_id, updates)
            changes = audit.apply_update(piece, f"content {piece_id}", version, updates)
            if changes:
                audit.record(s, project_id, who, "content", piece.id, "update", changes)
            return piece
    except StaleDataError:
        raise audit.Conflict(
            f"version: content {piece_id} was changed by someone else while you saved"
        ) from None


def pieces(
    ws: Workspace, project_id: int, first: date | None = None, last: date | None = None
) -> list[ContentPiece]:
    """Pieces, those with a publishing day in [first, last] when given, by day."""
    with ws.sessions() as s:
        query = select(ContentPiece).where(ContentPiece.project_id == project_id)
        if first is not None and last is not None:
            query = query.where(ContentPiece.publish_on >= first, ContentPiece.publish_on <= last)
        return list(s.scalars(query.order_by(ContentPiece.publish_on, ContentPiece.id)))


def set_cadence(
    ws: Workspace, project_id: int, who: Account, channel: str, fmt: str, per_week: int
) -> Cadence:
    """Set (or replace) the weekly target of a channel and format."""
    with ws.sessions.begin() as s:
        found = s.scalar(
            select(Cadence).where(
                Cadence.project_id == project_id, Cadence.channel == channel, Cadence.format == fmt
            )
        )
        before = found.per_week if found else None
        if found is None:
            found = Cadence(project_id=project_id, channel=channel, format=fmt, per_week=per_week)
            s.add(found)
        found.per_week = per_week
        s.flush()
        audit.record(
            s, project_id, who, "cadence", found.id, "update", {"per_week": [before, per_week]}
        )
        return found


@dataclass(frozen=True)
class Adherence:
    """A cadence target and the pieces scheduled or published in the week."""

    channel: str
    format: str
    per_week: int
    planned: int

    @property
    def met(self) -> bool:
        """At least the target."""
        return self.planned >= self.per_week


def adherence(ws: Workspace, project_id: int, week_start: date) -> list[Adherence]:
    """Each cadence target against the week's scheduled and published pieces."""
    week = pieces(ws, project_id, week_start, week_start + timedelta(days=6))
    with ws.sessions() as s:
        targets = s.scalars(
            select(Cadence)
            .where(Cadence.project_id == project_id)
            .order_by(Cadence.channel, Cadence.format)
        )
        return [
            Adherence(
                c.channel,
                c.format,
                c.per_week,
                sum(
                    1
                    for p in week
                    if p.channel == c.channel and p.format == c.format and p.stage in COUNTED_STAGES
                ),
            )
            for c in targets
        ]
