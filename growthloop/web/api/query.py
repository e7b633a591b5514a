"""Run any analysis spec (`POST /api/query`) and list the people behind a funnel step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb
import ibis
from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, Field

from growthloop.analytics import QueryContext, SpecError, parse_spec, run_analysis
from growthloop.analytics.funnels import Funnel, FunnelSpec
from growthloop.analytics.results import plain
from growthloop.analytics.saved_segments_query import WorkspaceSegments
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.security import Viewer, workspace_of

router = APIRouter(prefix="/api/query", tags=["query"])

EXAMPLE = {
    "kind": "funnel",
    "steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
    "window": {"value": 7, "unit": "day"},
    "date_range": {"date_from": "-30d"},
}


class FunnelPeopleIn(BaseModel):
    """Who reached a funnel step (or reached it and went no further)."""

    spec: dict[str, Any] = Field(description="A funnel spec.")
    step: int = Field(ge=1, description="The step, counted from 1.")
    dropped: bool = Field(default=False, description="Only those who went no further.")
    limit: int = Field(default=100, ge=1, le=10_000)


@contextmanager
def query_context(request: Request, project: ProjectRef) -> Iterator[QueryContext]:
    """A QueryContext over a cursor of its own on the project's event store, with the project's
    saved segments (for segment filters and breakdowns)."""
    ws = workspace_of(request)
    with read_cursor(project.store) as cursor:
        now = datetime.now(UTC).replace(tzinfo=None)
        saved = WorkspaceSegments(ws, project.id, now)
        yield QueryContext(ibis.duckdb.from_connection(cursor), ws.settings.tz, now, saved)


def spec_problem(exc: SpecError) -> HTTPException:
    """A 422 whose detail lists every problem of the spec, each naming its field."""
    problems = [{"field": p.field, "message": p.message} for p in exc.problems]
    return HTTPException(422, {"message": str(exc), "problems": problems})


def run_problem(exc: ValueError | duckdb.Error) -> HTTPException:
    """A 422 for a spec that validates but cannot run as asked (too many time buckets, a
    regular expression the engine rejects): the engine's message, so the user can change it."""
    message = f"the analysis cannot run: {exc}"
    return HTTPException(422, {"message": message, "problems": [{"field": "", "message": message}]})


@router.post("")
def query(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    spec: dict[str, Any] = Body(examples=[EXAMPLE]),  # noqa: B008
) -> dict[str, Any]:
    """Run an analysis spec (docs/analytics.md): the cleaned spec, the result and its table."""
    try:
        parsed = parse_spec(spec, "spec")
        with query_context(request, project) as ctx:
            result = run_analysis(parsed, ctx)
    except SpecError as exc:
        raise spec_problem(exc) from None
    except (ValueError, duckdb.Error) as exc:
        raise run_problem(exc) from None
    table = result.table()
    return {
        "kind": result.kind,
        "spec": parsed.model_dump(mode="json", exclude_defaults=False),
        "result": result.to_dict(),
        "table": {"columns": list(table.columns), "rows": plain(table.rows)},
    }


@router.post("/funnel-people")
def funnel_people(
    principal: Viewer, request: Request, project: CurrentProject, body: FunnelPeopleIn
) -> dict[str, Any]:
    """The person_ids who reached step `step` (with `dropped`: and went no further)."""
    try:
        parsed = parse_spec(body.spec, "spec")
        if not isinstance(parsed, FunnelSpec):
            raise HTTPException(422, "spec.kind: people at a step need a funnel spec")
        with query_context(request, project) as ctx:
            people = Funnel(parsed, ctx).people(body.step, dropped=body.dropped)
            [counted] = ctx.execute(people.aggregate(n=people.count()))
            ids = ctx.execute(people.order_by("person_id").limit(body.limit))
    except SpecError as exc:
        raise spec_problem(exc) from None
    except (ValueError, duckdb.Error) as exc:
        raise run_problem(exc) from None
    return {"count": int(counted["n"]), "people": [row["person_id"] for row in ids]}
