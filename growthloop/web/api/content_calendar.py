"""Topic library (选题库) and content calendar (内容日历): pipeline, variants, cadence, results."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from growthloop.ops import audit, content
from growthloop.ops.content_results import results
from growthloop.ops.models import ContentPiece, Topic
from growthloop.ops.targets import period_containing
from growthloop.web.api.goals import errors, today
from growthloop.web.context import CurrentProject
from growthloop.web.insights import read_cursor
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/content", tags=["content"])
Stage = Literal["idea", "draft", "review", "scheduled", "published"]


class TopicIn(BaseModel):
    """A topic: hot (热点), pain (痛点) or scene (场景)."""

    title: str = Field(min_length=1, max_length=200)
    kind: Literal["hot", "pain", "scene"]
    source: str = Field(default="", max_length=200)
    priority: int = Field(default=2, ge=1, le=3, description="1 high .. 3 low")


class PieceIn(BaseModel):
    """A piece of content."""

    title: str = Field(min_length=1, max_length=300)
    channel: str = Field(min_length=1, max_length=32, description="e.g. WeChat, Xiaohongshu")
    format: str = Field(min_length=1, max_length=32, description="e.g. article, note, video")
    stage: Stage = "idea"
    assignee: str = Field(default="", max_length=100)
    reviewer: str = Field(default="", max_length=100)
    publish_on: date | None = None
    topic_id: int | None = None
    item_id: str = Field(default="", max_length=64)


class PieceChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    title: str | None = Field(default=None, min_length=1, max_length=300)
    stage: Stage | None = None
    assignee: str | None = Field(default=None, max_length=100)
    reviewer: str | None = Field(default=None, max_length=100)
    publish_on: date | None = None
    item_id: str | None = Field(default=None, max_length=64)


class VariantIn(BaseModel):
    """Another channel's version of a piece."""

    channel: str = Field(min_length=1, max_length=32)
    format: str = Field(min_length=1, max_length=32)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    assignee: str = Field(default="", max_length=100)


class CadenceIn(BaseModel):
    """How many pieces of a format a channel should get each week."""

    channel: str = Field(min_length=1, max_length=32)
    format: str = Field(min_length=1, max_length=32)
    per_week: int = Field(ge=0, le=100)


def topic_out(topic: Topic) -> dict[str, Any]:
    """A topic's fields."""
    return {"id": topic.id, **{f: getattr(topic, f) for f in content.TOPIC_FIELDS}}


def piece_out(piece: ContentPiece) -> dict[str, Any]:
    """A piece's fields."""
    fields = {f: audit.plain(getattr(piece, f)) for f in content.PIECE_FIELDS}
    return {"id": piece.id, **fields, "version": piece.version}


@router.get("/topics")
def list_topics(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The topic library, highest priority first."""
    return [topic_out(t) for t in content.topics(workspace_of(request), project.id)]


@router.post("/topics", status_code=201)
def create_topic(
    principal: Operator, request: Request, project: CurrentProject, body: TopicIn
) -> dict[str, Any]:
    """Add a topic to the library."""
    with errors():
        topic = content.create_topic(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return topic_out(topic)


@router.get("")
def list_pieces(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Pieces of content (with a publishing day in [start, end] when both are given)."""
    return [piece_out(p) for p in content.pieces(workspace_of(request), project.id, start, end)]


@router.post("", status_code=201)
def create_piece(
    principal: Operator, request: Request, project: CurrentProject, body: PieceIn
) -> dict[str, Any]:
    """A new piece of content, by default an idea."""
    with errors():
        piece = content.create_piece(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return piece_out(piece)


@router.patch("/{piece_id}")
def change_piece(
    principal: Operator, request: Request, project: CurrentProject, piece_id: int, body: PieceChange
) -> dict[str, Any]:
    """Move a piece along the pipeline or change it; 409 on a stale version."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        piece = content.update_piece(
            workspace_of(request), project.id, principal.account, piece_id, body.version, updates
        )
    return piece_out(piece)


@router.post("/{piece_id}/variants", status_code=201)
def add_variant(
    principal: Operator, request: Request, project: CurrentProject, piece_id: int, body: VariantIn
) -> dict[str, Any]:
    """A variant of a piece for another channel (an idea with the same topic)."""
    ws = workspace_of(request)
    with errors():
        base = content.get_piece(ws, project.id, piece_id)
        values = {
            "title": body.title or base.title,
            "channel": body.channel,
            "format": body.format,
            "assignee": body.assignee,
            "topic_id": base.topic_id,
            "variant_of": base.id,
        }
        piece = content.create_piece(ws, project.id, principal.account, values)
    return piece_out(piece)


@router.put("/cadence")
def set_cadence(
    principal: Operator, request: Request, project: CurrentProject, body: CadenceIn
) -> dict[str, Any]:
    """Set a channel and format's weekly target."""
    found = content.set_cadence(
        workspace_of(request),
        project.id,
        principal.account,
        body.channel,
        body.format,
        body.per_week,
    )
    return {"channel": found.channel, "format": found.format, "per_week": found.per_week}


@router.get("/calendar")
def calendar(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    view: Literal["month", "week"] = "month",
    day: Annotated[
        date | None, Query(description="A day in the month or week; default today.")
    ] = None,
) -> dict[str, Any]:
    """The month's or week's pieces by publishing day, and each week's cadence adherence."""
    ws = workspace_of(request)
    period = period_containing("month" if view == "month" else "week", day or today(request))
    found = content.pieces(ws, project.id, period.start, period.end)
    weeks = []
    monday = period.start - timedelta(days=period.start.weekday())
    while monday <= period.end:
        rows = content.adherence(ws, project.id, monday)
        weeks.append(
            {
                "week_start": monday.isoformat(),
                "cadence": [{**vars_of(a), "met": a.met} for a in rows],
            }
        )
        monday += timedelta(days=7)
    return {
        "view": view,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "pieces": [piece_out(p) for p in found],
        "weeks": weeks,
    }


def vars_of(row: content.Adherence) -> dict[str, Any]:
    """An adherence row's fields."""
    return {
        "channel": row.channel,
        "format": row.format,
        "per_week": row.per_week,
        "planned": row.planned,
    }


@router.get("/{piece_id}/results")
def piece_results(
    principal: Viewer, request: Request, project: CurrentProject, piece_id: int
) -> dict[str, Any]:
    """A published piece's metrics in total and on its publishing day (from the event store)."""
    ws = workspace_of(request)
    with errors():
        piece = content.get_piece(ws, project.id, piece_id)
    found = None
    if piece.item_id:
        with read_cursor(project.store) as cursor:
            found = results(cursor, [piece.item_id], ws.settings.tz).get(piece.item_id)
    return {
        "piece_id": piece.id,
        "item_id": piece.item_id or None,
        "published_on": found.published_on.isoformat() if found and found.published_on else None,
        "total": found.total if found else None,
        "first_day": found.first_day if found else None,
    }
