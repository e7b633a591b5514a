"""When outreach runs: `send_now` for a button or `growthloop outreach send`, `run_due` for the
periodic job (cron, `growthloop outreach run-due`): due runs are planned once, and every queued
row whose retry time has come is delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from growthloop.ops.outreach_models import Outreach, OutreachRun
from growthloop.ops.outreach_sending import Delivery, deliver, plan_run, run_key_for
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace


@dataclass(frozen=True)
class RunReport:
    """One message's run and what its delivery pass did."""

    outreach_id: int
    run_id: int
    run_key: str
    delivery: Delivery


def send_now(ws: Workspace, item: Outreach, now: datetime | None = None) -> RunReport:
    """Plan the message's current run (once: its only run) and deliver what is due."""
    now = now or utcnow()
    key = "once" if item.repeat_days == 0 else f"manual:{now.isoformat(timespec='minutes')}"
    run = plan_run(ws, item, key, now)
    return RunReport(item.id, run.id, key, deliver(ws, item.project_id, now, run_id=run.id))


def due_messages(ws: Workspace, now: datetime) -> list[Outreach]:
    """Active scheduled messages whose first moment has come."""
    with ws.sessions() as s:
        query = select(Outreach).where(
            Outreach.active.is_(True), Outreach.send_at.is_not(None), Outreach.send_at <= now
        )
        return list(s.scalars(query.order_by(Outreach.id)))


def _has_run(ws: Workspace, outreach_id: int, key: str) -> bool:
    with ws.sessions() as s:
        query = select(OutreachRun.id).where(
            OutreachRun.outreach_id == outreach_id, OutreachRun.run_key == key
        )
        return s.scalar(query) is not None


@dataclass
class DueReport:
    """What `run_due` did: runs planned, problems per message, deliveries per project."""

    planned: list[tuple[int, str]] = field(default_factory=list)
    problems: dict[int, str] = field(default_factory=dict)
    delivered: dict[str, Delivery] = field(default_factory=dict)


def run_due(ws: Workspace, now_utc: datetime | None = None) -> DueReport:
    """Plan every due run not made yet (missed moments are not repeated, only the latest one),
    then deliver every project's due rows, retries included. Safe to run twice."""
    now = now_utc or utcnow()
    report = DueReport()
    for item in due_messages(ws, now):
        key = run_key_for(item, now)
        if _has_run(ws, item.id, key):
            continue
        try:
            plan_run(ws, item, key, now)
        except TargetError as exc:  # one broken message must not hold the others back
            report.problems[item.id] = str(exc)
            continue
        report.planned.append((item.id, key))
    for project in ws.projects():
        report.delivered[project.slug] = deliver(ws, project.id, now)
    return report
