"""Analysis builder pages (事件/漏斗/留存/路径/分布分析): one builder per analysis kind, and the
user profile (用户细查).

A builder page is a form over the kind's JSON spec (static/analysis.js); it runs the spec with
POST /api/query, draws the result (static/charts.js), keeps the spec in the URL and saves it as
an insight on a dashboard. The server only sends what the form offers: event names, property
keys, the user's dashboards and a default spec.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.accounts import Role
from growthloop.analytics import SpecError
from growthloop.analytics.profile import ProfileSpec
from growthloop.analytics.registry import parse_spec, run_analysis
from growthloop.analytics.saved_segments import list_segments
from growthloop.analytics.spec import EVENT_COLUMNS
from growthloop.i18n import catalogue
from growthloop.web import saved
from growthloop.web.api.query import query_context
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.rendering import locale_of, render, script_json
from growthloop.web.security import Viewer, workspace_of

router = APIRouter(include_in_schema=False)

BUILDERS = (
    "trends",
    "funnel",
    "retention",
    "paths",
    "lifecycle",
    "stickiness",
    "distribution",
    "interval",
)
"""Analysis kinds with a builder page, in the order the index lists them."""

TITLES = {
    "trends": "analysis.trends",
    "funnel": "analysis.funnel",
    "retention": "analysis.retention",
    "paths": "analysis.paths",
    "lifecycle": "analysis.lifecycle",
    "stickiness": "analysis.stickiness",
    "distribution": "analysis.distribution",
    "interval": "analysis.interval",
}
ABOUT = {
    "trends": "analysis.trends_about",
    "funnel": "analysis.funnel_about",
    "retention": "analysis.retention_about",
    "paths": "analysis.paths_about",
    "lifecycle": "analysis.lifecycle_about",
    "stickiness": "analysis.stickiness_about",
    "distribution": "analysis.distribution_about",
    "interval": "analysis.interval_about",
}
KEY_SAMPLE = 20_000
"""Recent events read to list event property keys in the form."""


def catalogue_of(project: ProjectRef) -> dict[str, list[str]]:
    """What the form offers: event names (most frequent first) and property keys by source."""
    with read_cursor(project.store) as cur:
        events = [
            r[0]
            for r in cur.execute(
                "SELECT event FROM events GROUP BY event ORDER BY count(*) DESC, event LIMIT 500"
            ).fetchall()
        ]
        event_keys = cur.execute(
            "SELECT DISTINCT unnest(json_keys(properties)) AS k FROM "
            "(SELECT properties FROM events WHERE properties IS NOT NULL "
            "ORDER BY timestamp DESC LIMIT ?) ORDER BY k",
            [KEY_SAMPLE],
        ).fetchall()
        person_keys = cur.execute(
            "SELECT DISTINCT unnest(json_keys(properties)) AS k FROM persons "
            "WHERE properties IS NOT NULL ORDER BY k"
        ).fetchall()
    return {
        "events": events,
        "event": [r[0] for r in event_keys],
        "person": [r[0] for r in person_keys],
        "column": sorted(EVENT_COLUMNS),
    }


def default_spec(kind: str, events: list[str]) -> dict[str, Any]:
    """A spec that runs on any project: the most frequent events, the last 30 days."""
    first = events[0] if events else None
    second = events[1] if len(events) > 1 else first
    last30 = {"date_from": "-30d", "date_to": None}
    specs: dict[str, dict[str, Any]] = {
        "trends": {"series": [{"event": first, "math": "total"}], "interval": "day"},
        "funnel": {"steps": [{"event": first or "$pageview"}, {"event": second or "$pageview"}]},
        "retention": {
            "start_event": {"event": first},
            "return_event": {"event": None},
            "period": "week",
            "periods": 6,
            "date_range": {"date_from": "-8w", "date_to": None},
        },
        "paths": {"events": ["$pageview"] if "$pageview" in events else None, "depth": 4},
        "lifecycle": {"event": {"event": first}, "interval": "week"},
        "stickiness": {"event": {"event": first}, "interval": "day"},
        "distribution": {"event": {"event": first}},
        "interval": {"from_event": {"event": first}, "to_event": {"event": second}},
    }
    spec = {"kind": kind, "date_range": last30, **specs[kind]}
    return parse_spec(spec).model_dump(mode="json")


def _boot(request: Request, principal: Viewer, project: ProjectRef, kind: str) -> dict[str, Any]:
    ws = workspace_of(request)
    locale = locale_of(request)
    found = catalogue_of(project)
    may_save = principal.account.may(Role.operator)
    boards = saved.visible_dashboards(ws, project.id, principal.account) if may_save else []
    strings = {k: v for k, v in catalogue(locale).items() if k.startswith("analysis.")}
    return {
        "kind": kind,
        "project": project.slug,
        "locale": locale,
        "csrf": principal.csrf_token,
        "may_save": may_save,
        "dashboards": [
            {"id": b.id, "name": b.name}
            for b in boards
            if b.owner_id == principal.account.id or principal.account.may(Role.admin)
        ],
        "default_spec": default_spec(kind, found["events"]),
        "segments": [{"id": s.id, "name": s.name} for s in list_segments(ws, project.id)],
        "catalogue": found,
        "strings": strings,
    }


@router.get("/analysis")
def analysis_index(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """Every analysis kind with its builder page, the user profile and segments."""
    kinds = [(k, TITLES[k], ABOUT[k]) for k in BUILDERS]
    return render(request, "analysis_index.html", {"project": project, "kinds": kinds})


@router.get("/analysis/people")
def people_search(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    person: str | None = Query(default=None, max_length=200),
) -> Response:
    """Find a person by person_id or distinct_id and open their profile."""
    if person and person.strip():
        target = f"/analysis/people/{quote(person.strip(), safe='')}?project={project.slug}"
        return RedirectResponse(target, status_code=303)
    return render(request, "analysis_people.html", {"project": project, "profile": None})


@router.get("/analysis/people/{person_id}")
def person_page(
    principal: Viewer, request: Request, project: CurrentProject, person_id: str
) -> Response:
    """A person's properties, identities and event timeline (用户细查)."""
    spec = ProfileSpec(person=person_id, limit=200)
    try:
        with query_context(request, project) as ctx:
            profile = run_analysis(spec, ctx)
    except SpecError as exc:
        context = {"project": project, "profile": None, "error": str(exc), "person": person_id}
        return render(request, "analysis_people.html", context, status_code=404)
    return render(
        request,
        "analysis_people.html",
        {"project": project, "profile": profile, "person": person_id},
    )


@router.get("/analysis/{kind}")
def builder_page(
    principal: Viewer, request: Request, project: CurrentProject, kind: str
) -> Response:
    """The builder of one analysis kind; `?spec=` (JSON) opens a given spec."""
    if kind not in BUILDERS:
        raise HTTPException(404, f"kind: no builder for {kind!r} (one of: {', '.join(BUILDERS)})")
    boot = _boot(request, principal, project, kind)
    context = {
        "project": project,
        "kind": kind,
        "title_key": TITLES[kind],
        "about_key": ABOUT[kind],
        "boot": script_json(boot),
        "builders": [(k, TITLES[k]) for k in BUILDERS],
    }
    return render(request, "analysis_builder.html", context)
