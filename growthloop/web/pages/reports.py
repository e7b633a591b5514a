"""Report pages: the weekly data report (运营数据周报) in the browser, and its downloads."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import ibis
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.analytics import QueryContext
from growthloop.analytics.kpis import last_data_day
from growthloop.ops.audit import NotFound
from growthloop.ops.campaigns import get_campaign
from growthloop.ops.lessons import lesson_answers
from growthloop.reports.campaign import CampaignReport, build_campaign
from growthloop.reports.document import Report
from growthloop.reports.html import report_view, standalone_html
from growthloop.reports.monthly import MonthlyReport, build_monthly, last_complete_month
from growthloop.reports.pdf import PdfError, html_to_pdf
from growthloop.reports.weekly import ReportError, WeeklyReport, weekly_for_project
from growthloop.reports.weekly_specs import Week
from growthloop.reports.xlsx import write_xlsx
from growthloop.web.context import CurrentProject
from growthloop.web.insights import read_cursor
from growthloop.web.rendering import locale_of, render
from growthloop.web.security import Viewer, workspace_of

router = APIRouter(include_in_schema=False)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WeekParam = Annotated[
    str | None, Query(description="Any day of the week, YYYY-MM-DD; default: last complete week.")
]


def _weekly(request: Request, project: CurrentProject, week: str | None) -> WeeklyReport:
    """The report for ?week= (any day of it); 422 naming the parameter when it is not a date."""
    chosen = None
    if week:
        try:
            chosen = Week.containing(date.fromisoformat(week))
        except ValueError:
            raise HTTPException(422, f"week: {week!r} is not a date (YYYY-MM-DD)") from None
    ws = workspace_of(request)
    with read_cursor(project.store) as cursor:
        # build_weekly pins "now" to the end of the week; this one is only a placeholder.
        now = datetime.now(UTC).replace(tzinfo=None)
        ctx = QueryContext(ibis.duckdb.from_connection(cursor), ws.settings.tz, now)
        try:
            return weekly_for_project(ctx, ws, project.slug, cursor, chosen)
        except ReportError as exc:
            raise HTTPException(404, f"project {project.slug}: {exc}") from None


def _filename(report: Report, suffix: str) -> str:
    return report.file_stem + suffix


@router.get("/reports")
def reports_index(principal: Viewer, request: Request) -> Response:
    """/reports, as a user types it: the weekly report, with the same query."""
    query = request.url.query
    return RedirectResponse("/reports/weekly" + (f"?{query}" if query else ""), status_code=303)


@router.get("/reports/weekly")
def weekly_page(
    principal: Viewer, request: Request, project: CurrentProject, week: WeekParam = None
) -> Response:
    """The weekly report as a page, with links to its PDF and XLSX."""
    report = _weekly(request, project, week)
    locale = locale_of(request)
    query = urlencode(
        {"project": project.slug, "week": report.week.start.isoformat(), "lang": locale}
    )
    downloads = [
        ("PDF", f"/reports/weekly.pdf?{query}"),
        ("XLSX", f"/reports/weekly.xlsx?{query}"),
        ("HTML", f"/reports/weekly.html?{query}"),
    ]
    view = report_view(report, locale, workspace_of(request).settings.currency)
    context = {
        "project": project,
        "view": view,
        "week": report.week.start.isoformat(),
        "downloads": downloads,
    }
    return render(request, "report_weekly.html", context)


def _download(body: bytes, media_type: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


def _xlsx_response(request: Request, report: Report) -> Response:
    """Any report's tables as an Excel workbook download."""
    with tempfile.TemporaryDirectory() as tmp:
        out = write_xlsx(
            report,
            Path(tmp) / "r.xlsx",
            locale_of(request),
            workspace_of(request).settings.currency,
        )
        body = out.read_bytes()
    return _download(body, XLSX_TYPE, _filename(report, ".xlsx"))


def _pdf_response(request: Request, report: Report) -> Response:
    """Any report printed to PDF by Chromium; 503 when no browser can print it."""
    html = standalone_html(report, locale_of(request), workspace_of(request).settings.currency)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            body = html_to_pdf(html, Path(tmp) / "r.pdf").read_bytes()
        except PdfError as exc:
            raise HTTPException(503, str(exc)) from None
    return _download(body, "application/pdf", _filename(report, ".pdf"))


@router.get("/reports/weekly.html")
def weekly_html(
    principal: Viewer, request: Request, project: CurrentProject, week: WeekParam = None
) -> Response:
    """The weekly report as one self-contained HTML file (styles and chart script inline)."""
    report = _weekly(request, project, week)
    html = standalone_html(report, locale_of(request), workspace_of(request).settings.currency)
    return _download(html.encode("utf-8"), "text/html; charset=utf-8", _filename(report, ".html"))


