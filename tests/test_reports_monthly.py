"""The monthly review on the demo's October: plan actions, goals, channel mix, RFM, churn."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from growthloop.accounts import add_user
from growthloop.cli import app as cli_app
from growthloop.i18n import Formatter, translator
from growthloop.ops.goals import create_goal
from growthloop.ops.plans import create_action, create_strategy
from growthloop.reports.monthly import build_monthly, last_complete_month, month_end
from tests.test_reports_weekly import Demo, report_demo  # noqa: F401 - shared demo fixture

OCTOBER = date(2026, 10, 1)


def test_month_arithmetic() -> None:
    assert month_end(date(2026, 2, 1)) == date(2026, 2, 28)
    assert month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert month_end(date(2026, 12, 1)) == date(2026, 12, 31)
    assert last_complete_month(date(2026, 11, 23)) == OCTOBER
    assert last_complete_month(date(2026, 10, 31)) == OCTOBER


def test_monthly_review_of_october(report_demo: Demo) -> None:  # noqa: F811
    ws = report_demo.ws
    who, _ = add_user(ws, "month-planner", "operator")
    project_id = next(p.id for p in ws.projects() if p.slug == "default")
    strategy = create_strategy(ws, project_id, who, OCTOBER, "拉新")
    for title, due, status in (
        ("投放素材更新", date(2026, 10, 10), "done"),
        ("知乎问答铺量", date(2026, 10, 20), "todo"),
        ("双十一预热页", date(2026, 11, 5), "doing"),
    ):
        create_action(ws, project_id, who, strategy.id,
                      {"title": title, "owner": "王伟", "due": due, "status": status})  # fmt: skip
    create_goal(ws, project_id, who, {"name": "十月订单", "period_kind": "month",
                                      "period_start": OCTOBER, "target": 100.0,
                                      "metric": {"kind": "kpi", "name": "orders"}})  # fmt: skip
    con = ws.events().con
    report = build_monthly(ws, "default", con, date(2026, 10, 15))
    assert (report.month, report.last_day) == (OCTOBER, date(2026, 10, 31))
    sections = {s.key: s for s in report.sections}
    assert list(sections) == [
        "goals", "monthly_plan", "monthly_channels", "monthly_rfm", "monthly_churn",
    ]  # fmt: skip
    en, fmt = translator("en"), Formatter("en")

    plan = sections["monthly_plan"]
    assert plan.findings[0].text(en, fmt) == (
        '1 of 3 action items are done; 1 overdue, the oldest "知乎问答铺量" (due Oct 20, 2026, 王伟).'
    )

    [(orders,)] = con.execute(
        "SELECT count(*) FROM orders WHERE CAST(timestamp + INTERVAL 8 HOUR AS DATE)"
        " BETWEEN ? AND ?",
        [OCTOBER, date(2026, 10, 31)],
    ).fetchall()
    goal_row = next(r for r in sections["goals"].table.rows if r[0] == "十月订单")
    assert goal_row[1:4] == (100.0, orders, orders / 100.0)

    spend = dict(
        con.execute(
            "SELECT channel, sum(spend)::DOUBLE FROM spend WHERE date BETWEEN ? AND ?"
            " GROUP BY channel",
            [OCTOBER, date(2026, 10, 31)],
        ).fetchall()
    )
    channels = sections["monthly_channels"]
    assert {r[0]: r[1] for r in channels.table.rows} == spend
    mix = channels.findings[0]
    # The demo's poor-ROI channel is the one the budget recommendation cuts.
    assert mix.key == "monthly_mix" and mix.values["cut"].value == "douyin"
    assert mix.text(en, fmt).startswith("Move budget from douyin (daily CN¥")

    # RFM: every customer with an order up to a date sits in exactly one segment at that date.
    buyers = {
        day: con.execute(
            "SELECT count(DISTINCT person_id) FROM orders"
            " WHERE CAST(timestamp + INTERVAL 8 HOUR AS DATE) <= ?",
            [day],
        ).fetchall()[0][0]
        for day in (date(2026, 9, 30), date(2026, 10, 31))
    }
    rfm = sections["monthly_rfm"].table.rows
    assert sum(int(r[1] or 0) for r in rfm) == buyers[date(2026, 9, 30)]
    assert sum(int(r[2] or 0) for r in rfm) == buyers[date(2026, 10, 31)]
    assert all(r[3] == r[2] - r[1] for r in rfm)

    churn = sections["monthly_churn"].findings[0]
    if churn.key == "monthly_churn":
        assert isinstance(churn.values["now"].value, int)
    else:  # the model refuses with its reason rather than a number it cannot stand behind
        assert churn.key == "monthly_churn_none" and "BG/NBD" in str(churn.values["reason"].value)

    shown = CliRunner().invoke(
        cli_app,
        ["report", "monthly", "--data-dir", str(ws.settings.data_dir), "--lang", "en"],
    )
    assert shown.exit_code == 0, shown.output
    assert "Monthly review" in shown.output and "Oct 1, 2026 – Oct 31, 2026" in shown.output
    bad = CliRunner().invoke(
        cli_app, ["report", "monthly", "--data-dir", str(ws.settings.data_dir), "--month", "10"]
    )
    assert bad.exit_code == 2 and "--month" in bad.output
