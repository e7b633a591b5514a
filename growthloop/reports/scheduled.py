"""The configured weekly report schedule: built from settings, its last run kept in the data dir.

`run_scheduled` is what `growthloop report run-due` (cron) and the web server's timer call; a run
that was delivered is recorded before the next one can start, so each week is mailed once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path

from growthloop.analytics import QueryContext
from growthloop.config import Settings
from growthloop.reports.schedule import (
    BuildReport,
    Smtp,
    WeeklySchedule,
    recipients_of,
    run_due,
)
from growthloop.reports.weekly import WeeklyReport, weekly_for_project
from growthloop.reports.weekly_specs import Week
from growthloop.workspace import Workspace


def configured(settings: Settings, project: str) -> tuple[WeeklySchedule, Smtp] | None:
    """The project's weekly schedule and mail server, or None when no recipients are set."""
    if not settings.weekly_report_to.strip():
        return None
    if not settings.smtp_host:
        raise ValueError("weekly_report_to is set but smtp_host is not: where should mail go?")
    hour, minute = (int(x) for x in settings.weekly_report_time.split(":"))
    schedule = WeeklySchedule(
        project=project,
        recipients=recipients_of(settings.weekly_report_to),
        timezone=settings.timezone,
        weekday=settings.weekly_report_weekday,
        at=time(hour, minute),
        locale=settings.weekly_report_locale,
        base_url=settings.base_url,
        currency=settings.currency,
    )
    smtp = Smtp(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_sender,
        settings.smtp_username,
        settings.smtp_password,
        settings.smtp_starttls,
    )
    return schedule, smtp


def _state_file(settings: Settings, project: str) -> Path:
    return settings.data_dir / "schedules" / f"weekly-{project}.json"


def last_run(settings: Settings, project: str) -> datetime | None:
    """When the project's weekly report was last delivered (naive UTC), if ever."""
    path = _state_file(settings, project)
    if not path.exists():
        return None
    return datetime.fromisoformat(json.loads(path.read_text())["last_run_utc"])


def _record(settings: Settings, project: str, ran: datetime) -> None:
    path = _state_file(settings, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"last_run_utc": ran.isoformat()}))
    tmp.replace(path)  # atomic: a crash leaves the old or the new state, never half of one


def _same_as_web(ctx: QueryContext, ws: Workspace, project: str) -> BuildReport:
    """The report the web page and `growthloop report weekly` show: with the goal section and
    the paid sources' ROI, which `build_weekly` alone leaves out."""

    def build(week: Week) -> WeeklyReport:
        return weekly_for_project(ctx, ws, project, ws.events(project).con, week)

    return build


def run_scheduled(ws: Workspace, now_utc: datetime | None = None) -> list[tuple[str, datetime]]:
    """Deliver every project's weekly report that is due; returns (project, run) per delivery."""
    now = now_utc or datetime.now(UTC).replace(tzinfo=None)
    delivered = []
    for project in ws.projects():
        found = configured(ws.settings, project.slug)
        if found is None or ws.events(project.slug).count("events") == 0:
            continue
        schedule, smtp = found
        ctx = QueryContext.for_workspace(ws, project.slug)
        ran = run_due(
            ctx, schedule, smtp, last_run(ws.settings, project.slug), now,
            _same_as_web(ctx, ws, project.slug),
        )  # fmt: skip
        if ran is not None:
            _record(ws.settings, project.slug, ran)
            delivered.append((project.slug, ran))
    return delivered
