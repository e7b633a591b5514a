"""Scheduled weekly reports: when a run is due, and delivering one by email with the PDF.

The default schedule is every Monday at 09:00 in the project time zone; the report of a run is
the last complete week before it (a Monday 09:00 run reports on the Monday-Sunday just ended).
`run_due` is what a timer (cron, systemd, the web app's loop) calls: it sends the report when a
scheduled moment has passed since the last run, and returns the moment it ran for.
"""

from __future__ import annotations

import smtplib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from growthloop.analytics import QueryContext
from growthloop.i18n import Formatter, translator
from growthloop.reports.html import standalone_html
from growthloop.reports.pdf import html_to_pdf
from growthloop.reports.weekly import WeeklyReport, build_weekly
from growthloop.reports.weekly_specs import Week


@dataclass(frozen=True)
class Smtp:
    """Where to send mail: host, port, sender, optional login and STARTTLS."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class WeeklySchedule:
    """Send the weekly report on `weekday` (0 = Monday) at `at` local time to `recipients`."""

    project: str
    recipients: tuple[str, ...]
    timezone: str = "Asia/Shanghai"
    weekday: int = 0
    at: time = time(9, 0)
    locale: str = "zh-CN"
    base_url: str = "http://127.0.0.1:8000"
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday: {self.weekday} is not 0 (Monday) .. 6 (Sunday)")
        if not self.recipients:
            raise ValueError("recipients: a schedule needs at least one email address")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first run

    @property
    def tz(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    def latest_run(self, now_utc: datetime) -> datetime:
        """The latest scheduled moment at or before `now_utc` (both naive UTC)."""
        local = now_utc.replace(tzinfo=UTC).astimezone(self.tz)
        day = local.date() - timedelta(days=(local.weekday() - self.weekday) % 7)
        moment = datetime.combine(day, self.at, self.tz)
        if moment > local:
            moment = datetime.combine(day - timedelta(days=7), self.at, self.tz)
        return moment.astimezone(UTC).replace(tzinfo=None)

    def week_for(self, run_utc: datetime) -> Week:
        """The report week of a run: the last Monday-Sunday week that ended before it."""
        local_day = run_utc.replace(tzinfo=UTC).astimezone(self.tz).date()
        return Week.containing(local_day).previous()

    def link(self, week: Week) -> str:
        """The report's page in the web app."""
        query = urlencode({"project": self.project, "week": week.start.isoformat()})
        return f"{self.base_url.rstrip('/')}/reports/weekly?{query}"


def email_for(report: WeeklyReport, schedule: WeeklySchedule, pdf: bytes) -> EmailMessage:
    """The mail: subject, the findings as text with the link, and the PDF attached."""
    t, fmt = translator(schedule.locale), Formatter(schedule.locale, schedule.currency)
    subtitle = t(
        "report.weekly.subtitle",
        project=report.project,
        start=fmt.date(report.week.start),
        end=fmt.date(report.week.end),
    )
    lines = [subtitle, "", schedule.link(report.week), ""]
    for section in report.sections:
        lines.append(section.title(t))
        lines += [f"- {f.text(t, fmt)}" for f in section.findings]
        lines.append("")
    message = EmailMessage()
    message["Subject"] = f"{t('report.weekly.title')} · {subtitle}"
    message["To"] = ", ".join(schedule.recipients)
    message.set_content("\n".join(lines))
    filename = f"weekly-report-{report.project}-{report.week.start.isoformat()}.pdf"
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


def send(message: EmailMessage, smtp: Smtp, timeout: float = 30.0) -> None:
    """Hand the message to the SMTP server."""
    message["From"] = smtp.sender
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(message)


BuildReport = Callable[[Week], WeeklyReport]
"""Makes the report of a week; `weekly.weekly_for_project` bound to a workspace gives the same
report as the web page and the CLI (with the goal and paid-source sections)."""


def deliver_weekly(
    ctx: QueryContext,
    schedule: WeeklySchedule,
    smtp: Smtp,
    run_utc: datetime,
    build: BuildReport | None = None,
) -> WeeklyReport:
    """Build the run's report, print it to PDF and mail it to the schedule's recipients."""
    week = schedule.week_for(run_utc)
    report = build(week) if build else build_weekly(ctx, week, schedule.project)
    with tempfile.TemporaryDirectory() as tmp:
        html = standalone_html(report, schedule.locale, schedule.currency)
        pdf = html_to_pdf(html, Path(tmp) / "report.pdf").read_bytes()
    send(email_for(report, schedule, pdf), smtp)
    return report


def run_due(
    ctx: QueryContext,
    schedule: WeeklySchedule,
    smtp: Smtp,
    last_run_utc: datetime | None,
    now_utc: datetime,
    build: BuildReport | None = None,
) -> datetime | None:
    """Deliver when a scheduled moment passed after `last_run_utc`; returns that moment (store
    it as the new last run), or None when nothing was due. Missed runs are not repeated: only
    the latest one is sent."""
    due = schedule.latest_run(now_utc)
    if last_run_utc is not None and due <= last_run_utc:
        return None
    deliver_weekly(ctx, schedule, smtp, due, build)
    return due


def recipients_of(text: str) -> tuple[str, ...]:
    """Comma-separated addresses; each must look like name@host."""
    found: Sequence[str] = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in found if "@" not in a or a.startswith("@") or a.endswith("@")]
    if bad:
        raise ValueError(f"not an email address: {', '.join(bad)}")
    return tuple(found)
