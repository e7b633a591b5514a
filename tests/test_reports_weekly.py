"""The weekly report on the small demo: planted patterns named, numbers equal to the engine's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from growthloop.accounts import add_user
from growthloop.analytics import FunnelResult, QueryContext, RetentionResult, TrendsResult
from growthloop.demo import build_demo
from growthloop.i18n import Formatter, translator
from growthloop.ops.goals import create_goal
from growthloop.reports.weekly import build_weekly, rerun, weekly_for_project
from growthloop.reports.weekly_sections import kpi_values
from growthloop.reports.weekly_specs import Week
from growthloop.workspace import Workspace

END = date(2026, 11, 23)


@dataclass
class Demo:
    ws: Workspace
    ctx: QueryContext
    patterns: dict[str, Any]


@pytest.fixture(scope="session")
def report_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The small demo (seed 0) ending on 2026-11-23, built once per test session."""
    data_dir: Path = tmp_path_factory.mktemp("report-demo") / "data"
    ws = Workspace.open(data_dir)
    summary = build_demo(ws, "small", 0, END)
    yield Demo(ws, QueryContext.for_workspace(ws), dict(summary.manifest["patterns"]))  # type: ignore[call-overload]
    ws.close()


def texts(report_section: Any, locale: str) -> list[str]:
    t, fmt = translator(locale), Formatter(locale)
    return [f.text(t, fmt) for f in report_section.findings]


