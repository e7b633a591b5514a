"""Campaign plans (活动运营) and their checklists in the metadata database.

A plan has a key (the id its events, orders and spend rows carry), a type, start and end days,
a warm-up day (default: 3 days before the start), goal metrics with targets, a budget by
channel, a target segment and a risk plan. A new campaign gets the usual checklist: development,
materials review, channel warm-up, due before the warm-up day. Every change is audited.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.campaign_monitor import TARGET_METRICS
from growthloop.ops.models import Campaign, CampaignTask
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

WARMUP_DAYS = 3
FIELDS = (
    "key",
    "name",
    "type",
    "start_date",
    "end_date",
    "warmup_date",
    "targets",
    "budget",
    "segment",
    "risk_plan",
)
TASK_FIELDS = ("kind", "title", "owner", "due", "done")
TASK_KINDS = ("development", "materials_review", "channel_warmup", "other")
# The usual checklist, due this many days before the warm-up day.
DEFAULT_CHECKLIST = (
    ("development", "开发与测试 / development and testing", 4),
    ("materials_review", "物料审核 / materials review", 2),
    ("channel_warmup", "渠道预热 / channel warm-up", 0),
)


def stage(campaign: Campaign, today: date) -> str:
    """planned, warmup, live or ended on `today`."""
    if today < campaign.warmup_date:
        return "planned"
    if today < campaign.start_date:
        return "warmup"
    return "live" if today <= campaign.end_date else "ended"


def _check(values: dict[str, Any]) -> None:
    if values["end_date"] < values["start_date"]:
        raise TargetError(
            f"end_date: {values['end_date']} is before start_date {values['start_date']}"
        )
    if values["warmup_date"] > values["start_date"]:
        raise TargetError(
            f"warmup_date: {values['warmup_date']} is after start_date {values['start_date']}"
        )
    for metric, target in values["targets"].items():
        if metric not in TARGET_METRICS:
            raise TargetError(f"targets.{metric}: not one of {', '.join(TARGET_METRICS)}")
        if target < 0:
            raise TargetError(f"targets.{metric}: a target cannot be negative")
    for channel, amount in values["budget"].items():
        if amount < 0:
            raise TargetError(f"budget.{channel}: a budget cannot be negative")


def _get(s: Session, project_id: int, campaign_id: int) -> Campaign:
    found = s.get(Campaign, campaign_id)
    if found is None or found.project_id != project_id:
        raise audit.NotFound(f"campaign_id: no campaign {campaign_id} in this project")
    return found


def get_campaign(ws: Workspace, project_id: int, campaign_id: int) -> Campaign:
    """One campaign of the project; NotFound otherwise."""
    with ws.sessions() as s:
        return _get(s, project_id, campaign_id)


def list_campaigns(ws: Workspace, project_id: int) -> list[Campaign]:
    """The project's campaigns, latest start first."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(Campaign)
                .where(Campaign.project_id == project_id)
                .order_by(Campaign.start_date.desc(), Campaign.id)
            )
        )


