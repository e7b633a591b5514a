"""The weekly data report (运营数据周报): one Monday-Sunday week against the week before.

report = build_weekly(QueryContext.for_workspace(ws), week=Week(date(2026, 11, 16)))

Sections: core KPIs, traffic and new users by channel, the main funnel and where it lost most,
retention of recent weekly signup cohorts, content performance and hits, anomalies, A/B
experiments. Every number comes from a spec in `report.specs`, run with "now" pinned to
`report.as_of` (the end of the week), so `rerun(report, ctx)` reproduces them. There are no goal
objects in the workspace yet, so the report has no "vs target" column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from growthloop.analytics import (
    AnalysisResult,
    FunnelResult,
    QueryContext,
    RetentionResult,
    TrendsResult,
    parse_spec,
    run_analysis,
)
from growthloop.i18n import Formatter, Translator
from growthloop.reports.document import Section
from growthloop.reports.weekly_content import model_hits
from growthloop.reports.weekly_goals import goal_section
from growthloop.reports.weekly_roi import roi_section
from growthloop.reports.weekly_sections import (
    channel_section,
    content_section,
    funnel_section,
    kpi_section,
    retention_section,
)
from growthloop.reports.weekly_signals import anomaly_section, experiment_section
from growthloop.reports.weekly_specs import (
    Spec,
    Week,
    channel_spec,
    content_spec,
    daily_spec,
    experiment_funnel_spec,
    experiments_spec,
    funnel_spec,
    kpi_spec,
    retention_spec,
)
from growthloop.workspace import Workspace


class ReportError(ValueError):
    """A report that cannot be made (no data, a week outside the data)."""


@dataclass(frozen=True)
class WeeklyReport:
    """A weekly report: its week, the moment its specs ran as "now", the specs and sections."""

    project: str
    week: Week
    as_of: datetime
    timezone: str
    specs: dict[str, Spec]
    sections: tuple[Section, ...]
    goals: tuple[dict[str, Any], ...] = ()
    """The goals the goal section read (id, name, metric, period, target), if any."""

    def section(self, key: str) -> Section:
        """The section named `key` (kpis, channels, funnel, retention, content, anomalies,
        experiments)."""
        return next(s for s in self.sections if s.key == key)

    @property
    def file_stem(self) -> str:
        """The download's file name without suffix."""
        return f"weekly-report-{self.project}-{self.week.start.isoformat()}"

    def heading(self, t: Translator, fmt: Formatter) -> tuple[str, str]:
        """Title and subtitle in the translator's language."""
        subtitle = t(
            "report.weekly.subtitle",
            project=self.project,
            start=fmt.date(self.week.start),
            end=fmt.date(self.week.end),
        )
        return t("report.weekly.title"), subtitle

    def recipe(self) -> dict[str, Any]:
        """What it takes to make the same numbers again: window, "now" and the specs (JSON)."""
        return {
            "report": "weekly",
            "project": self.project,
            "week_start": self.week.start.isoformat(),
            "week_end": self.week.end.isoformat(),
            "timezone": self.timezone,
            "as_of_utc": self.as_of.isoformat(),
            "specs": self.specs,
            "goals": list(self.goals),
        }


def run_spec(spec: Spec, ctx: QueryContext) -> AnalysisResult:
    """Run one spec (a JSON-ready dict) through the analytics engine."""
    return run_analysis(parse_spec(spec), ctx)


_run = run_spec


def _trends(spec: Spec, ctx: QueryContext) -> TrendsResult:
    result = _run(spec, ctx)
    assert isinstance(result, TrendsResult)
    return result


def _funnel(spec: Spec, ctx: QueryContext) -> FunnelResult:
    result = _run(spec, ctx)
    assert isinstance(result, FunnelResult)
    return result


