"""Saved insights and dashboards: save, pin, arrange, share; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.analytics.kpis import Period, compute_overview, last_data_day
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_web_kpis import TZ, load, make_rows


def bearer(app: object, ws: Workspace, name: str, role: str) -> TestClient:
    account, _ = add_user(ws, name, role)
    token = create_token(ws, account.id, "test")[1]
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})  # type: ignore[arg-type]


def test_save_pin_arrange_share(metadata_url: str, tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        events, orders, identified = make_rows(7)
        load(ws, events, orders, identified)
        app = create_app(ws)
        ops = bearer(app, ws, "olga", "operator")
        other = bearer(app, ws, "otto", "operator")
        vic = bearer(app, ws, "vic", "viewer")

        gmv = ops.post(
            "/api/insights", json={"name": "GMV", "spec": {"kind": "kpi", "metric": "gmv"}}
        )
        assert gmv.status_code == 201
        assert gmv.json()["spec"] == {"kind": "kpi", "metric": "gmv", "days": 30}
        trend = ops.post("/api/insights", json={"name": "T", "spec": {"kind": "trend", "days": 7}})
        bad = ops.post(
            "/api/insights", json={"name": "x", "spec": {"kind": "kpi", "metric": "dau"}}
        )
        assert bad.status_code == 422 and bad.json()["detail"].startswith("spec.kpi.metric")

        board = ops.post("/api/dashboards", json={"name": "Weekly"}).json()
        url = f"/api/dashboards/{board['id']}"
        for insight in (gmv.json(), trend.json()):
            assert ops.post(f"{url}/items", json={"insight_id": insight["id"]}).status_code == 201
        items = ops.get(url).json()["items"]
        assert [i["name"] for i in items] == ["GMV", "T"]

        # Arrange: reverse the order and widen the trend.
        layout = [{"id": items[1]["id"], "width": 4}, {"id": items[0]["id"], "width": 1}]
        arranged = ops.put(f"{url}/layout", json={"items": layout}).json()["items"]
        assert [(i["name"], i["width"]) for i in arranged] == [("T", 4), ("GMV", 1)]
        partial = ops.put(f"{url}/layout", json={"items": layout[:1]})
        assert partial.status_code == 422

        # Private until shared; then viewers see it but other operators cannot change it.
        assert vic.get(url).status_code == 404
        assert [b["name"] for b in vic.get("/api/dashboards").json()] == []
        assert ops.patch(url, json={"shared": True}).json()["shared"] is True
        assert [b["name"] for b in vic.get("/api/dashboards").json()] == ["Weekly"]
        assert other.patch(url, json={"name": "mine"}).status_code == 403
        assert other.delete(f"{url}/items/{items[0]['id']}").status_code == 403

        # The pinned insight's result is the overview's number for its period.
        result = vic.get(
            f"/api/insights/{gmv.json()['id']}/result", headers={"Accept-Language": "en"}
        ).json()
        con = ws.events().con
        end = last_data_day(con, TZ)
        assert end is not None
        expected = compute_overview(con, Period.last_days(end, 30), TZ, "CNY").kpi("gmv")
        assert expected is not None
        assert result["kpi"]["value"] == f"CN¥{expected.value:,.2f}"

        assert ops.delete(f"/api/insights/{gmv.json()['id']}").status_code == 204
        assert [i["name"] for i in ops.get(url).json()["items"]] == ["T"]
        assert ops.delete(url).status_code == 204
        assert vic.get(url).status_code == 404


def test_dashboard_pages_render_pinned_cards(workspace: Workspace) -> None:
    events, orders, identified = make_rows(8)
    load(workspace, events, orders, identified)
    app = create_app(workspace)
    ops = bearer(app, workspace, "olga", "operator")
    board = ops.post("/api/dashboards", json={"name": "Board"}).json()
    # The overview page's save form: a card becomes an insight pinned to the chosen board.
    saved = ops.post(
        "/insights",
        data={
            "name": "Orders",
            "choice": "kpi:orders",
            "days": "30",
            "dashboard_id": str(board["id"]),
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    ops.post(
        "/insights",
        data={
            "name": "Channels",
            "choice": "channels",
            "days": "30",
            "dashboard_id": str(board["id"]),
        },
    )
    page = ops.get(f"/dashboards/{board['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    end = last_data_day(workspace.events().con, TZ)
    assert end is not None
    orders_kpi = compute_overview(workspace.events().con, Period.last_days(end, 30), TZ, "CNY").kpi(
        "orders"
    )
    assert orders_kpi is not None
    assert f'<div class="kpi-value">{orders_kpi.value:,.0f}</div>' in page.text
    assert 'data-figure="item-' in page.text
    # Move the channels item up, then unpin it.
    items = ops.get(f"/api/dashboards/{board['id']}").json()["items"]
    ops.post(f"/dashboards/{board['id']}/items/{items[1]['id']}/move", data={"delta": "-1"})
    moved = ops.get(f"/api/dashboards/{board['id']}").json()["items"]
    assert [i["name"] for i in moved] == ["Channels", "Orders"]
    ops.post(f"/dashboards/{board['id']}/items/{items[0]['id']}/width", data={"width": "3"})
    widths = {
        i["name"]: i["width"] for i in ops.get(f"/api/dashboards/{board['id']}").json()["items"]
    }
    assert widths == {"Channels": 2, "Orders": 3}
    bad = ops.post(f"/dashboards/{board['id']}/items/{items[0]['id']}/width", data={"width": "9"})
    assert bad.status_code == 422
    ops.post(f"/dashboards/{board['id']}/items/{items[1]['id']}/remove")
    assert [i["name"] for i in ops.get(f"/api/dashboards/{board['id']}").json()["items"]] == [
        "Orders"
    ]
    listing = ops.get("/dashboards", headers={"Accept-Language": "zh-CN"})
    assert "Board" in listing.text and "看板" in listing.text


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_overview_page_shows_real_numbers(workspace: Workspace, locale: str) -> None:
    events, orders, identified = make_rows(9)
    load(workspace, events, orders, identified)
    vic = bearer(create_app(workspace), workspace, "vic", "viewer")
    page = vic.get(
        "/",
        params={"start": "2026-10-01", "end": "2026-10-31"},
        headers={"Accept-Language": locale},
    )
    assert page.status_code == 200
    overview = compute_overview(
        workspace.events().con, Period(date(2026, 10, 1), date(2026, 10, 31)), TZ, "CNY"
    )
    visitors = overview.kpi("visitors")
    gmv = overview.kpi("gmv")
    assert visitors is not None and gmv is not None
    symbol = "¥" if locale == "zh-CN" else "CN¥"
    assert f'<div class="kpi-value">{visitors.value:,.0f}</div>' in page.text
    assert f'<div class="kpi-value">{symbol}{gmv.value:,.2f}</div>' in page.text
    assert page.text.count('class="kpi"') == len(overview.kpis) == 7
    assert ("2026年10月1日" if locale == "zh-CN" else "Oct 1, 2026") in page.text
    assert 'data-figure="trend-chart"' in page.text and 'data-figure="channel-chart"' in page.text
    # A viewer gets no save form; the form is for operators.
    assert 'id="pin"' not in page.text
