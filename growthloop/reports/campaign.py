"""Campaign review (活动复盘): a campaign plan from the ops workspace against what happened.

Sections: targets vs results (达成率), participants and the campaign funnel, channels with spend,
cost per order and ROI, before / during / after, the users it brought and their retention, and
lessons for the team to fill in. The campaign window is warm-up day .. end day; "before" and
"after" are windows of the same length just before and after it.

Targets, funnel and spend come from the campaign monitor (`growthloop.ops.campaign_monitor`);
orders by channel from the orders table (campaign = key); before/during/after and retention
from analytics specs that the report records, run with "now" pinned to `as_of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb

from growthloop.analytics import QueryContext, RetentionResult, TrendsResult
from growthloop.i18n import Formatter, Translator
from growthloop.ops.campaign_monitor import TARGET_METRICS, Monitor, monitor
from growthloop.ops.models import Campaign
from growthloop.reports.document import Finding, Kind, Section, Table, Value
from growthloop.reports.weekly import run_spec

_KINDS: dict[str, Kind] = {"gmv": "money"}
_ORDERS_BY_CHANNEL = """
SELECT channel, count(*), sum(amount) FROM orders
WHERE campaign = ? AND currency = ? AND timestamp >= ? AND timestamp < ?
GROUP BY channel
"""


@dataclass(frozen=True)
class CampaignReport:
    """A campaign review: the campaign, its window, the specs it ran and the sections."""

    project: str
    key: str
    name: str
    first_day: date
    last_day: date
    as_of: datetime
    timezone: str
    specs: dict[str, dict[str, Any]]
    sections: tuple[Section, ...]

    @property
    def file_stem(self) -> str:
        """The download's file name without suffix."""
        return f"campaign-review-{self.project}-{self.key}"

    def heading(self, t: Translator, fmt: Formatter) -> tuple[str, str]:
        """Title and subtitle in the translator's language."""
        subtitle = t(
            "report.campaign.subtitle",
            name=self.name,
            code=self.key,
            start=fmt.date(self.first_day),
            end=fmt.date(self.last_day),
        )
        return t("report.campaign.title"), subtitle

    def recipe(self) -> dict[str, Any]:
        """The window, "now" and the specs (the monitor's numbers are re-read from the store)."""
        return {
            "report": "campaign",
            "project": self.project,
            "campaign": self.key,
            "window": [self.first_day.isoformat(), self.last_day.isoformat()],
            "timezone": self.timezone,
            "as_of_utc": self.as_of.isoformat(),
            "specs": self.specs,
        }


def _range(first: date, last: date) -> dict[str, str]:
    return {"date_from": first.isoformat(), "date_to": last.isoformat()}


def comparison_spec(first: date, last: date) -> dict[str, Any]:
    """Daily visitors, orders and revenue from `first` to `last` (before .. after)."""
    revenue = {"key": "revenue", "type": "column"}
    return {
        "kind": "trends",
        "series": [
            {"math": "unique_users", "name": "visitors"},
            {"event": "purchase", "math": "total", "name": "orders"},
            {"event": "purchase", "math": "sum", "property": revenue, "name": "revenue"},
        ],
        "interval": "day",
        "date_range": _range(first, last),
    }


def retention_spec(key: str, first: date, last: date, campaign_only: bool) -> dict[str, Any]:
    """Weekly return (any event) of people who signed up in the window — in sessions of the
    campaign (utm_campaign = key) or all of them."""
    start: dict[str, Any] = {"event": "signup"}
    if campaign_only:
        start["filters"] = [{"key": "utm_campaign", "type": "column", "value": key}]
    return {
        "kind": "retention",
        "start_event": start,
        "return_event": {},
        "period": "week",
        "periods": 4,
        "retention_type": "on_or_after",
        "cohort_type": "first_time",
        "date_range": _range(first, last),
    }


