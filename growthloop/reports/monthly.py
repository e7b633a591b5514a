"""Monthly review (月度复盘): one calendar month of a project, as of its last day.

Sections: goal attainment per node of the goal trees; the month's plan (运营规划) with action
items done and overdue; channel mix (spend, orders, GMV, ROI by paid source, against the month
before) with the budget-mix recommendation (growthloop.models.budget_mix over the 90 days up to
the month's end); RFM movement (R x F segments at the end of the month before and of this one);
the churn-risk list (top-20% spenders with BG/NBD P(alive) < 0.5) and how it changed.
Each part that has no data (no goals, no plan, no spend) says so instead of showing zeros.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb
import numpy as np

from growthloop.i18n import Formatter, Translator
from growthloop.models import churn, clv
from growthloop.models.budget_mix import allocate, fit_response
from growthloop.models.budget_mix_data import fetch_channel_days
from growthloop.models.clv_data import fetch_buyers
from growthloop.models.errors import ModelInputError
from growthloop.models.rfm import RF_SEGMENTS, rf_segments, score
from growthloop.models.rfm_data import fetch_rfm
from growthloop.ops.plans import is_overdue, plan_of
from growthloop.reports.document import Finding, Section, Table, Value
from growthloop.reports.weekly_goals import goal_section_at
from growthloop.reports.weekly_roi import spend_and_returns
from growthloop.workspace import Workspace

MIX_DAYS = 90


@dataclass(frozen=True)
class MonthlyReport:
    """A monthly review: its month, the moment it stands at, and the sections."""

    project: str
    month: date
    last_day: date
    as_of: datetime
    timezone: str
    sections: tuple[Section, ...]

    @property
    def file_stem(self) -> str:
        """The download's file name without suffix."""
        return f"monthly-review-{self.project}-{self.month:%Y-%m}"

    def heading(self, t: Translator, fmt: Formatter) -> tuple[str, str]:
        """Title and subtitle in the translator's language."""
        subtitle = t(
            "report.monthly.subtitle",
            project=self.project,
            start=fmt.date(self.month),
            end=fmt.date(self.last_day),
        )
        return t("report.monthly.title"), subtitle

    def recipe(self) -> dict[str, Any]:
        """The window the review read (its numbers come from the store and the ops tables)."""
        return {
            "report": "monthly",
            "project": self.project,
            "month": [self.month.isoformat(), self.last_day.isoformat()],
            "timezone": self.timezone,
            "as_of_utc": self.as_of.isoformat(),
        }


def month_end(first: date) -> date:
    """The last day of the month that starts on `first`."""
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _plan(ws: Workspace, project_id: int, month: date, last_day: date) -> Section:
    actions = [a for view in plan_of(ws, project_id, month) for a in view.actions]
    today = last_day + timedelta(days=1)
    done = [a for a in actions if a.status == "done"]
    late = sorted((a for a in actions if is_overdue(a, today)), key=lambda a: (a.due, a.id))
    rows = tuple((a.title, a.owner, a.due, a.status, "!" if a in late else "") for a in actions)
    if not actions:
        finding = Finding("monthly_no_plan")
    else:
        values = {"done": Value("int", len(done)), "actions": Value("int", len(actions)),
                  "overdue": Value("int", len(late))}  # fmt: skip
        if late:
            values |= {"oldest": Value("text", late[0].title), "due": Value("date", late[0].due),
                       "owner": Value("text", late[0].owner or "–")}  # fmt: skip
        finding = Finding("monthly_plan_late" if late else "monthly_plan", values)
    table = Table(
        ("action", "owner", "due", "status", "overdue"),
        ("text", "text", "date", "term", "text"),
        rows,
    )
    return Section("monthly_plan", (finding,), table, ())


def _channels(
    con: duckdb.DuckDBPyConnection, ws: Workspace, month: date, last_day: date
) -> Section:
    tz, currency = ws.settings.tz, ws.settings.currency
    rows = spend_and_returns(con, tz, currency, month, last_day)
    recommended: dict[str, tuple[float, float]] = {}
    refused: list[str] = []
    curves, current = [], []
    for ch in fetch_channel_days(con, tz, last_day - timedelta(days=MIX_DAYS - 1), last_day):
        try:
            curves.append(fit_response(ch.channel, ch.spend, ch.conversions))
        except ModelInputError as exc:
            refused.append(str(exc))
            continue
        current.append(max(float(ch.spend[-28:].mean()), 1e-6))
    if curves:
        try:
            mix = allocate(curves, current)
            for i, curve in enumerate(curves):
                recommended[curve.channel] = (float(mix.current[i]), float(mix.recommended[i]))
        except ModelInputError as exc:
            refused.append(str(exc))
    table_rows = []
    for channel, spend, orders, gmv in rows:
        now, rec = recommended.get(str(channel), (None, None))
        roi = gmv / spend if spend else None
        table_rows.append((str(channel), spend, int(orders), gmv, roi, now, rec))
    findings = []
    if recommended:
        shifts = {c: rec - now for c, (now, rec) in recommended.items()}
        cut, add = min(shifts, key=shifts.__getitem__), max(shifts, key=shifts.__getitem__)
        findings.append(
            Finding(
                "monthly_mix",
                {
                    "cut": Value("text", cut),
                    "cut_now": Value("money", recommended[cut][0]),
                    "cut_to": Value("money", recommended[cut][1]),
                    "add": Value("text", add),
                    "add_now": Value("money", recommended[add][0]),
                    "add_to": Value("money", recommended[add][1]),
                },
            )
        )
    elif table_rows:
        findings.append(Finding("monthly_mix_none", {"reason": Value("text", "; ".join(refused))}))
    if not table_rows:
        findings.append(Finding("monthly_no_spend"))
    table = Table(
        ("source", "spend", "orders", "gmv", "roi", "daily_now", "daily_recommended"),
        ("text", "money", "int", "money", "ratio", "money", "money"),
        tuple(table_rows),
    )
    return Section("monthly_channels", tuple(findings), table, ())