def tasks_of(ws: Workspace, campaign_id: int) -> list[CampaignTask]:
    """A campaign's checklist, by due date."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(CampaignTask)
                .where(CampaignTask.campaign_id == campaign_id)
                .order_by(CampaignTask.due, CampaignTask.id)
            )
        )


def _add_task(
    s: Session, project_id: int, who: Account, campaign_id: int, values: dict[str, Any]
) -> CampaignTask:
    if values.get("kind", "other") not in TASK_KINDS:
        raise TargetError(f"kind: {values['kind']!r} is not one of {', '.join(TASK_KINDS)}")
    task = CampaignTask(
        campaign_id=campaign_id,
        kind=values.get("kind", "other"),
        title=values["title"],
        owner=values.get("owner") or "",
        due=values.get("due"),
        done=bool(values.get("done")),
        created_at=utcnow(),
    )
    s.add(task)
    s.flush()
    audit.record(
        s, project_id, who, "campaign_task", task.id, "create", audit.created(task, TASK_FIELDS)
    )
    return task


def create_campaign(
    ws: Workspace, project_id: int, who: Account, values: dict[str, Any]
) -> Campaign:
    """A new campaign plan with the usual checklist; TargetError says which field is wrong."""
    values = dict(values)
    if values.get("warmup_date") is None:
        values["warmup_date"] = values["start_date"] - timedelta(days=WARMUP_DAYS)
    values.setdefault("targets", {})
    values.setdefault("budget", {})
    values.setdefault("segment", "")
    values.setdefault("risk_plan", "")
    _check(values)
    try:
        with ws.sessions.begin() as s:
            campaign = Campaign(
                project_id=project_id,
                **{f: values[f] for f in FIELDS},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            s.add(campaign)
            s.flush()
            audit.record(
                s,
                project_id,
                who,
                "campaign",
                campaign.id,
                "create",
                audit.created(campaign, FIELDS),
            )
            for kind, title, before in DEFAULT_CHECKLIST:
                due = campaign.warmup_date - timedelta(days=before)
                _add_task(
                    s, project_id, who, campaign.id, {"kind": kind, "title": title, "due": due}
                )
            return campaign
    except IntegrityError:
        raise TargetError(
            f"key: a campaign {values['key']!r} already exists in this project"
        ) from None


def update_campaign(
    ws: Workspace,
    project_id: int,
    who: Account,
    campaign_id: int,
    version: int,
    updates: dict[str, Any],
) -> Campaign:
    """Change a campaign still at `version`; Conflict otherwise."""
    try:
        with ws.sessions.begin() as s:
            campaign = _get(s, project_id, campaign_id)
            _check({f: getattr(campaign, f) for f in FIELDS} | updates)
            changes = audit.apply_update(campaign, f"campaign {campaign_id}", version, updates)
            if changes:
                audit.record(s, project_id, who, "campaign", campaign.id, "update", changes)
            return campaign
    except StaleDataError:
        raise audit.Conflict(
            f"version: campaign {campaign_id} was changed by someone else while you saved;"
            " reload it and apply your change again"
        ) from None


def delete_campaign(ws: Workspace, project_id: int, who: Account, campaign_id: int) -> None:
    """Delete a campaign and its checklist."""
    with ws.sessions.begin() as s:
        campaign = _get(s, project_id, campaign_id)
        for task in s.scalars(select(CampaignTask).where(CampaignTask.campaign_id == campaign_id)):
            gone = {f: [getattr(task, f), None] for f in TASK_FIELDS}
            audit.record(s, project_id, who, "campaign_task", task.id, "delete", gone)
            s.delete(task)
        s.flush()
        gone = {f: [getattr(campaign, f), None] for f in FIELDS}
        audit.record(s, project_id, who, "campaign", campaign.id, "delete", gone)
        s.delete(campaign)


def add_task(
    ws: Workspace, project_id: int, who: Account, campaign_id: int, values: dict[str, Any]
) -> CampaignTask:
    """A checklist item for a campaign."""
    with ws.sessions.begin() as s:
        _get(s, project_id, campaign_id)
        return _add_task(s, project_id, who, campaign_id, values)


def update_task(
    ws: Workspace,
    project_id: int,
    who: Account,
    task_id: int,
    version: int,
    updates: dict[str, Any],
) -> CampaignTask:
    """Tick off, reassign or reschedule a checklist item still at `version`."""
    try:
        with ws.sessions.begin() as s:
            task = s.get(CampaignTask, task_id)
            if task is None:
                raise audit.NotFound(f"task_id: no checklist item {task_id} in this project")
            _get(s, project_id, task.campaign_id)
            changes = audit.apply_update(task, f"checklist item {task_id}", version, updates)
            if changes:
                audit.record(s, project_id, who, "campaign_task", task.id, "update", changes)
            return task
    except StaleDataError:
        raise audit.Conflict(
            f"version: checklist item {task_id} was changed by someone else while you saved"
        ) from None