def test_default_week_is_the_last_complete_week(report_demo: Demo) -> None:
    report = build_weekly(report_demo.ctx)
    # The demo ends on Monday 2026-11-23, so the last whole week is 16..22 November.
    assert (report.week.start, report.week.end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert [s.key for s in report.sections] == [
        "kpis", "channels", "funnel", "retention", "content", "anomalies", "experiments",
    ]  # fmt: skip
    # The leak's second week against its first (already two leaking days): Android's checkout ->
    # purchase still fell most, but not by more than week-to-week noise, and the report says so.
    funnel = report.section("funnel")
    assert (funnel.facts["worst"]["segment"], funnel.facts["worst"]["step"]) == ("Android", 3)
    assert not funnel.facts["significant"]
    assert "within normal week-to-week noise" in texts(funnel, "en")[0]
    with pytest.raises(ValueError, match="Monday"):
        Week(date(2026, 11, 17))


def test_week_of_the_android_leak_names_android_checkout_to_purchase(report_demo: Demo) -> None:
    leak = date.fromisoformat(report_demo.patterns["android_leak_start"])
    report = build_weekly(report_demo.ctx, Week.containing(leak))
    funnel = report.section("funnel")
    worst = funnel.facts["worst"]
    assert funnel.facts["significant"]
    assert (worst["segment"], worst["step"]) == ("Android", 3)  # checkout -> purchase
    assert worst["after"] < worst["before"] - 0.15
    lead_en, lead_zh = texts(funnel, "en")[0], texts(funnel, "zh-CN")[0]
    assert lead_en.startswith("Checkout -> Purchase on Android fell from ")
    assert "the largest drop this week" in lead_en
    assert "Android" in lead_zh and "提交订单 -> 支付成功" in lead_zh
    # The numbers in the sentence are those of the table rows it comes from.
    rows = {(r[0], r[1]): r for r in funnel.table.rows}
    row = rows[("Android", "checkout")]
    assert row[5] == pytest.approx(worst["after"]) and row[6] == pytest.approx(worst["before"])
    assert f"{worst['after'] * 100:.1f}%" in lead_en


def test_week_of_the_tracking_outage_flags_that_day(report_demo: Demo) -> None:
    outage = date.fromisoformat(report_demo.patterns["outage_day"])
    report = build_weekly(report_demo.ctx, Week.containing(outage))
    anomalies = report.section("anomalies")
    drops = [f for f in anomalies.facts["found"] if f["direction"] == "drop"]
    assert [(f["day"], f["metric"]) for f in drops][:1] == [(outage, "events")]
    # The days after the outage are ordinary: only the outage day is a drop in events.
    assert {f["day"] for f in drops if f["metric"] == "events"} == {outage}
    con = report_demo.ws.events().con
    [(count,)] = con.execute(
        "SELECT count(*) FROM events WHERE CAST(timestamp + INTERVAL 8 HOUR AS DATE) = ?",
        [outage],
    ).fetchall()
    assert drops[0]["value"] == count
    lead = texts(anomalies, "en")[0]
    assert lead.startswith(f"On Oct 12, 2026 Tracked events were {count} against about ")
    assert texts(anomalies, "zh-CN")[0].startswith("2026年10月12日的埋点事件数为")
    # Other weeks have no drop.
    quiet = build_weekly(report_demo.ctx, Week(date(2026, 11, 16)))
    assert not [f for f in quiet.section("anomalies").facts["found"] if f["direction"] == "drop"]


def test_numbers_equal_the_engine_for_the_recorded_specs(report_demo: Demo) -> None:
    leak = date.fromisoformat(report_demo.patterns["android_leak_start"])
    report = build_weekly(report_demo.ctx, Week.containing(leak))
    recipe = json.loads(json.dumps(report.recipe()))
    assert recipe["week_start"] == "2026-11-09" and recipe["week_end"] == "2026-11-15"
    # A fresh context whose "now" is today: the recipe's as_of pins the answers anyway.
    again = rerun(recipe, QueryContext.for_workspace(report_demo.ws))
    kpis = again["kpis"]
    assert isinstance(kpis, TrendsResult)
    assert report.section("kpis").facts["current"] == kpi_values(kpis, "current")
    table = {r[0]: r for r in report.section("kpis").table.rows}
    assert table["visitors"][1] == kpi_values(kpis, "current")["visitors"]
    assert table["orders"][2] == kpi_values(kpis, "previous")["orders"]

    funnel, previous = again["funnel"], again["funnel_previous"]
    assert isinstance(funnel, FunnelResult) and isinstance(previous, FunnelResult)
    rows = {(r[0], r[1]): r for r in report.section("funnel").table.rows}
    old_groups = {g.breakdown_value: g for g in previous.groups}
    for now_group in funnel.groups:
        old_group = old_groups[now_group.breakdown_value]
        segment = now_group.breakdown_value or "$all"
        for i in range(4):
            row = rows[(segment, now_group.steps[i].name)]
            assert (row[3], row[4]) == (now_group.steps[i].count, now_group.steps[i + 1].count)
            old = old_group.steps
            assert row[6] == pytest.approx(old[i + 1].count / old[i].count)

    channels = again["channels"]
    assert isinstance(channels, TrendsResult)
    engine = {
        x.breakdown_value: x.total
        for x in channels.lines
        if x.label == "visitors" and x.period == "current"
    }
    assert {r[0]: r[1] for r in report.section("channels").table.rows} == {
        k: v for k, v in engine.items() if k is not None
    }
    retention = again["retention"]
    assert isinstance(retention, RetentionResult)
    sizes = [c.size for c in retention.groups[0].cohorts]
    assert [r[1] for r in report.section("retention").table.rows] == sizes
    content = again["content"]
    assert isinstance(content, TrendsResult)
    visits = {x.breakdown_value: x.total for x in content.lines if x.period == "current"}
    for row in report.section("content").table.rows:
        assert row[1] == visits[row[0]]


def test_kpis_match_plain_sql(report_demo: Demo) -> None:
    """An independent reference: the week's KPIs counted with plain SQL on the store."""
    report = build_weekly(report_demo.ctx, Week(date(2026, 11, 16)))
    con = report_demo.ws.events().con
    lo, hi = datetime(2026, 11, 15, 16), datetime(2026, 11, 22, 16)  # local Mon 00:00 .. Mon
    [(visitors, buyers, orders, revenue, signups)] = con.execute(
        """SELECT count(DISTINCT person_id),
                  count(DISTINCT person_id) FILTER (WHERE event = 'purchase'),
                  count(*) FILTER (WHERE event = 'purchase'),
                  sum(revenue) FILTER (WHERE event = 'purchase'),
                  count(DISTINCT person_id) FILTER (WHERE event = 'signup')
           FROM events WHERE timestamp >= ? AND timestamp < ?""",
        [lo, hi],
    ).fetchall()
    got = report.section("kpis").facts["current"]
    assert got["visitors"] == visitors and got["orders"] == orders
    assert got["new_users"] == signups
    assert got["revenue"] == pytest.approx(float(revenue))
    assert got["conversion_rate"] == pytest.approx(buyers / visitors)
    assert got["aov"] == pytest.approx(float(revenue) / orders)


def test_goal_section_against_target_when_a_goal_exists(report_demo: Demo) -> None:
    ws = report_demo.ws
    who, _ = add_user(ws, "goal-owner", "operator")
    project_id = next(p.id for p in ws.projects() if p.slug == "default")
    values = {
        "name": "十月 GMV",
        "period_kind": "month",
        "period_start": date(2026, 10, 1),
        "metric": {"kind": "kpi", "name": "gmv"},
        "target": 200000.0,
    }
    goal = create_goal(ws, project_id, who, values)
    con = ws.events().con
    report = weekly_for_project(report_demo.ctx, ws, "default", con, Week(date(2026, 10, 12)))
    assert [s.key for s in report.sections][:3] == ["kpis", "goals", "channels"]
    section = report.section("goals")
    # Other test modules may add goals of their own to the shared demo; this one is by name.
    row = next(r for r in section.table.rows if r[0] == "十月 GMV")
    # Reference: the orders table's amounts over local days 1..18 October (Sunday of the week).
    [(gmv,)] = con.execute(
        """SELECT sum(amount) FROM orders
           WHERE CAST(timestamp + INTERVAL 8 HOUR AS DATE) BETWEEN ? AND ?""",
        [date(2026, 10, 1), date(2026, 10, 18)],
    ).fetchall()
    assert row[0] == "十月 GMV" and row[1] == 200000.0
    assert row[2] == pytest.approx(float(gmv))
    assert row[3] == pytest.approx(float(gmv) / 200000.0)
    en = texts(section, "en")
    assert en[0].startswith(
        f"十月 GMV is furthest behind: CN¥{float(gmv):,.2f} of the CN¥200,000.00"
    )
    assert "2026年10月18日" in texts(section, "zh-CN")[0]
    assert goal.id in [g["id"] for g in report.recipe()["goals"]]
    # Weeks outside October carry no goal section.
    november = weekly_for_project(report_demo.ctx, ws, "default", con, Week(date(2026, 11, 16)))
    assert "goals" not in [s.key for s in november.sections]


def test_paid_sources_roi_names_the_poor_roi_channel(report_demo: Demo) -> None:
    con = report_demo.ws.events().con
    week = Week(date(2026, 11, 16))
    report = weekly_for_project(report_demo.ctx, report_demo.ws, "default", con, week)
    assert [s.key for s in report.sections][:3] == ["kpis", "channels", "roi"]
    roi = report.section("roi")
    spend = dict(
        con.execute(
            "SELECT channel, sum(spend)::DOUBLE FROM spend WHERE date BETWEEN ? AND ? GROUP BY 1",
            [week.start, week.end],
        ).fetchall()
    )
    gmv = dict(
        con.execute(
            "SELECT channel, sum(amount)::DOUBLE FROM orders"
            " WHERE CAST(timestamp + INTERVAL 8 HOUR AS DATE) BETWEEN ? AND ? GROUP BY 1",
            [week.start, week.end],
        ).fetchall()
    )
    rows = {r[0]: r for r in roi.table.rows}
    assert {k: r[1] for k, r in rows.items()} == pytest.approx(spend)
    for source, row in rows.items():
        assert row[4] == pytest.approx(gmv.get(source, 0.0) / spend[source])
    lead = texts(roi, "en")[0]
    poor = report_demo.patterns["poor_roi_channel"]
    assert lead.startswith(f"{poor} returned the least per yuan spent over the last 4 weeks: ")
    [(spend_4w, gmv_4w)] = con.execute(
        """SELECT (SELECT sum(spend)::DOUBLE FROM spend WHERE channel = ? AND date BETWEEN ? AND ?),
                  (SELECT sum(amount)::DOUBLE FROM orders WHERE channel = ?
                     AND CAST(timestamp + INTERVAL 8 HOUR AS DATE) BETWEEN ? AND ?)""",
        [poor, date(2026, 10, 26), week.end, poor, date(2026, 10, 26), week.end],
    ).fetchall()
    assert rows[poor][5] == pytest.approx(gmv_4w / spend_4w)
    assert f"ROI {gmv_4w / spend_4w:.2f}" in lead
