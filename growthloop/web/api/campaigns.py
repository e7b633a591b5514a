"""Campaigns (活动运营): plans, checklists, and the live monitor from the event store."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from growthloop.ops import audit, campaigns, lessons
from growthloop.ops.campaign_monitor import Monitor, monitor
from growthloop.ops.models import Campaign, CampaignTask
from growthloop.web.api.goals import errors, today
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])


class CampaignIn(BaseModel):
    """A campaign plan."""

    key: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The id its events (property campaign), orders and spend rows carry.",
    )
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(default="promotion", min_length=1, max_length=32)
    start_date: date
    end_date: date
    warmup_date: date | None = Field(default=None, description="Default: 3 days before start.")
    targets: dict[str, float] = Field(
        default_factory=dict, description="participants, orders, buyers, gmv -> target."
    )
    budget: dict[str, float] = Field(default_factory=dict, description="channel -> amount.")
    segment: str = Field(default="", max_length=500)
    risk_plan: str = Field(default="", max_length=10000)


class CampaignChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: str | None = Field(default=None, min_length=1, max_length=32)
    start_date: date | None = None
    end_date: date | None = None
    warmup_date: date | None = None
    targets: dict[str, float] | None = None
    budget: dict[str, float] | None = None
    segment: str | None = Field(default=None, max_length=500)
    risk_plan: str | None = Field(default=None, max_length=10000)


class TaskIn(BaseModel):
    """A checklist item."""

    kind: str = Field(
        default="other", description="development, materials_review, channel_warmup, other"
    )
    title: str = Field(min_length=1, max_length=300)
    owner: str = Field(default="", max_length=100)
    due: date | None = None


class TaskChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    title: str | None = Field(default=None, min_length=1, max_length=300)
    owner: str | None = Field(default=None, max_length=100)
    due: date | None = None
    done: bool | None = None


def campaign_out(campaign: Campaign, day: date) -> dict[str, Any]:
    """A campaign's plan with its stage on `day`."""
    return {
        "id": campaign.id,
        **{f: audit.plain(getattr(campaign, f)) for f in campaigns.FIELDS},
        "stage": campaigns.stage(campaign, day),
        "version": campaign.version,
    }


def task_out(task: CampaignTask) -> dict[str, Any]:
    """A checklist item."""
    return {
        "id": task.id,
        "campaign_id": task.campaign_id,
        **{f: audit.plain(getattr(task, f)) for f in campaigns.TASK_FIELDS},
        "version": task.version,
    }


def live_monitor(request: Request, project: ProjectRef, campaign: Campaign) -> Monitor:
    """The campaign's numbers from the project's event store."""
    ws = workspace_of(request)
    with read_cursor(project.store) as cursor:
        return monitor(
            cursor,
            campaign.key,
            campaign.warmup_date,
            campaign.end_date,
            campaign.targets,
            campaign.budget,
            ws.settings.tz,
            ws.settings.currency,
        )


