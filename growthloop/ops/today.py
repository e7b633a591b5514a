"""The operator's day (今日工作台): own tasks due, content to publish, campaigns running,
data anomalies.

- tasks: plan actions and campaign checklist items whose owner is the operator, not done,
  due within the next `horizon_days` days or overdue;
- content: pieces assigned to the operator, scheduled for the day or the next `horizon_days`
  days and not yet published (or scheduled before the day and still not published: late);
- campaigns: those in warm-up or live on the day, with their monitor against targets;
- anomalies: days among the last `recent_days` days of data where visitors, orders, GMV or
  the tracked event volume leave the weekday-seasonal normal range of growthloop.models.anomalies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import select

from growthloop.analytics.kpis import last_data_day
from growthloop.models.anomalies import DEFAULT_HISTORY_DAYS, detect
from growthloop.models.errors import ModelInputError
from growthloop.models.kpi_series_data import DailySeries, fetch_daily_events, fetch_daily_kpi
from growthloop.ops import campaigns
from growthloop.ops.campaign_monitor import Monitor, monitor
from growthloop.ops.models import Campaign, CampaignTask, ContentPiece, PlanAction, PlanStrategy
from growthloop.workspace import Workspace

ANOMALY_SERIES = ("visitors", "orders", "gmv", "events")


@dataclass(frozen=True)
class Task:
    """Something the operator has to do."""

    kind: str  # "action" or "checklist"
    id: int
    title: str
    context: str  # the strategy or campaign it belongs to
    due: date | None
    overdue: bool
    link: str


@dataclass(frozen=True)
class RunningCampaign:
    """A campaign in warm-up or live, with its numbers."""

    campaign: Campaign
    stage: str
    monitor: Monitor


@dataclass(frozen=True)
class Flag:
    """One anomalous day of a series."""

    series: str
    day: date
    value: float
    expected: float
    direction: str
    severity: str


def own_tasks(
    ws: Workspace, project_id: int, owner: str, day: date, horizon_days: int = 7
) -> list[Task]:
    """Open actions and checklist items of `owner` due by `day` + horizon (overdue ones too)."""
    until = day + timedelta(days=horizon_days)
    out: list[Task] = []
    with ws.sessions() as s:
        actions = s.execute(
            select(PlanAction, PlanStrategy)
            .join(PlanStrategy, PlanAction.strategy_id == PlanStrategy.id)
            .where(
                PlanStrategy.project_id == project_id,
                PlanAction.owner == owner,
                PlanAction.status != "done",
                PlanAction.due <= until,
            )
        ).all()
        for action, strategy in actions:
            link = f"/plans?month={strategy.month:%Y-%m}"
            out.append(
                Task(
                    "action",
                    action.id,
                    action.title,
                    strategy.title,
                    action.due,
                    action.due is not None and action.due < day,
                    link,
                )
            )
        items = s.execute(
            select(CampaignTask, Campaign)
            .join(Campaign, CampaignTask.campaign_id == Campaign.id)
            .where(
                Campaign.project_id == project_id,
                CampaignTask.owner == owner,
                CampaignTask.done.is_(False),
                CampaignTask.due <= until,
            )
        ).all()
        for task, campaign in items:
            out.append(
                Task(
                    "checklist",
                    task.id,
                    task.title,
                    campaign.name,
                    task.due,
                    task.due is not None and task.due < day,
                    f"/campaigns/{campaign.id}",
                )
            )
    return sorted(out, key=lambda t: (t.due or until, t.kind, t.id))


def content_to_publish(
    ws: Workspace, project_id: int, assignee: str, day: date, horizon_days: int = 7
) -> list[Task]:
    """Scheduled pieces of `assignee` due to go out by `day` + horizon (late ones too)."""
    until = day + timedelta(days=horizon_days)
    with ws.sessions() as s:
        found = s.scalars(
            select(ContentPiece)
            .where(
                ContentPiece.project_id == project_id,
                ContentPiece.assignee == assignee,
                ContentPiece.stage == "scheduled",
                ContentPiece.publish_on <= until,
            )
            .order_by(ContentPiece.publish_on, ContentPiece.id)
        )
        return [
            Task(
                "content",
                p.id,
                p.title,
                f"{p.channel} · {p.format}",
                p.publish_on,
                p.publish_on is not None and p.publish_on < day,
                "/content?view=week",
            )
            for p in found
        ]


def running_campaigns(
    ws: Workspace,
    project_id: int,
    cursor: duckdb.DuckDBPyConnection,
    day: date,
    tz: ZoneInfo,
    currency: str,
) -> list[RunningCampaign]:
    """Campaigns in warm-up or live on `day`, each with its monitor."""
    out = []
    for c in campaigns.list_campaigns(ws, project_id):
        stage = campaigns.stage(c, day)
        if stage in ("warmup", "live"):
            # Up to the day asked about: a past day shows what was known then.
            last = min(c.end_date, day)
            numbers = monitor(cursor, c.key, c.warmup_date, last, c.targets, c.budget, tz, currency)
            out.append(RunningCampaign(c, stage, numbers))
    return out


def _series(
    cursor: duckdb.DuckDBPyConnection,
    name: str,
    start: date,
    end: date,
    tz: ZoneInfo,
    currency: str,
) -> DailySeries:
    if name == "events":
        return fetch_daily_events(cursor, tz, start, end)
    return fetch_daily_kpi(cursor, tz, currency, name, start, end)


def anomalies(
    cursor: duckdb.DuckDBPyConnection, day: date, tz: ZoneInfo, currency: str, recent_days: int = 7
) -> list[Flag]:
    """Anomalous days among the last `recent_days` days of data up to `day`, newest first."""
    last = last_data_day(cursor, tz)
    if last is None:
        return []
    end = min(day, last)
    start = end - timedelta(days=DEFAULT_HISTORY_DAYS + recent_days - 1)
    flags = []
    for name in ANOMALY_SERIES:
        try:
            series = _series(cursor, name, start, end, tz, currency)
        except ModelInputError:
            continue  # no data for this series in the window: nothing to judge
        weekdays = [d.weekday() for d in series.dates]
        for a in detect(series.values, weekdays).anomalies:
            when = series.dates[a.index]
            if when > end - timedelta(days=recent_days):
                flags.append(Flag(name, when, a.value, a.expected, a.direction, a.severity))
    return sorted(flags, key=lambda f: (f.day, f.series), reverse=True)