@router.get("/reports/weekly.xlsx")
def weekly_xlsx(
    principal: Viewer, request: Request, project: CurrentProject, week: WeekParam = None
) -> Response:
    """The weekly report's tables as an Excel workbook."""
    report = _weekly(request, project, week)
    return _xlsx_response(request, report)


@router.get("/reports/weekly.pdf")
def weekly_pdf(
    principal: Viewer, request: Request, project: CurrentProject, week: WeekParam = None
) -> Response:
    """The weekly report printed to PDF by Chromium."""
    report = _weekly(request, project, week)
    return _pdf_response(request, report)


def _campaign(request: Request, project: CurrentProject, campaign_id: int) -> CampaignReport:
    ws = workspace_of(request)
    try:
        campaign = get_campaign(ws, project.id, campaign_id)
    except NotFound as exc:
        raise HTTPException(404, f"campaign_id: {exc}") from None
    with read_cursor(project.store) as cursor:
        now = datetime.now(UTC).replace(tzinfo=None)
        ctx = QueryContext(ibis.duckdb.from_connection(cursor), ws.settings.tz, now)
        last_day = last_data_day(cursor, ws.settings.tz) or campaign.end_date
        lessons = lesson_answers(ws, project.id, campaign_id)
        return build_campaign(
            ctx, cursor, campaign, project.slug, ws.settings.currency, last_day, lessons
        )


@router.get("/reports/campaign/{campaign_id}.xlsx")
def campaign_xlsx(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> Response:
    """The campaign review's tables as an Excel workbook."""
    report = _campaign(request, project, campaign_id)
    return _xlsx_response(request, report)


@router.get("/reports/campaign/{campaign_id}.pdf")
def campaign_pdf(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> Response:
    """The campaign review printed to PDF by Chromium."""
    report = _campaign(request, project, campaign_id)
    return _pdf_response(request, report)


def _monthly(request: Request, project: CurrentProject, month: str | None) -> MonthlyReport:
    ws = workspace_of(request)
    with read_cursor(project.store) as cursor:
        if month:
            try:
                chosen = date.fromisoformat(f"{month}-01")
            except ValueError:
                raise HTTPException(422, f"month: {month!r} is not a month (YYYY-MM)") from None
        else:
            last_day = last_data_day(cursor, ws.settings.tz)
            if last_day is None:
                raise HTTPException(404, f"project {project.slug}: no data, no month to review")
            chosen = last_complete_month(last_day)
        return build_monthly(ws, project.slug, cursor, chosen)


MonthParam = Annotated[str | None, Query(description="YYYY-MM; default: last complete month.")]


@router.get("/reports/monthly")
def monthly_page(
    principal: Viewer, request: Request, project: CurrentProject, month: MonthParam = None
) -> Response:
    """The monthly review (月度复盘) as a page, with links to its PDF and XLSX."""
    report = _monthly(request, project, month)
    locale = locale_of(request)
    query = urlencode({"project": project.slug, "month": f"{report.month:%Y-%m}", "lang": locale})
    downloads = [
        ("PDF", f"/reports/monthly.pdf?{query}"),
        ("XLSX", f"/reports/monthly.xlsx?{query}"),
    ]
    view = report_view(report, locale, workspace_of(request).settings.currency)
    context = {"project": project, "view": view, "downloads": downloads, "week": None}
    return render(request, "report_weekly.html", context)


@router.get("/reports/monthly.xlsx")
def monthly_xlsx(
    principal: Viewer, request: Request, project: CurrentProject, month: MonthParam = None
) -> Response:
    """The monthly review's tables as an Excel workbook."""
    report = _monthly(request, project, month)
    return _xlsx_response(request, report)


@router.get("/reports/monthly.pdf")
def monthly_pdf(
    principal: Viewer, request: Request, project: CurrentProject, month: MonthParam = None
) -> Response:
    """The monthly review printed to PDF by Chromium."""
    report = _monthly(request, project, month)
    return _pdf_response(request, report)


# Registered after the .xlsx and .pdf routes: "/reports/campaign/3.pdf" must reach those first.
@router.get("/reports/campaign/{campaign_id}")
def campaign_page(
    principal: Viewer, request: Request, project: CurrentProject, campaign_id: int
) -> Response:
    """The campaign review (活动复盘) as a page, with links to its PDF and XLSX."""
    report = _campaign(request, project, campaign_id)
    locale = locale_of(request)
    query = urlencode({"project": project.slug, "lang": locale})
    base = f"/reports/campaign/{campaign_id}"
    downloads = [("PDF", f"{base}.pdf?{query}"), ("XLSX", f"{base}.xlsx?{query}")]
    view = report_view(report, locale, workspace_of(request).settings.currency)
    context = {"project": project, "view": view, "downloads": downloads, "week": None}
    return render(request, "report_weekly.html", context)
