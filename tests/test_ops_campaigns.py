"""Campaigns: plan and checklist over the API, and the live monitor on the demo's
super_brand_day against a brute-force count over the same rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.web_clients import client_for

TZ = ZoneInfo("Asia/Shanghai")
DEMO_END = date(2026, 11, 23)
KEY = "super_brand_day"
BUDGET = {
    "baidu": 1200,
    "douyin": 1300,
    "wechat": 700,
    "xiaohongshu": 500,
    "zhihu": 300,
    "edm": 100,
    "push": 100,
}


def local_day(ts: datetime) -> date:
    return ts.replace(tzinfo=UTC).astimezone(TZ).date()


def reference(ws: Workspace, first: date, last: date) -> dict[str, Any]:
    """The monitor's figures by brute force over the demo's rows."""
    con = ws.events().con
    rows = con.execute(
        "SELECT event, person_id, timestamp, properties FROM events"
        " WHERE event IN ('campaign_participate', 'add_to_cart', 'purchase')"
    ).fetchall()
    first_at: dict[str, datetime] = {}
    daily: dict[date, set[str]] = {}
    for event, person, ts, props in rows:
        joined = event == "campaign_participate" and json.loads(props).get("campaign") == KEY
        if joined and first <= local_day(ts) <= last:
            first_at[person] = min(first_at.get(person, ts), ts)
            daily.setdefault(local_day(ts), set()).add(person)
    carted, bought = set(), set()
    for event, person, ts, _ in rows:
        if person in first_at and ts >= first_at[person] and local_day(ts) <= last:
            (carted if event == "add_to_cart" else bought if event == "purchase" else set()).add(
                person
            )
    orders = [
        (local_day(ts), float(amount), person)
        for ts, amount, person, currency, campaign in con.execute(
            "SELECT timestamp, amount, person_id, currency, campaign FROM orders"
        ).fetchall()
        if campaign == KEY and currency == "CNY" and first <= local_day(ts) <= last
    ]
    spend = [
        (channel, float(amount))
        for day, channel, campaign, amount in con.execute(
            "SELECT date, channel, campaign, spend FROM spend"
        ).fetchall()
        if campaign == KEY and first <= day <= last
    ]
    return {
        "participants": len(first_at),
        "carted": len(carted),
        "purchased": len(bought),
        "orders": len(orders),
        "buyers": len({p for _, _, p in orders}),
        "gmv": sum(a for _, a, _ in orders),
        "spend": sum(a for _, a in spend),
        "daily": {d: len(p) for d, p in daily.items()},
        "by_channel": {c: sum(a for ch, a in spend if ch == c) for c, _ in spend},
    }


def test_plan_checklist_and_live_monitor_on_the_demo(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops, vic = client_for(demo_ws, "operator", app), client_for(demo_ws, "viewer", app)
    plan = {
        "key": KEY,
        "name": "超级品牌日",
        "type": "promotion",
        "start_date": "2026-10-31",
        "end_date": "2026-11-04",
        "targets": {"gmv": 40000, "orders": 150, "participants": 1500},
        "budget": BUDGET,
        "segment": "近 90 天有加购未购买的用户",
        "risk_plan": "库存不足时切换替代款；支付故障时延长活动 1 天",
    }
    assert vic.post("/api/campaigns", json=plan).status_code == 403
    wrong = ops.post("/api/campaigns", json={**plan, "end_date": "2026-10-30"})
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("end_date:")
    wrong = ops.post("/api/campaigns", json={**plan, "targets": {"dau": 1}})
    assert wrong.status_code == 422 and wrong.json()["detail"].startswith("targets.dau:")
    made = ops.post("/api/campaigns", json=plan)
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["warmup_date"] == "2026-10-28"  # 3 days before the start
    dup = ops.post("/api/campaigns", json=plan)
    assert dup.status_code == 422 and "already exists" in dup.json()["detail"]

    detail = vic.get(f"/api/campaigns/{campaign['id']}").json()
    assert [(t["kind"], t["due"]) for t in detail["checklist"]] == [
        ("development", "2026-10-24"),
        ("materials_review", "2026-10-26"),
        ("channel_warmup", "2026-10-28"),
    ]
    task = detail["checklist"][1]
    ticked = ops.patch(
        f"/api/campaigns/tasks/{task['id']}", json={"version": 1, "done": True, "owner": "李娜"}
    )
    assert ticked.json()["done"] is True and ticked.json()["owner"] == "李娜"
    stale = ops.patch(f"/api/campaigns/tasks/{task['id']}", json={"version": 1, "done": False})
    assert stale.status_code == 409

    got = vic.get(f"/api/campaigns/{campaign['id']}/monitor").json()
    ref = reference(demo_ws, date(2026, 10, 28), date(2026, 11, 4))
    for name in ("participants", "carted", "purchased", "orders", "buyers"):
        assert got[name] == ref[name], name
    assert got["gmv"] == pytest.approx(ref["gmv"], abs=0.01)
    assert got["spend"] == pytest.approx(ref["spend"], abs=0.01)
    # The demo's manifest: spend 3,878.41 against a budget of 4,200.
    assert got["spend"] == pytest.approx(3878.41, abs=0.01) and got["budget"] == 4200
    assert got["participants"] > 1000 and got["orders"] > 100
    assert {d["day"]: d["participants"] for d in got["days"] if d["participants"]} == {
        d.isoformat(): n for d, n in ref["daily"].items()
    }
    assert {c["channel"]: c["spend"] for c in got["channels"]} == pytest.approx(ref["by_channel"])
    assert got["achieved"]["gmv"] == pytest.approx(ref["gmv"] / 40000)
    assert got["stage"] == "ended" or datetime.now(TZ).date() <= date(2026, 11, 4)

    # docs/ops.md shows this monitor; keep its row in step with the data.
    row = (
        f"| {got['participants']:,} ({got['participants'] / 1500:.0%} of 1,500) | {got['carted']}"
        f" | {got['purchased']} | {got['orders']} ({got['orders'] / 150:.0%} of 150)"
        f" | {got['buyers']} | {got['gmv']:,.0f} ({got['gmv'] / 40000:.0%} of 40,000)"
        f" | {got['spend']:,.2f} / 4,200 |"
    )
    assert row in (Path(__file__).parent.parent / "docs" / "ops.md").read_text(encoding="utf-8")

    changed = ops.patch(
        f"/api/campaigns/{campaign['id']}", json={"version": 1, "targets": {"gmv": 50000}}
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    history = vic.get(f"/api/campaigns/{campaign['id']}/history").json()
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["changes"]["targets"][1] == {"gmv": 50000}

    page = vic.get(f"/campaigns/{campaign['id']}", params={"lang": "en"}).text
    assert f"{ref['participants']:,}" in page and "CN¥3,878.41" in page
    # Once over, the campaign links to its review report (growthloop/reports/campaign.py).
    review = f'href="/reports/campaign/{campaign["id"]}?project=default"'
    assert (review in page) == (datetime.now(TZ).date() > date(2026, 11, 4))
    assert ops.delete(f"/api/campaigns/{campaign['id']}").status_code == 204
    assert vic.get(f"/api/campaigns/{campaign['id']}").status_code == 404


def test_campaign_pages_plan_and_tick(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d") as ws:
        app = create_app(ws)
        ops = client_for(ws, "operator", app)
        form = {
            "key": "double11",
            "name": "双11",
            "start_date": "2026-11-11",
            "end_date": "2026-11-11",
            "target_gmv": "100000",
            "budget": "baidu=1000，wechat=800",
        }
        made = ops.post("/campaigns", data=form, follow_redirects=False)
        assert made.status_code == 303
        campaign = ops.get("/api/campaigns").json()[0]
        assert campaign["budget"] == {"baidu": 1000, "wechat": 800}
        assert campaign["warmup_date"] == "2026-11-08"
        bad = ops.post("/campaigns", data={**form, "key": "x", "budget": "baidu:1000"})
        assert bad.status_code == 422 and "is not channel=amount" in bad.text
        task = ops.get(f"/api/campaigns/{campaign['id']}").json()["checklist"][0]
        ticked = ops.post(
            f"/campaigns/{campaign['id']}/tasks/{task['id']}/done",
            data={"version": "1", "done": "true"},
            follow_redirects=False,
        )
        assert ticked.status_code == 303
        assert ops.get(f"/api/campaigns/{campaign['id']}").json()["checklist"][0]["done"] is True
        assert "双11" in ops.get("/campaigns").text
