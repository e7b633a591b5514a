"""Topic library and content calendar: the pipeline's rules, variants, cadence adherence by
week, and a published piece's results against the demo's content_metrics rows."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

from growthloop.ops.content_results import METRICS
from growthloop.workspace import Workspace
from tests.web_clients import client_for

TZ = ZoneInfo("Asia/Shanghai")


def test_pipeline_variants_cadence_and_results(demo_ws: Workspace) -> None:
    ops, vic = client_for(demo_ws, "operator"), client_for(demo_ws, "viewer")
    assert vic.post("/api/content/topics", json={"title": "x", "kind": "hot"}).status_code == 403
    assert ops.post("/api/content/topics", json={"title": "x", "kind": "news"}).status_code == 422
    low = ops.post(
        "/api/content/topics", json={"title": "秋冬叠穿", "kind": "scene", "priority": 3}
    )
    hot = ops.post(
        "/api/content/topics",
        json={"title": "双11 攻略", "kind": "hot", "source": "微博热搜", "priority": 1},
    ).json()
    titles = [t["title"] for t in vic.get("/api/content/topics").json()]
    assert titles.index("双11 攻略") < titles.index(low.json()["title"])

    piece = ops.post(
        "/api/content",
        json={
            "title": "小个子穿搭公式",
            "channel": "Xiaohongshu",
            "format": "note",
            "topic_id": hot["id"],
            "assignee": "李娜",
        },
    ).json()
    url = f"/api/content/{piece['id']}"
    steps = [
        ({"stage": "review"}, 422, "stage: a piece in idea moves to draft, not to review"),
        ({"stage": "draft"}, 200, None),
        ({"stage": "review"}, 422, "reviewer: a piece in review needs a reviewer"),
        ({"stage": "review", "reviewer": "王强"}, 200, None),
        ({"stage": "scheduled"}, 422, "publish_on: a scheduled piece needs a publishing day"),
        ({"stage": "scheduled", "publish_on": "2026-10-22"}, 200, None),
    ]
    version = piece["version"]
    for change, status, message in steps:
        got = ops.patch(url, json={"version": version, **change})
        assert got.status_code == status, (change, got.text)
        if message:
            assert got.json()["detail"] == message
        else:
            version = got.json()["version"]
    stale = ops.patch(url, json={"version": 1, "title": "x"})
    assert stale.status_code == 409

    variant = ops.post(f"{url}/variants", json={"channel": "Zhihu", "format": "answer"}).json()
    assert (variant["variant_of"], variant["topic_id"], variant["stage"]) == (
        piece["id"],
        hot["id"],
        "idea",
    )

    # Cadence: 2 notes a week on Xiaohongshu; the week of Oct 19 has one scheduled, then two.
    ops.put(
        "/api/content/cadence", json={"channel": "Xiaohongshu", "format": "note", "per_week": 2}
    )
    week = vic.get("/api/content/calendar", params={"view": "week", "day": "2026-10-22"}).json()
    assert week["start"] == "2026-10-19" and [p["id"] for p in week["pieces"]] == [piece["id"]]
    cadence = {(c["channel"], c["format"]): c for c in week["weeks"][0]["cadence"]}
    assert (
        cadence[("Xiaohongshu", "note")]["planned"] == 1
        and not cadence[("Xiaohongshu", "note")]["met"]
    )
    ops.post(
        "/api/content",
        json={
            "title": "第二篇",
            "channel": "Xiaohongshu",
            "format": "note",
            "stage": "scheduled",
            "reviewer": "王强",
            "publish_on": "2026-10-25",
        },
    )
    ops.post(
        "/api/content",
        json={
            "title": "下周的",
            "channel": "Xiaohongshu",
            "format": "note",
            "stage": "scheduled",
            "reviewer": "王强",
            "publish_on": "2026-10-26",
        },
    )
    week = vic.get("/api/content/calendar", params={"view": "week", "day": "2026-10-22"}).json()
    cadence = {(c["channel"], c["format"]): c for c in week["weeks"][0]["cadence"]}
    assert (
        cadence[("Xiaohongshu", "note")]["planned"] == 2 and cadence[("Xiaohongshu", "note")]["met"]
    )
    month = vic.get("/api/content/calendar", params={"view": "month", "day": "2026-10-05"}).json()
    assert len(month["weeks"]) == 5 and {p["publish_on"] for p in month["pieces"]} == {
        "2026-10-22",
        "2026-10-25",
        "2026-10-26",
    }

    # Published as the demo's c_014 (a planted hit): its results are the metrics rows.
    done = ops.patch(url, json={"version": version, "stage": "published", "item_id": "c_014"})
    assert done.status_code == 200
    got = vic.get(f"{url}/results").json()
    con = demo_ws.events().con
    [(published_at,)] = con.execute(
        "SELECT published_at FROM content_items WHERE item_id = 'c_014'"
    ).fetchall()
    day = published_at.replace(tzinfo=UTC).astimezone(TZ).date()
    rows = con.execute("SELECT * FROM content_metrics WHERE item_id = 'c_014'").fetchall()
    cols = [d[0] for d in con.description]
    total = {m: sum(r[cols.index(m)] or 0 for r in rows) for m in METRICS}
    first = {
        m: sum(r[cols.index(m)] or 0 for r in rows if r[cols.index("date")] == day) for m in METRICS
    }
    assert got["published_on"] == day.isoformat() == "2026-10-22"
    assert got["total"] == total and got["first_day"] == first
    assert total["views"] > 10000 and first["views"] == 1066  # the figure docs/ops.md quotes

    page = vic.get("/content", params={"view": "week", "day": "2026-10-22", "lang": "en"}).text
    assert 'data-cadence="Xiaohongshu/note"' in page and "第二篇" in page
    assert f"Views first day / total 1,066 / {total['views']:,}" in page


def test_content_page_moves_a_piece(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d") as ws:
        ops = client_for(ws, "operator")
        made = ops.post(
            "/content/pieces",
            data={"title": "选题 A", "channel": "WeChat", "format": "article"},
            follow_redirects=False,
        )
        assert made.status_code == 303
        piece = ops.get("/api/content").json()[0]
        moved = ops.post(
            f"/content/pieces/{piece['id']}/stage",
            data={"version": "1", "stage": "draft"},
            follow_redirects=False,
        )
        assert moved.status_code == 303
        assert ops.get("/api/content").json()[0]["stage"] == "draft"
        wrong = ops.post(
            f"/content/pieces/{piece['id']}/stage", data={"version": "2", "stage": "published"}
        )
        assert wrong.status_code == 422 and "moves to review, not to published" in wrong.text
        assert (
            ops.post(
                "/content/topics", data={"title": "痛点 1", "kind": "pain"}, follow_redirects=False
            ).status_code
            == 303
        )
        assert "痛点 1" in ops.get("/content").text