def _segments(con: duckdb.DuckDBPyConnection, ws: Workspace, day: date) -> Counter[str]:
    try:
        data = fetch_rfm(con, ws.settings.tz, day)
    except ModelInputError:
        return Counter()
    scores = score(data.data)
    return Counter(str(s) for s in rf_segments(scores.r, scores.f))


def _rfm(con: duckdb.DuckDBPyConnection, ws: Workspace, month: date, last_day: date) -> Section:
    before = _segments(con, ws, month - timedelta(days=1))
    after = _segments(con, ws, last_day)
    rows = tuple(
        (code, before.get(code, 0), after.get(code, 0), after.get(code, 0) - before.get(code, 0))
        for code in RF_SEGMENTS
    )
    if after:
        grew = max(rows, key=lambda r: r[3])
        shrank = min(rows, key=lambda r: r[3])
        finding = Finding(
            "monthly_rfm",
            {"customers": Value("int", sum(after.values())), "grew": Value("term", grew[0]),
             "grew_by": Value("int", grew[3]), "shrank": Value("term", shrank[0]),
             "shrank_by": Value("int", -shrank[3])},
        )  # fmt: skip
    else:
        finding = Finding("no_data")
    table = Table(
        ("segment", "month_before", "this_month", "difference"),
        ("term", "int", "int", "int"),
        rows,
    )
    return Section("monthly_rfm", (finding,), table, ())


def churn_list_size(
    con: duckdb.DuckDBPyConnection, ws: Workspace, day: date
) -> tuple[int | None, str]:
    """Top-20% spenders with BG/NBD P(alive) below 0.5 as of `day`, or None and the model's
    reason when it cannot say (too few buyers, a fit that does not converge)."""
    try:
        buyers = fetch_buyers(con, ws.settings.tz, day)
        summary = buyers.purchases.summary
        fit = clv.fit_bgnbd(summary)
        risk = churn.churn_risk(buyers.purchases.total_spend, clv.p_alive(fit, summary))
    except (ModelInputError, np.linalg.LinAlgError) as exc:
        return None, str(exc)
    return len(risk.indices), ""


def _churn(con: duckdb.DuckDBPyConnection, ws: Workspace, month: date, last_day: date) -> Section:
    before, _ = churn_list_size(con, ws, month - timedelta(days=1))
    now, reason = churn_list_size(con, ws, last_day)
    rows = ((month - timedelta(days=1), before), (last_day, now))
    finding = (
        Finding("monthly_churn", {"now": Value("int", now), "before": Value("int", before)})
        if now is not None
        else Finding("monthly_churn_none", {"reason": Value("text", reason)})
    )
    table = Table(("day", "at_risk"), ("date", "int"), rows)
    return Section("monthly_churn", (finding,), table, (), facts={"now": now, "before": before})


def build_monthly(
    ws: Workspace, project: str, con: duckdb.DuckDBPyConnection, month: date
) -> MonthlyReport:
    """The review of the month that holds `month`, as of its last day."""
    first = month.replace(day=1)
    last = month_end(first)
    project_id = next(p.id for p in ws.projects() if p.slug == project)
    goals = goal_section_at(ws, project, con, last)
    goal_part = (goals[0],) if goals else (Section("goals", (Finding("monthly_no_goals"),),
                                                   Table((), (), ()), ()),)  # fmt: skip
    sections = (
        *goal_part,
        _plan(ws, project_id, first, last),
        _channels(con, ws, first, last),
        _rfm(con, ws, first, last),
        _churn(con, ws, first, last),
    )
    tz = ws.settings.tz
    as_of = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return MonthlyReport(project, first, last, as_of.replace(tzinfo=None), tz.key, sections)


def last_complete_month(last_data_day: date) -> date:
    """The first day of the latest month whose last day the data has reached."""
    if month_end(last_data_day.replace(day=1)) == last_data_day:
        return last_data_day.replace(day=1)
    return (last_data_day.replace(day=1) - timedelta(days=1)).replace(day=1)