@router.get("")
def list_campaigns(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The project's campaigns with their stage today."""
    day = today(request)
    return [
        campaign_out(c, day) for c in campaigns.list_campaigns(workspace_of(request), project.id)
    ]


@router.post("", status_code=201)
def create_campaign(
    principal: Operator, request: Request, project: CurrentProject, body: CampaignIn
) -> dict[str, Any]:
    """A new campaign plan with the usual checklist."""
    with errors():
        campaign = campaigns.create_campaign(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return campaign_out(campaign, today(request))


@router.get("/{campaign_id}")
def get_campaign(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> dict[str, Any]:
    """One campaign with its checklist."""
    ws = workspace_of(request)
    with errors():
        campaign = campaigns.get_campaign(ws, project.id, campaign_id)
    tasks = [task_out(t) for t in campaigns.tasks_of(ws, campaign.id)]
    return {**campaign_out(campaign, today(request)), "checklist": tasks}


@router.patch("/{campaign_id}")
def change_campaign(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    campaign_id: int,
    body: CampaignChange,
) -> dict[str, Any]:
    """Change the plan; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        campaign = campaigns.update_campaign(
            workspace_of(request), project.id, principal.account, campaign_id, body.version, updates
        )
    return campaign_out(campaign, today(request))


@router.delete("/{campaign_id}", status_code=204)
def delete_campaign(
    principal: Operator, request: Request, project: CurrentProject, campaign_id: int
) -> None:
    """Delete a campaign and its checklist."""
    with errors():
        campaigns.delete_campaign(workspace_of(request), project.id, principal.account, campaign_id)


@router.post("/{campaign_id}/tasks", status_code=201)
def add_task(
    principal: Operator, request: Request, project: CurrentProject, campaign_id: int, body: TaskIn
) -> dict[str, Any]:
    """Add a checklist item."""
    with errors():
        task = campaigns.add_task(
            workspace_of(request), project.id, principal.account, campaign_id, body.model_dump()
        )
    return task_out(task)


@router.patch("/tasks/{task_id}")
def change_task(
    principal: Operator, request: Request, project: CurrentProject, task_id: int, body: TaskChange
) -> dict[str, Any]:
    """Tick off, reassign or reschedule a checklist item; 409 on a stale version."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with errors():
        task = campaigns.update_task(
            workspace_of(request), project.id, principal.account, task_id, body.version, updates
        )
    return task_out(task)


@router.get("/{campaign_id}/monitor")
def campaign_monitor(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> dict[str, Any]:
    """Participants, funnel, orders, GMV, spend vs budget, against targets, for the window."""
    with errors():
        campaign = campaigns.get_campaign(workspace_of(request), project.id, campaign_id)
    result = live_monitor(request, project, campaign)
    out = asdict(result)
    out["first_day"], out["last_day"] = result.first_day.isoformat(), result.last_day.isoformat()
    out["days"] = [{**asdict(d), "day": d.day.isoformat()} for d in result.days]
    out["targets"] = campaign.targets
    out["stage"] = campaigns.stage(campaign, today(request))
    return out


@router.get("/{campaign_id}/history")
def campaign_history(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> list[dict[str, Any]]:
    """Who changed the plan, when, and what (oldest first)."""
    ws = workspace_of(request)
    return [audit.entry_out(e) for e in audit.history(ws, project.id, "campaign", campaign_id)]


class LessonsIn(BaseModel):
    """The review's lessons: the answers to change, and the version the edit started from."""

    version: int = Field(description="The version your edit started from; 0 for the first save.")
    worked: str | None = Field(default=None, max_length=lessons.MAX_LESSON)
    failed: str | None = Field(default=None, max_length=lessons.MAX_LESSON)
    next_steps: str | None = Field(default=None, max_length=lessons.MAX_LESSON)


def lessons_out(campaign_id: int, found: lessons.CampaignLessons | None) -> dict[str, Any]:
    """A campaign's lessons; version 0 and empty answers while nobody wrote any."""
    if found is None:
        return {"campaign_id": campaign_id, **{f: "" for f in lessons.LESSON_FIELDS},
                "version": 0, "updated_by": None, "updated_at": None}  # fmt: skip
    return {
        "campaign_id": campaign_id,
        **found.answers(),
        "version": found.version,
        "updated_by": found.updated_by,
        "updated_at": found.updated_at.isoformat(),
    }


@router.get("/{campaign_id}/lessons")
def campaign_lessons(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> dict[str, Any]:
    """The lessons the team wrote for the campaign review (what worked, what did not, next)."""
    with errors():
        found = lessons.get_lessons(workspace_of(request), project.id, campaign_id)
    return lessons_out(campaign_id, found)


@router.put("/{campaign_id}/lessons")
def save_campaign_lessons(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    campaign_id: int,
    body: LessonsIn,
) -> dict[str, Any]:
    """Write the review's lessons; 409 when someone saved them since `version`."""
    values = body.model_dump(exclude_unset=True, exclude={"version"})
    values = {k: v for k, v in values.items() if v is not None}
    with errors():
        saved = lessons.save_lessons(
            workspace_of(request), project.id, principal.account, campaign_id, body.version, values
        )
    return lessons_out(campaign_id, saved)
