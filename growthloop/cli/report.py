"""`growthloop report weekly`: the weekly data report (运营数据周报) on the terminal or to a file."""

from __future__ import annotations

import smtplib
import tempfile
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from growthloop.analytics import QueryContext, SpecError
from growthloop.analytics.kpis import last_data_day
from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.i18n import Formatter, translator
from growthloop.ops.audit import NotFound
from growthloop.ops.campaigns import get_campaign
from growthloop.ops.lessons import lesson_answers
from growthloop.reports.campaign import build_campaign
from growthloop.reports.document import Report
from growthloop.reports.monthly import build_monthly, last_complete_month
from growthloop.reports.schedule import Smtp, WeeklySchedule, email_for, recipients_of, send
from growthloop.reports.scheduled import run_scheduled
from growthloop.reports.weekly import ReportError, WeeklyReport, weekly_for_project
from growthloop.reports.weekly_specs import Week
from growthloop.workspace import Workspace

report_app = typer.Typer(help="Generated reports (运营报告).", no_args_is_help=True)
app.add_typer(report_app, name="report")

SUFFIXES = (".html", ".pdf", ".xlsx")


class Lang(StrEnum):
    zh = "zh-CN"
    en = "en"


def _print(report: WeeklyReport, locale: str, currency: str) -> None:
    t, fmt = translator(locale), Formatter(locale, currency)
    console.print(f"[bold]{t('report.weekly.title')}[/]", highlight=False)
    console.print(
        t(
            "report.weekly.subtitle",
            project=report.project,
            start=fmt.date(report.week.start),
            end=fmt.date(report.week.end),
        ),
        highlight=False,
    )
    for section in report.sections:
        console.print(f"\n[bold]{section.title(t)}[/]", highlight=False)
        for finding in section.findings:
            console.print(f"- {finding.text(t, fmt)}", highlight=False)


def write_report(report: Report, out: Path, locale: str, currency: str) -> None:
    """Write the report to `out` in the format its suffix names (.html, .pdf, .xlsx)."""
    from growthloop.reports.html import standalone_html

    suffix = out.suffix.lower()
    if suffix == ".xlsx":
        from growthloop.reports.xlsx import write_xlsx

        write_xlsx(report, out, locale, currency)
    elif suffix == ".pdf":
        from growthloop.reports.pdf import html_to_pdf

        html_to_pdf(standalone_html(report, locale, currency), out)
    else:
        out.write_text(standalone_html(report, locale, currency), encoding="utf-8")


def _mail_settings(
    project: str,
    mail_to: str,
    smtp: str,
    sender: str,
    link_base: str,
    locale: str,
    timezone: str,
    currency: str,
) -> tuple[WeeklySchedule, Smtp]:
    host, _, port = smtp.rpartition(":")
    if not host or not port.isdigit():
        raise fail(f"--smtp: {smtp!r} is not HOST:PORT", 2)
    try:
        recipients = recipients_of(mail_to)
        schedule = WeeklySchedule(project, recipients, timezone, locale=locale,
                                  base_url=link_base, currency=currency)  # fmt: skip
    except ValueError as exc:
        raise fail(f"--mail-to: {exc}", 2) from exc
    return schedule, Smtp(host, int(port), sender)


def _pdf_bytes(report: WeeklyReport, locale: str, currency: str) -> bytes:
    from growthloop.reports.html import standalone_html
    from growthloop.reports.pdf import html_to_pdf

    with tempfile.TemporaryDirectory() as tmp:
        html = standalone_html(report, locale, currency)
        return html_to_pdf(html, Path(tmp) / "report.pdf").read_bytes()


@report_app.command("weekly")
def weekly_command(
    week: Annotated[
        str | None,
        typer.Option(
            "--week", help="Any day of the week (YYYY-MM-DD) [default: the last complete week]."
        ),
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the report.")] = Lang.zh,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to FILE.html, FILE.pdf or FILE.xlsx instead."),
    ] = None,
    mail_to: Annotated[
        str | None,
        typer.Option("--mail-to", help="Mail the report (PDF attached) to these addresses (a,b)."),
    ] = None,
    smtp: Annotated[
        str, typer.Option("--smtp", help="SMTP server HOST:PORT for --mail-to.")
    ] = "127.0.0.1:25",
    sender: Annotated[
        str, typer.Option("--sender", help="From address for --mail-to.")
    ] = "growthloop@localhost",
    link_base: Annotated[
        str, typer.Option("--link-base", help="Web app address for the link in the mail.")
    ] = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
    project: ProjectOpt = None,
) -> None:
    """The weekly data report: KPIs, channels, funnel, retention, content, anomalies, A/B."""
    mail: tuple[WeeklySchedule, Smtp] | None = None
    chosen: Week | None = None
    if week is not None:
        try:
            chosen = Week.containing(date.fromisoformat(week))
        except ValueError:
            raise fail(f"--week: {week!r} is not a date (YYYY-MM-DD)", 2) from None
    _check_out(out)
    with open_workspace(data_dir) as ws:
        slug = _project_slug(ws, project)
        try:
            ctx = QueryContext.for_workspace(ws, slug)
            report = weekly_for_project(ctx, ws, slug, ws.events(slug).con, chosen)
        except (ReportError, SpecError) as exc:
            raise fail(f"project {slug}: {exc}", 1) from exc
        currency = ws.settings.currency
        if mail_to is not None:
            mail = _mail_settings(
                slug, mail_to, smtp, sender, link_base, lang.value, ws.settings.timezone, currency
            )
            try:
                pdf = _pdf_bytes(report, lang.value, currency)
                send(email_for(report, mail[0], pdf), mail[1])
            except (OSError, RuntimeError, smtplib.SMTPException) as exc:
                raise fail(f"--mail-to: sending to {mail_to} via {smtp} failed: {exc}", 1) from exc
            console.print(f"mailed to {mail_to}", highlight=False)
    if out is None:
        if mail is None:
            _print(report, lang.value, currency)
        return
    _write(report, out, lang.value, currency)


