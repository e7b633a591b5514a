"""The campaign review on the demo's super_brand_day, against plain SQL and the engine."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from growthloop.accounts import add_user
from growthloop.analytics import TrendsResult
from growthloop.cli import app as cli_app
from growthloop.i18n import Formatter, translator
from growthloop.ops.campaigns import create_campaign
from growthloop.reports.campaign import build_campaign
from growthloop.reports.weekly import rerun
from growthloop.web.app import create_app
from tests.test_reports_weekly import END, Demo, report_demo  # noqa: F401 - shared demo fixture

KEY = "super_brand_day"


def test_campaign_review_numbers(report_demo: Demo) -> None:  # noqa: F811
    ws = report_demo.ws
    who, _ = add_user(ws, "campaign-owner", "operator")
    project_id = next(p.id for p in ws.projects() if p.slug == "default")
    days = [date.fromisoformat(d) for d in report_demo.patterns["campaign"]["days"]]
    campaign = create_campaign(
        ws,
        project_id,
        who,
        {"key": KEY, "name": "超级品牌日", "type": "promotion", "start_date": days[-1],
         "end_date": days[-1], "warmup_date": days[0],
         "targets": {"participants": 1000, "orders": 500, "gmv": 40000},
         "budget": {"baidu": 1200, "douyin": 1200, "wechat": 700}},
    )  # fmt: skip
    con = ws.events().con
    report = build_campaign(report_demo.ctx, con, campaign, "default", "CNY", END)
    sql_window = "CAST(timestamp + INTERVAL 8 HOUR AS DATE) BETWEEN ? AND ?"
    [(orders, gmv)] = con.execute(
        f"SELECT count(*), sum(amount) FROM orders WHERE campaign = ? AND {sql_window}",
        [KEY, days[0], days[-1]],
    ).fetchall()
    targets = {r[0]: r for r in report.sections[0].table.rows}
    assert targets["orders"][2] == orders and targets["gmv"][2] == pytest.approx(float(gmv))
    assert targets["orders"][3] == pytest.approx(orders / 500)
    lead = report.sections[0].findings[0].text(translator("en"), Formatter("en"))
    assert lead.startswith("2 of 3 targets were met; Orders fell furthest short at ")

    # Channels: ROI = the campaign's orders' GMV by channel / its spend by channel.
    spend = dict(
        con.execute(
            "SELECT channel, sum(spend) FROM spend WHERE campaign = ? GROUP BY channel", [KEY]
        ).fetchall()
    )
    by_channel = dict(
        (c, float(g))
        for c, g in con.execute(
            f"SELECT channel, sum(amount) FROM orders WHERE campaign = ? AND {sql_window}"
            " GROUP BY channel",
            [KEY, days[0], days[-1]],
        ).fetchall()
    )
    rows = {r[0]: r for r in report.sections[2].table.rows}
    assert rows["douyin"][6] == pytest.approx(by_channel["douyin"] / float(spend["douyin"]))
    assert rows["douyin"][2] == pytest.approx(float(spend["douyin"]))
    en = report.sections[2].findings[0].text(translator("en"), Formatter("en"))
    # The demo's poor-ROI channel is the campaign's worst too.
    worst = min((r for r in rows.values() if r[6] is not None), key=lambda r: r[6])
    assert worst[0] == "douyin" and f"; douyin least (ROI {worst[6]:.2f}" in en
    assert sum(float(v) for v in spend.values()) == pytest.approx(
        report_demo.patterns["campaign"]["spend"]
    )

    # Before / during / after: means of the recorded spec's daily values, run again.
    again = rerun(report.recipe(), report_demo.ctx)["before_during_after"]
    assert isinstance(again, TrendsResult)
    n = len(days)
    line = next(x for x in again.lines if x.label == "orders")
    per_day = {r[0]: r for r in report.sections[3].table.rows}["orders"]
    assert per_day[1] == pytest.approx(sum(v or 0 for v in line.values[:n]) / n)
    assert per_day[2] == pytest.approx(sum(v or 0 for v in line.values[n : 2 * n]) / n)
    assert per_day[2] > 3 * per_day[1]  # the campaign lifted orders
    [(signups,)] = con.execute(
        f"SELECT count(DISTINCT person_id) FROM events WHERE event = 'signup'"
        f" AND utm_campaign = ? AND {sql_window}",
        [KEY, days[0], days[-1]],
    ).fetchall()
    assert report.sections[4].table.rows[0][1] == signups
    assert report.sections[5].key == "campaign_lessons"

    # The page, its XLSX and the CLI.
    client = TestClient(create_app(ws))
    viewer_name = "campaign-viewer"
    _, viewer_password = add_user(ws, viewer_name, "viewer")
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    client.post("/login", data={"name": viewer_name, "password": viewer_password,
                                "csrf_token": token.group(1), "next": "/"})  # fmt: skip
    page = client.get(f"/reports/campaign/{campaign.id}", params={"lang": "zh-CN"})
    assert page.status_code == 200 and "活动复盘" in page.text and "经验总结" in page.text
    assert client.get("/reports/campaign/99999").status_code == 404
    got = client.get(f"/reports/campaign/{campaign.id}.xlsx", params={"lang": "en"})
    assert got.status_code == 200
    book = load_workbook(io.BytesIO(got.content))
    assert book.sheetnames[0] == "Targets and results" and book.sheetnames[-1] == "specs"
    shown = CliRunner().invoke(
        cli_app,
        ["report", "campaign", str(campaign.id), "--data-dir", str(ws.settings.data_dir),
         "--lang", "en"],
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "Campaign review" in shown.output and "Lessons" in shown.output
    missing = CliRunner().invoke(
        cli_app, ["report", "campaign", "999", "--data-dir", str(ws.settings.data_dir)]
    )
    assert missing.exit_code == 2 and "campaign 999" in missing.output