def _targets(mon: Monitor, targets: dict[str, float]) -> Section:
    rows, kinds = [], []
    for metric in TARGET_METRICS:
        if metric not in targets:
            continue
        kind = _KINDS.get(metric, "int")
        actual, target = mon.value(metric), targets[metric]
        rows.append((metric, target, actual, actual / target if target else None))
        kinds.append(("term", kind, kind, "pct"))
    findings = []
    scored = [r for r in rows if r[3] is not None]
    if scored:
        worst = min(scored, key=lambda r: r[3] or 0.0)
        kind = _KINDS.get(str(worst[0]), "int")
        met = sum(1 for r in scored if (r[3] or 0.0) >= 1)
        findings.append(
            Finding(
                "campaign_targets",
                {
                    "met": Value("int", met),
                    "targets": Value("int", len(scored)),
                    "metric": Value("term", worst[0]),
                    "achieved": Value("pct", worst[3]),
                    "actual": Value(kind, worst[2]),
                    "target": Value(kind, worst[1]),
                },
            )
        )
    else:
        findings.append(Finding("campaign_no_targets"))
    table = Table(
        ("metric", "target", "actual", "achieved"),
        ("term", "int", "int", "pct"),
        tuple(rows),
        tuple(kinds),  # type: ignore[arg-type]
    )
    return Section("campaign_targets", tuple(findings), table, ("monitor",))


def _funnel(mon: Monitor) -> Section:
    steps = (("participants", mon.participants), ("carted", mon.carted), ("bought", mon.purchased))
    base = mon.participants
    rows = tuple((name, n, n / base if base else None) for name, n in steps)
    finding = Finding(
        "campaign_funnel",
        {"people": Value("int", base), "cart": Value("pct", rows[1][2]),
         "bought": Value("pct", rows[2][2]), "orders": Value("int", mon.orders),
         "gmv": Value("money", mon.gmv)},
    )  # fmt: skip
    table = Table(("step", "people", "rate"), ("term", "int", "pct"), rows)
    return Section("campaign_funnel", (finding,), table, ("monitor",))


def _channels(mon: Monitor, orders: dict[str, tuple[int, float]]) -> Section:
    spent = {c.channel: (c.spend, c.budget) for c in mon.channels}
    rows = []
    for channel in sorted(set(spent) | set(orders), key=lambda c: -orders.get(c, (0, 0.0))[1]):
        spend, budget = spent.get(channel, (None, None))
        n, gmv = orders.get(channel, (0, 0.0))
        cpo = spend / n if spend and n else None
        roi = gmv / spend if spend else None
        rows.append((channel, budget, spend, n, gmv, cpo, roi))
    paid = [r for r in rows if r[6] is not None]
    findings = []
    if paid:
        best, worst = max(paid, key=lambda r: r[6] or 0.0), min(paid, key=lambda r: r[6] or 0.0)
        findings.append(
            Finding(
                "campaign_roi",
                {
                    "best": Value("text", best[0]),
                    "best_roi": Value("ratio", best[6]),
                    "worst": Value("text", worst[0]),
                    "worst_roi": Value("ratio", worst[6]),
                    "worst_cpo": Value("money", worst[5]),
                    "spend": Value("money", mon.spend),
                    "budget": Value("money", mon.budget),
                },
            )
        )
    else:
        findings.append(Finding("campaign_no_spend"))
    table = Table(
        ("source", "budget", "spend", "orders", "gmv", "cost_per_order", "roi"),
        ("text", "money", "money", "int", "money", "money", "ratio"),
        tuple(rows),
    )
    return Section("campaign_channels", tuple(findings), table, ("monitor", "orders_by_channel"))


def _mean(values: tuple[float | None, ...]) -> float | None:
    got = [v or 0.0 for v in values]
    return sum(got) / len(got) if got else None


def _before_after(result: TrendsResult, days: int) -> Section:
    rows = []
    for line in result.lines:
        before, during = line.values[:days], line.values[days : 2 * days]
        after = line.values[2 * days :]
        rows.append((line.label, _mean(before), _mean(during), _mean(after) if after else None))
    orders = next(r for r in rows if r[0] == "orders")
    change = (orders[2] - orders[1]) / orders[1] if orders[1] and orders[2] is not None else None
    after_change = (
        (orders[3] - orders[1]) / orders[1] if orders[1] and orders[3] is not None else None
    )
    finding = Finding(
        "campaign_lift",
        {"during": Value("int", orders[2]), "before": Value("int", orders[1]),
         "change": Value("change", change), "after": Value("int", orders[3]),
         "after_change": Value("change", after_change)},
    )  # fmt: skip
    kinds: list[tuple[Kind, ...]] = [
        ("kpi", *(("money" if r[0] == "revenue" else "int"),) * 3) for r in rows
    ]
    table = Table(
        ("metric", "per_day_before", "per_day_during", "per_day_after"),
        ("kpi", "int", "int", "int"),
        tuple(rows),
        tuple(kinds),
    )
    return Section("campaign_before_after", (finding,), table, ("before_during_after",))