@report_app.command("campaign")
def campaign_command(
    campaign_id: Annotated[
        int, typer.Argument(help="The campaign's id (growthloop web: /campaigns).")
    ],
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the report.")] = Lang.zh,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to FILE.html, FILE.pdf or FILE.xlsx instead."),
    ] = None,
    data_dir: DataDir = None,
    project: ProjectOpt = None,
) -> None:
    """Campaign review (活动复盘): targets vs results, funnel, channel ROI, before/after, users."""
    _check_out(out)
    with open_workspace(data_dir) as ws:
        projects = {p.slug: p.id for p in ws.projects()}
        slug = project or ws.settings.default_project
        if slug not in projects:
            raise fail(f"--project: unknown project {slug!r} (projects: {', '.join(projects)})", 2)
        try:
            campaign = get_campaign(ws, projects[slug], campaign_id)
        except NotFound as exc:
            raise fail(f"campaign {campaign_id}: {exc}", 2) from exc
        con = ws.events(slug).con
        last_day = last_data_day(con, ws.settings.tz) or campaign.end_date
        ctx = QueryContext.for_workspace(ws, slug)
        lessons = lesson_answers(ws, projects[slug], campaign_id)
        report = build_campaign(ctx, con, campaign, slug, ws.settings.currency, last_day, lessons)
        currency = ws.settings.currency
    if out is None:
        _print_any(report, lang.value, currency)
        return
    _write(report, out, lang.value, currency)


@report_app.command("monthly")
def monthly_command(
    month: Annotated[
        str | None,
        typer.Option("--month", help="The month (YYYY-MM) [default: the last complete month]."),
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the report.")] = Lang.zh,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to FILE.html, FILE.pdf or FILE.xlsx instead."),
    ] = None,
    data_dir: DataDir = None,
    project: ProjectOpt = None,
) -> None:
    """Monthly review (月度复盘): goals, plan actions, channel mix, RFM movement, churn risk."""
    chosen: date | None = None
    if month is not None:
        try:
            chosen = date.fromisoformat(f"{month}-01")
        except ValueError:
            raise fail(f"--month: {month!r} is not a month (YYYY-MM)", 2) from None
    _check_out(out)
    with open_workspace(data_dir) as ws:
        slug = _project_slug(ws, project)
        con = ws.events(slug).con
        if chosen is None:
            last_day = last_data_day(con, ws.settings.tz)
            if last_day is None:
                raise fail(f"project {slug}: no data, so no month to review", 1)
            chosen = last_complete_month(last_day)
        report = build_monthly(ws, slug, con, chosen)
        currency = ws.settings.currency
    if out is None:
        _print_any(report, lang.value, currency)
        return
    _write(report, out, lang.value, currency)


def _check_out(out: Path | None) -> None:
    """--out must name a format we write, before any work is done."""
    if out is not None and out.suffix.lower() not in SUFFIXES:
        raise fail(f"--out: {out} must end in {', '.join(SUFFIXES)}", 2)


def _project_slug(ws: Workspace, project: str | None) -> str:
    """The --project slug, or the default project; an unknown one is a usage error."""
    slugs = [p.slug for p in ws.projects()]
    slug = project or ws.settings.default_project
    if slug not in slugs:
        raise fail(f"--project: unknown project {slug!r} (projects: {', '.join(slugs)})", 2)
    return slug


def _write(report: Report, out: Path, locale: str, currency: str) -> None:
    """Write any report to --out (.html, .pdf or .xlsx) and say where."""
    try:
        write_report(report, out, locale, currency)
    except (OSError, RuntimeError) as exc:
        raise fail(f"--out {out}: {exc}", 1) from exc
    console.print(f"wrote {out}", highlight=False)


def _print_any(report: Report, locale: str, currency: str) -> None:
    t, fmt = translator(locale), Formatter(locale, currency)
    title, subtitle = report.heading(t, fmt)
    console.print(f"[bold]{title}[/]\n{subtitle}", highlight=False)
    for section in report.sections:
        console.print(f"\n[bold]{section.title(t)}[/]", highlight=False)
        for finding in section.findings:
            console.print(f"- {finding.text(t, fmt)}", highlight=False)


@report_app.command("run-due")
def run_due_command(
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Act as if it were this UTC time (YYYY-MM-DDTHH:MM).", show_default=False
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Mail the weekly report of every project whose scheduled time has passed (for cron)."""
    try:
        moment = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise fail(f"--now {now!r}: not a time; use e.g. 2026-11-23T01:00", 2) from None
    with open_workspace(data_dir) as ws:
        try:
            delivered = run_scheduled(ws, moment)
        except (ValueError, OSError, RuntimeError, smtplib.SMTPException) as exc:
            raise fail(f"weekly report schedule: {exc}") from exc
    for project, ran in delivered:
        console.print(f"weekly report of {project} mailed for the run at {ran:%Y-%m-%d %H:%M} UTC")
    if not delivered:
        console.print("nothing due")
