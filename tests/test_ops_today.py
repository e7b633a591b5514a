"""The "today" page: own tasks due, running campaigns up to the day, and the demo's tracking
outage flagged among the recent anomalies."""

from __future__ import annotations

import secrets
import statistics
from collections import Counter
from datetime import UTC, date
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.web.app import create_app
from growthloop.workspace import Workspace

TZ = ZoneInfo("Asia/Shanghai")
DEMO_END = date(2026, 11, 23)
OUTAGE = date(2026, 10, 12)


def test_today_tasks_campaigns_and_anomalies(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    name = f"li.na-{secrets.token_hex(3)}"
    account, _ = add_user(demo_ws, name, "operator")
    ops = TestClient(
        app, headers={"Authorization": f"Bearer {create_token(demo_ws, account.id, 't')[1]}"}
    )
    day = "2026-11-02"
    st = ops.post("/api/plans/strategies", json={"month": "2026-11", "title": "大促"}).json()
    url = f"/api/plans/strategies/{st['id']}/actions"
    ops.post(url, json={"title": "overdue", "owner": name, "due": "2026-11-01"})
    ops.post(url, json={"title": "soon", "owner": name, "due": "2026-11-05"})
    ops.post(url, json={"title": "later", "owner": name, "due": "2026-11-20"})
    ops.post(url, json={"title": "done", "owner": name, "due": "2026-11-01", "status": "done"})
    ops.post(url, json={"title": "someone else's", "owner": "王强", "due": "2026-11-01"})
    campaign = ops.post(
        "/api/campaigns",
        json={
            "key": "super_brand_day",
            "name": f"超级品牌日 {name}",
            "start_date": "2026-10-31",
            "end_date": "2026-11-04",
            "targets": {"orders": 150},
        },
    ).json()
    checklist = ops.get(f"/api/campaigns/{campaign['id']}").json()["checklist"]
    ops.patch(f"/api/campaigns/tasks/{checklist[2]['id']}", json={"version": 1, "owner": name})

    for title, publish_on, stage in (
        ("明天发", "2026-11-03", "scheduled"),
        ("昨天该发", "2026-11-01", "scheduled"),
        ("已发布", "2026-11-01", "published"),
        ("下个月", "2026-12-01", "scheduled"),
    ):
        ops.post(
            "/api/content",
            json={
                "title": title,
                "channel": "WeChat",
                "format": "article",
                "stage": stage,
                "assignee": name,
                "reviewer": "王强",
                "publish_on": publish_on,
            },
        )
    got = ops.get("/api/today", params={"day": day}).json()
    assert [(c["title"], c["overdue"]) for c in got["content"]] == [
        ("昨天该发", True),
        ("明天发", False),
    ]
    assert got["owner"] == name
    assert [(t["title"], t["overdue"]) for t in got["tasks"]] == [
        ("渠道预热 / channel warm-up", True),
        ("overdue", True),
        ("soon", False),
    ]
    [running] = [c for c in got["campaigns"] if c["id"] == campaign["id"]]
    assert running["stage"] == "live"
    # Orders up to Nov 2 only: the monitor of the window cut at the day asked about.
    con = demo_ws.events().con
    rows = con.execute("SELECT timestamp FROM orders WHERE campaign = 'super_brand_day'").fetchall()
    upto = [
        ts for (ts,) in rows if ts.replace(tzinfo=UTC).astimezone(TZ).date() <= date(2026, 11, 2)
    ]
    assert running["orders"] == len(upto) and running["achieved"]["orders"] == len(upto) / 150

    # Three days after the tracking outage, the event volume's drop is flagged.
    flags = ops.get("/api/today", params={"day": "2026-10-15"}).json()["anomalies"]
    per_day = Counter(
        ts.replace(tzinfo=UTC).astimezone(TZ).date()
        for (ts,) in con.execute("SELECT timestamp FROM events").fetchall()
    )
    outage = [f for f in flags if f["series"] == "events" and f["day"] == OUTAGE.isoformat()]
    assert len(outage) == 1 and outage[0]["direction"] == "drop"
    assert outage[0]["value"] == per_day[OUTAGE]
    assert per_day[OUTAGE] < 0.2 * statistics.median(per_day.values())
    assert all(f["day"] > "2026-10-08" for f in flags)

    page = ops.get("/today", params={"day": day, "lang": "en"}).text
    assert page.count('class="overdue"') == 3 and f"超级品牌日 {name}" in page
    ops.delete(f"/api/campaigns/{campaign['id']}")
    ops.delete(f"/api/plans/strategies/{st['id']}")
