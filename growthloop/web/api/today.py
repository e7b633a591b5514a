"""The operator's day: own tasks due, campaigns running, data anomalies."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from growthloop.ops import today as day_view
from growthloop.web.api.campaigns import campaign_out
from growthloop.web.api.goals import today
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.security import Principal, Viewer, workspace_of

router = APIRouter(prefix="/api/today", tags=["today"])


def day_of(
    request: Request, principal: Principal, project: ProjectRef, day: date, owner: str | None
) -> dict[str, Any]:
    """Tasks, running campaigns and anomalies of `day` for `owner` (default: the user)."""
    ws = workspace_of(request)
    who = owner or principal.account.name
    tasks = day_view.own_tasks(ws, project.id, who, day)
    to_publish = day_view.content_to_publish(ws, project.id, who, day)
    with read_cursor(project.store) as cursor:
        tz, currency = ws.settings.tz, ws.settings.currency
        running = day_view.running_campaigns(ws, project.id, cursor, day, tz, currency)
        flags = day_view.anomalies(cursor, day, tz, currency)
    return {
        "day": day,
        "owner": who,
        "tasks": tasks,
        "content": to_publish,
        "campaigns": running,
        "anomalies": flags,
    }


@router.get("")
def my_day(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    day: Annotated[date | None, Query(description="Default: today, project time zone.")] = None,
    owner: Annotated[str | None, Query(description="Whose tasks; default: yours.")] = None,
) -> dict[str, Any]:
    """Own tasks due (overdue flagged), content to publish, running campaigns, anomalies."""
    found = day_of(request, principal, project, day or today(request), owner)
    return {
        "day": found["day"].isoformat(),
        "owner": found["owner"],
        "tasks": [
            {**asdict(t), "due": t.due.isoformat() if t.due else None} for t in found["tasks"]
        ],
        "content": [
            {**asdict(t), "due": t.due.isoformat() if t.due else None} for t in found["content"]
        ],
        "campaigns": [
            {
                **campaign_out(r.campaign, found["day"]),
                "participants": r.monitor.participants,
                "orders": r.monitor.orders,
                "gmv": r.monitor.gmv,
                "spend": r.monitor.spend,
                "achieved": r.monitor.achieved,
            }
            for r in found["campaigns"]
        ],
        "anomalies": [{**asdict(f), "day": f.day.isoformat()} for f in found["anomalies"]],
    }
