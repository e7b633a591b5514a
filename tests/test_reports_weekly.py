"""The weekly report on the small demo: planted patterns named, numbers equal to the engine's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
    # Goal pacing as growthloop.models.pacing (and /api/models/pacing) defines it, by hand:
    # linear pace over 18 of 31 days; forecast = actual + the mean of the last 7 days x 13.
    daily = dict(
        con.execute(
            """SELECT CAST(timestamp + INTERVAL 8 HOUR AS DATE), sum(amount)::DOUBLE FROM orders
               WHERE CAST(timestamp + INTERVAL 8 HOUR AS DATE) BETWEEN ? AND ? GROUP BY 1""",
            [date(2026, 10, 12), date(2026, 10, 18)],
        ).fetchall()
    )
    last7 = sum(daily.values()) / 7
    assert row[4] == pytest.approx(200000.0 * 18 / 31)
    assert row[5] == pytest.approx(float(gmv) / (200000.0 * 18 / 31))
    assert row[6] == pytest.approx(float(gmv) + last7 * 13)
    en = texts(section, "en")
    assert en[0].startswith(
        f"十月 GMV is furthest behind: CN¥{float(gmv):,.2f} of the CN¥200,000.00"
    )
    assert "2026年10月18日" in texts(section, "zh-CN")[0]
    assert goal.id in [g["id"] for g in report.recipe()["goals"]]
    # Weeks outside October carry no goal section.
    november = weekly_for_project(report_demo.ctx, ws, "default", con, Week(date(2026, 11, 16)))
    assert "goals" not in [s.key for s in november.sections]


def cohort_by_source(con: Any, first: date, last: date) -> dict[str, tuple[int, int, float]]:
    """Reference for the ROI section, written apart from channel_roi_data: per source of a
    person's first event ever (utm_source, else channel), the people first seen in local days
    [first, last], how many of them bought, and what they bought, up to the end of `last`."""
    lo = datetime.combine(first, datetime.min.time()) - timedelta(hours=8)
    hi = datetime.combine(last, datetime.min.time()) + timedelta(hours=16)
    rows = con.execute(
        """WITH ranked AS (
               SELECT person_id, timestamp, coalesce(utm_source, channel, '(unknown)') AS source,
                      row_number() OVER (PARTITION BY person_id ORDER BY timestamp) AS n
               FROM events),
           cohort AS (SELECT person_id, timestamp AS first_at, source FROM ranked
                      WHERE n = 1 AND timestamp >= ? AND timestamp < ?)
           SELECT c.source, count(DISTINCT c.person_id), count(DISTINCT o.person_id),
                  coalesce(sum(o.amount), 0)::DOUBLE
           FROM cohort c LEFT JOIN orders o ON o.person_id = c.person_id
                AND o.timestamp >= c.first_at AND o.timestamp < ?
           GROUP BY 1""",
        [lo, hi, hi],
    ).fetchall()
    return {str(r[0]): (int(r[1]), int(r[2]), float(r[3])) for r in rows}


def test_paid_sources_roi_names_the_poor_roi_channel(report_demo: Demo) -> None:
    """The channel ROI model's cohort definition (since issue #6's follow-up; the section used to
    credit orders by last touch): new users' revenue per yuan spent."""
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
    cohort = cohort_by_source(con, week.start, week.end)
    rows = {r[0]: r for r in roi.table.rows}
    assert {k: r[1] for k, r in rows.items()} == pytest.approx(spend)
    for source, row in rows.items():
        new, paying, revenue = cohort.get(source, (0, 0, 0.0))
        assert row[2:5] == (new, paying, pytest.approx(revenue)), source
        assert row[5] == (pytest.approx(spend[source] / paying) if paying else None)
        assert row[6] == pytest.approx(revenue / spend[source])
        assert row[7] == pytest.approx(revenue / spend[source] - 1)
    lead = texts(roi, "en")[0]
    poor = report_demo.patterns["poor_roi_channel"]
    assert lead.startswith(f"{poor} returned the least per yuan spent over the last 8 weeks: ")
    eight = cohort_by_source(con, week.end - timedelta(days=55), week.end)
    [(spend_8w,)] = con.execute(
        "SELECT sum(spend)::DOUBLE FROM spend WHERE channel = ? AND date BETWEEN ? AND ?",
        [poor, week.end - timedelta(days=55), week.end],
    ).fetchall()
    roas = {
        k: eight[k][2] / v
        for k, v in dict(
            con.execute(
                "SELECT channel, sum(spend)::DOUBLE FROM spend WHERE date BETWEEN ? AND ?"
                " GROUP BY 1 HAVING sum(spend) > 0",
                [week.end - timedelta(days=55), week.end],
            ).fetchall()
        ).items()
        if k in eight and eight[k][0] >= 30
    }
    assert min(roas, key=roas.__getitem__) == poor
    assert rows[poor][8] == pytest.approx(eight[poor][2] / spend_8w)
    assert f"ROAS; this week {rows[poor][6]:.2f}" in lead
    assert f"bought {roas[poor]:.2f} yuan" in lead
    assert texts(roi, "zh-CN")[0].startswith(f"近 8 周每元投放回报最低的是 {poor}")


def test_content_hits_are_the_content_models(report_demo: Demo) -> None:
    """Hits (爆款) as growthloop.models.content defines them (since issue #6's follow-up; the
    section used 3x the week's median visits): the top tenth by views of each channel x format
    among the posts published in the 90 days up to the Sunday, recomputed here with plain SQL."""
    con = report_demo.ws.events().con
    week = Week(date(2026, 11, 16))
    report = weekly_for_project(report_demo.ctx, report_demo.ws, "default", con, week)
    section = report.section("content")
    rows = con.execute(
        """SELECT i.item_id, i.channel, coalesce(i.format, ''), coalesce(sum(m.views), 0)
           FROM content_items i LEFT JOIN content_metrics m
             ON m.item_id = i.item_id AND m.date <= ?
           WHERE CAST(i.published_at + INTERVAL 8 HOUR AS DATE) BETWEEN ? AND ?
           GROUP BY ALL""",
        [week.end, week.end - timedelta(days=89), week.end],
    ).fetchall()
    groups: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for item, channel, fmt, views in rows:
        groups.setdefault((channel, fmt), []).append((item, int(views)))
    want = set()
    for members in groups.values():
        ranked = sorted((v for _, v in members), reverse=True)
        cutoff = ranked[-(-len(members) // 10) - 1]
        want |= {item for item, v in members if v >= cutoff and v > 0}
    starred = {r[0] for r in section.table.rows if r[4] == "★"}
    listed = {r[0] for r in section.table.rows}
    assert starred == want & listed
    planted = set(report_demo.patterns["content_hits"])
    assert planted <= starred  # the demo's planted hits all brought visits that week
    lead = texts(section, "en")[1]
    assert lead.startswith(f"Hits among the {len(listed)} posts that brought visits this week: ")
    assert all(item in lead for item in planted)
    # Without the lookup (build_weekly alone) the section says nothing about hits.
    bare = build_weekly(report_demo.ctx, week).section("content")
    assert [f.key for f in bare.findings] == ["content_top"]
    assert not any(r[4] for r in bare.table.rows)