def last_complete_week(ctx: QueryContext) -> Week:
    """The latest Monday-Sunday week whose Sunday is before the last day with events."""
    rows = ctx.backend.raw_sql("SELECT max(timestamp) FROM events").fetchall()
    stamp = rows[0][0] if rows else None
    if not isinstance(stamp, datetime):
        raise ReportError("the event store holds no events: there is no week to report on")
    last_day = stamp.replace(tzinfo=UTC).astimezone(ctx.tz).date()
    # A week is complete when its Sunday is over: the data reaches at least that Sunday.
    sunday = last_day - timedelta(days=(last_day.weekday() + 1) % 7)
    return Week(sunday - timedelta(days=6))


def build_weekly(
    ctx: QueryContext,
    week: Week | None = None,
    project: str = "",
    goals: tuple[Section, list[dict[str, Any]]] | None = None,
    roi: Section | None = None,
    content_hits: frozenset[str] | None = None,
) -> WeeklyReport:
    """Run the weekly report's specs for `week` (default: the last complete week of the data).

    `ctx.now_utc` is replaced by the end of the week, so the report does not change later.
    `goals`: the goal section for the week (`weekly_goals.goal_section`), shown after the KPIs;
    `roi`: paid sources' spend and ROI (`weekly_roi.roi_section`), shown after the channels;
    `content_hits`: the content model's hits (`weekly_content.model_hits`), starred (None:
    the content section says nothing about hits).
    """
    week = week or last_complete_week(ctx)
    as_of = week.as_of(ctx.tz)
    ctx = QueryContext(ctx.backend, ctx.tz, as_of)
    specs: dict[str, Spec] = {
        "kpis": kpi_spec(week),
        "channels": channel_spec(week),
        "funnel": funnel_spec(week),
        "funnel_previous": funnel_spec(week.previous()),
        "retention": retention_spec(week),
        "content": content_spec(week),
        "daily": daily_spec(week),
        "experiments": experiments_spec(week),
    }
    kpis = _trends(specs["kpis"], ctx)
    if not any(line.total for line in kpis.lines if line.period == "current"):
        raise ReportError(f"no events in the week {week.start} .. {week.end}")
    exposed = _trends(specs["experiments"], ctx)
    names = sorted(
        str(x.breakdown_value)
        for x in exposed.lines
        if x.breakdown_value is not None and not str(x.breakdown_value).startswith("$")
    )
    experiment_funnels = {}
    for name in names:
        specs[f"experiment:{name}"] = experiment_funnel_spec(week, name)
        experiment_funnels[name] = _funnel(specs[f"experiment:{name}"], ctx)
    retention = _run(specs["retention"], ctx)
    assert isinstance(retention, RetentionResult)
    goal_part = (goals[0],) if goals else ()
    sections = (
        kpi_section(kpis),
        *goal_part,
        channel_section(_trends(specs["channels"], ctx)),
        *((roi,) if roi else ()),
        funnel_section(_funnel(specs["funnel"], ctx), _funnel(specs["funnel_previous"], ctx)),
        retention_section(retention),
        content_section(_trends(specs["content"], ctx), content_hits),
        anomaly_section(_trends(specs["daily"], ctx), week.start),
        experiment_section(experiment_funnels),
    )
    read = tuple(goals[1]) if goals else ()
    return WeeklyReport(project, week, as_of, ctx.tz.key, specs, sections, read)


def rerun(recipe: dict[str, Any], ctx: QueryContext) -> dict[str, AnalysisResult]:
    """Run a report's recorded specs again with its recorded "now": the same numbers."""
    as_of = datetime.fromisoformat(recipe["as_of_utc"])
    pinned = QueryContext(ctx.backend, ctx.tz, as_of)
    return {name: _run(spec, pinned) for name, spec in recipe["specs"].items()}


def weekly_for_project(
    ctx: QueryContext, ws: Workspace, project: str, cursor: Any, week: Week | None = None
) -> WeeklyReport:
    """The weekly report of a workspace's project, with its goal section when goals exist."""
    week = week or last_complete_week(ctx)
    goals = goal_section(ws, project, cursor, week)
    roi = roi_section(cursor, ctx.tz, ws.settings.currency, week)
    hits = model_hits(cursor, ctx.tz, week)
    return build_weekly(ctx, week, project, goals, roi, hits)


def week_of(day: date) -> Week:
    """The report week that holds `day`."""
    return Week.containing(day)