def _week1(result: RetentionResult) -> tuple[int, float | None]:
    cohorts = result.groups[0].cohorts if result.groups else ()
    size = sum(c.size for c in cohorts)
    back = sum((c.counts[1] or 0) for c in cohorts if len(c.counts) > 1)
    return size, back / size if size else None


def _users(campaign_only: RetentionResult, everyone: RetentionResult) -> Section:
    size, rate = _week1(campaign_only)
    all_size, all_rate = _week1(everyone)
    finding = Finding(
        "campaign_users",
        {"users": Value("int", size), "rate": Value("pct", rate),
         "all_users": Value("int", all_size), "all_rate": Value("pct", all_rate)},
    )  # fmt: skip
    table = Table(
        ("who", "size", "week_1"),
        ("term", "int", "pct"),
        (("campaign_signups", size, rate), ("all_signups", all_size, all_rate)),
    )
    return Section("campaign_users", (finding,), table, ("retention_campaign", "retention_all"))


# Stored lesson field -> the question's catalogue term (report.term.*).
_LESSON_TERMS = {"worked": "lesson_worked", "failed": "lesson_failed", "next_steps": "lesson_next"}


def _lessons(answers: Mapping[str, str] | None = None) -> Section:
    """The team's lessons (growthloop.ops.lessons) under the three questions; a prompt to fill
    them in while nothing is written."""
    answers = answers or {}
    prompts = tuple((term, answers.get(f, "").strip()) for f, term in _LESSON_TERMS.items())
    table = Table(("question", "answer"), ("term", "text"), prompts)
    written = sum(1 for _, text in prompts if text)
    finding = (
        Finding("campaign_lessons_written", {"answered": Value("int", written),
                                             "questions": Value("int", len(prompts))})
        if written
        else Finding("campaign_lessons")
    )  # fmt: skip
    return Section("campaign_lessons", (finding,), table, (), facts={"answered": written})


def build_campaign(
    ctx: QueryContext, cursor: duckdb.DuckDBPyConnection, campaign: Campaign, project: str,
    currency: str, last_data_day: date, lessons: Mapping[str, str] | None = None,
) -> CampaignReport:  # fmt: skip
    """Review `campaign` with the data up to `last_data_day` (after-window clamped to it);
    `lessons`: the team's stored answers (`growthloop.ops.lessons.lesson_answers`)."""
    first, last = campaign.warmup_date, campaign.end_date
    days = (last - first).days + 1
    after_end = min(last + timedelta(days=days), max(last_data_day, last))
    as_of_day = after_end + timedelta(days=1)
    as_of = datetime.combine(as_of_day, time(), ctx.tz).astimezone(UTC).replace(tzinfo=None)
    pinned = QueryContext(ctx.backend, ctx.tz, as_of - timedelta(microseconds=1))
    mon = monitor(cursor, campaign.key, first, last, dict(campaign.targets),
                  dict(campaign.budget), ctx.tz, currency)  # fmt: skip
    lo = datetime.combine(first, time(), ctx.tz).astimezone(UTC).replace(tzinfo=None)
    hi = datetime.combine(last + timedelta(days=1), time(), ctx.tz)
    rows = cursor.execute(
        _ORDERS_BY_CHANNEL, [campaign.key, currency, lo, hi.astimezone(UTC).replace(tzinfo=None)]
    ).fetchall()
    orders = {str(r[0]): (int(r[1]), float(r[2])) for r in rows}
    specs = {
        "before_during_after": comparison_spec(first - timedelta(days=days), after_end),
        "retention_campaign": retention_spec(campaign.key, first, last, True),
        "retention_all": retention_spec(campaign.key, first, last, False),
    }
    trend = run_spec(specs["before_during_after"], pinned)
    ret_c, ret_all = (run_spec(specs[k], pinned) for k in ("retention_campaign", "retention_all"))
    assert isinstance(trend, TrendsResult)
    assert isinstance(ret_c, RetentionResult) and isinstance(ret_all, RetentionResult)
    sections = (
        _targets(mon, dict(campaign.targets)),
        _funnel(mon),
        _channels(mon, orders),
        _before_after(trend, days),
        _users(ret_c, ret_all),
        _lessons(lessons),
    )
    return CampaignReport(project, campaign.key, campaign.name, first, last, pinned.now_utc,
                          ctx.tz.key, specs, sections)  # fmt: skip
