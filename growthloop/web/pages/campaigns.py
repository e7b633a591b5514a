"""Campaign pages: the list, a plan form, and each campaign's checklist and live monitor."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.ops import campaigns, lessons
from growthloop.ops.targets import TargetError
from growthloop.web.api.campaigns import live_monitor
from growthloop.web.api.goals import today
from growthloop.web.context import CurrentProject
from growthloop.web.pages.goals import page_errors
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)
# Stage and checklist kind names shown through the catalogues (literal keys for the i18n test).
STAGE_KEYS = {
    "planned": "campaigns.stage_planned",
    "warmup": "campaigns.stage_warmup",
    "live": "campaigns.stage_live",
    "ended": "campaigns.stage_ended",
}
METRIC_KEYS = {
    "participants": "campaigns.participants",
    "orders": "kpi.orders",
    "buyers": "campaigns.buyers",
    "gmv": "kpi.gmv",
}


@router.get("/campaigns")
def campaigns_page(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """The project's campaigns and a form to plan one."""
    day = today(request)
    found = campaigns.list_campaigns(workspace_of(request), project.id)
    return render(
        request,
        "campaigns.html",
        {
            "project": project,
            "campaigns": found,
            "stages": {c.id: campaigns.stage(c, day) for c in found},
            "stage_keys": STAGE_KEYS,
        },
    )


@router.post("/campaigns")
def create_campaign(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    key: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    start_date: Annotated[date, Form()],
    end_date: Annotated[date, Form()],
    type: Annotated[str, Form(min_length=1, max_length=32)] = "promotion",
    warmup_date: Annotated[date | None, Form()] = None,
    target_gmv: Annotated[float | None, Form()] = None,
    target_orders: Annotated[float | None, Form()] = None,
    target_participants: Annotated[float | None, Form()] = None,
    budget: Annotated[str, Form(max_length=2000)] = "",
    segment: Annotated[str, Form(max_length=500)] = "",
    risk_plan: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Plan a campaign; budget is written as 'baidu=1000, wechat=800'."""
    targets = {
        m: v
        for m, v in (
            ("gmv", target_gmv),
            ("orders", target_orders),
            ("participants", target_participants),
        )
        if v is not None
    }
    values = {
        "key": key,
        "name": name,
        "type": type,
        "start_date": start_date,
        "end_date": end_date,
        "warmup_date": warmup_date,
        "targets": targets,
        "budget": budget,
        "segment": segment,
        "risk_plan": risk_plan,
    }
    with page_errors():
        values["budget"] = _budget(budget)
        campaign = campaigns.create_campaign(
            workspace_of(request), project.id, principal.account, values
        )
    return RedirectResponse(f"/campaigns/{campaign.id}?project={project.slug}", status_code=303)


def _budget(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.replace("，", ",").split(","))):
        channel, sep, amount = part.partition("=")
        try:
            out[channel.strip()] = float(amount)
        except ValueError:
            raise TargetError(f"budget: {part!r} is not channel=amount") from None
        if not sep or not channel.strip():
            raise TargetError(f"budget: {part!r} is not channel=amount")
    return out


@router.get("/campaigns/{campaign_id}")
def campaign_page(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> Response:
    """The plan, its checklist and the live monitor against targets."""
    ws = workspace_of(request)
    with page_errors():
        campaign = campaigns.get_campaign(ws, project.id, campaign_id)
    day = today(request)
    return render(
        request,
        "campaign.html",
        {
            "project": project,
            "campaign": campaign,
            "stage": campaigns.stage(campaign, day),
            "stage_keys": STAGE_KEYS,
            "metric_keys": METRIC_KEYS,
            "tasks": campaigns.tasks_of(ws, campaign.id),
            "monitor": live_monitor(request, project, campaign),
            "today": day,
            "lessons": lessons.get_lessons(ws, project.id, campaign.id),
        },
    )


@router.post("/campaigns/{campaign_id}/tasks/{task_id}/done")
def tick_task(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    campaign_id: int,
    task_id: int,
    version: Annotated[int, Form()],
    done: Annotated[bool, Form()] = False,
) -> Response:
    """Tick a checklist item off (or on again)."""
    with page_errors():
        campaigns.update_task(
            workspace_of(request), project.id, principal.account, task_id, version, {"done": done}
        )
    return RedirectResponse(f"/campaigns/{campaign_id}?project={project.slug}", status_code=303)


@router.post("/campaigns/{campaign_id}/lessons")
def save_lessons(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    campaign_id: int,
    version: Annotated[int, Form()],
    worked: Annotated[str, Form(max_length=lessons.MAX_LESSON)] = "",
    failed: Annotated[str, Form(max_length=lessons.MAX_LESSON)] = "",
    next_steps: Annotated[str, Form(max_length=lessons.MAX_LESSON)] = "",
) -> Response:
    """Save the campaign review's lessons (what worked, what did not, what next)."""
    values = {"worked": worked, "failed": failed, "next_steps": next_steps}
    with page_errors():
        lessons.save_lessons(
            workspace_of(request), project.id, principal.account, campaign_id, version, values
        )
    return RedirectResponse(f"/campaigns/{campaign_id}?project={project.slug}", status_code=303)
