"""Content pages: the calendar (month or week) with cadence adherence, the pipeline, topics."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.ops import content
from growthloop.ops.content_results import results
from growthloop.ops.targets import period_containing
from growthloop.web.api.goals import today
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.pages.goals import page_errors
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
STAGE_KEYS = {s: f"content.stage_{s}" for s in content.STAGES}
KIND_KEYS = {"hot": "content.kind_hot", "pain": "content.kind_pain", "scene": "content.kind_scene"}


def _back(project: ProjectRef) -> RedirectResponse:
    return RedirectResponse(f"/content?project={project.slug}", status_code=303)


@router.get("/content")
def content_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    view: str = "month",
    day: date | None = None,
) -> Response:
    """The calendar of the month or week, cadence adherence, the pipeline and the topics."""
    ws = workspace_of(request)
    view = "week" if view == "week" else "month"
    period = period_containing(view, day or today(request))
    first = period.start - timedelta(days=period.start.weekday())
    weeks: list[list[date]] = []
    while first <= period.end:
        weeks.append([first + timedelta(days=i) for i in range(7)])
        first += timedelta(days=7)
    found = content.pieces(ws, project.id, weeks[0][0], weeks[-1][-1])
    published = [p.item_id for p in found if p.stage == "published" and p.item_id]
    with read_cursor(project.store) as cursor:
        measured = results(cursor, published, ws.settings.tz)
    by_day: dict[date, list[Any]] = {}
    for piece in found:
        if piece.publish_on is not None:
            by_day.setdefault(piece.publish_on, []).append(piece)
    return render(
        request,
        "content.html",
        {
            "project": project,
            "view": view,
            "period": period,
            "weeks": weeks,
            "by_day": by_day,
            "measured": measured,
            "adherence": {w[0]: content.adherence(ws, project.id, w[0]) for w in weeks},
            "pipeline": [p for p in content.pieces(ws, project.id) if p.stage != "published"],
            "topics": content.topics(ws, project.id),
            "next_stages": content.NEXT_STAGES,
            "stage_keys": STAGE_KEYS,
            "kind_keys": KIND_KEYS,
            "previous": period.start - timedelta(days=1),
            "following": period.end + timedelta(days=1),
        },
    )


@router.post("/content/topics")
def add_topic(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[str, Form()],
    source: Annotated[str, Form(max_length=200)] = "",
    priority: Annotated[int, Form(ge=1, le=3)] = 2,
) -> Response:
    """Add a topic to the library."""
    values = {"title": title, "kind": kind, "source": source, "priority": priority}
    with page_errors():
        content.create_topic(workspace_of(request), project.id, principal.account, values)
    return _back(project)


@router.post("/content/pieces")
def add_piece(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    title: Annotated[str, Form(min_length=1, max_length=300)],
    channel: Annotated[str, Form(min_length=1, max_length=32)],
    format: Annotated[str, Form(min_length=1, max_length=32)],
    assignee: Annotated[str, Form(max_length=100)] = "",
    topic_id: Annotated[int | None, Form()] = None,
) -> Response:
    """Add an idea to the pipeline."""
    values = {
        "title": title,
        "channel": channel,
        "format": format,
        "assignee": assignee,
        "topic_id": topic_id,
    }
    with page_errors():
        content.create_piece(workspace_of(request), project.id, principal.account, values)
    return _back(project)


@router.post("/content/pieces/{piece_id}/stage")
def move_piece(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    piece_id: int,
    version: Annotated[int, Form()],
    stage: Annotated[str, Form(pattern="^(idea|draft|review|scheduled|published)$")],
    reviewer: Annotated[str, Form(max_length=100)] = "",
    publish_on: Annotated[date | None, Form()] = None,
) -> Response:
    """Move a piece to its next stage (with a reviewer for review, a day for scheduling)."""
    updates: dict[str, Any] = {"stage": stage}
    if reviewer:
        updates["reviewer"] = reviewer
    if publish_on is not None:
        updates["publish_on"] = publish_on
    with page_errors():
        content.update_piece(
            workspace_of(request), project.id, principal.account, piece_id, version, updates
        )
    return _back(project)
