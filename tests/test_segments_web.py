"""Segments over the API, the pages and the CLI: on the small demo (metadata on SQLite and
PostgreSQL) sizes checked against a brute-force count over the demo's events at the moment
the segment was computed; roles, CSRF, version conflicts, CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthloop.accounts import add_user, create_token
from growthloop.analytics.funnels import Funnel, FunnelSpec
from growthloop.analytics.saved_segments import query_context
from growthloop.cli import app as cli
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, insert_events
from tests.test_web_app import login

DEFINITION = {
    "match": "all",
    "conditions": [
        {"type": "behaviour", "event": {"event": "purchase"}, "min_count": 2, "days": None},
        {"type": "behaviour", "event": {"event": "add_to_cart"}, "days": 30, "negate": True},
    ],
}
FUNNEL = {
    "kind": "funnel",
    "steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
    "window": {"value": 7, "unit": "day"},
    "date_range": {"date_from": "-60d"},
}


def token_client(ws: Workspace, app: object, role: str) -> TestClient:
    account, _ = add_user(ws, f"seg-{role}", role)
    token = create_token(ws, account.id, "test")[1]
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})  # type: ignore[arg-type]


def brute(ws: Workspace, now: datetime) -> set[str]:
    """DEFINITION by hand: 2+ purchases ever before now, no add_to_cart in the 30 days before."""
    rows = (
        ws.events()
        .con.execute(
            "SELECT person_id, event, timestamp FROM events"
            " WHERE event IN ('purchase', 'add_to_cart') AND timestamp < ?",
            [now],
        )
        .fetchall()
    )
    purchases = Counter(p for p, e, _ in rows if e == "purchase")
    carted = {p for p, e, ts in rows if e == "add_to_cart" and ts >= now - timedelta(days=30)}
    return {p for p, n in purchases.items() if n >= 2} - carted


def test_segments_api_on_the_demo(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops, viewer = token_client(demo_ws, app, "operator"), token_client(demo_ws, app, "viewer")
    body = {"name": "Repeat buyers, not carting", "definition": DEFINITION}
    assert viewer.post("/api/segments", json=body).status_code == 403
    made = ops.post("/api/segments", json=body)
    assert made.status_code == 201, made.text
    seg = made.json()
    assert seg["created_by"] == "seg-operator" and seg["refresh_hours"] == 24
    now = datetime.fromisoformat(seg["computed_at"])
    want = brute(demo_ws, now)
    assert 20 < len(want) == seg["size"]
    members = viewer.get(f"/api/segments/{seg['id']}/members", params={"limit": 10000}).json()
    assert members["size"] == len(want) and set(members["people"]) == want
    assert members["people"] == sorted(members["people"])

    # CSV export: one row per member with their identities.
    text = viewer.get(f"/api/segments/{seg['id']}/export.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["person_id"] for r in rows} == want and len(rows) == len(want)
    assert all(r["distinct_ids"] for r in rows)

    # Recompute adds a history row; a stale edit is refused; a changed rule is recomputed.
    again = ops.post(f"/api/segments/{seg['id']}/recompute").json()
    history = viewer.get(f"/api/segments/{seg['id']}/history").json()
    assert [h["size"] for h in history] == [seg["size"], again["size"]]
    assert again["size"] == len(brute(demo_ws, datetime.fromisoformat(again["computed_at"])))
    stale = ops.patch(f"/api/segments/{seg['id']}", json={"version": 0, "name": "x"})
    assert stale.status_code == 409
    looser = {**DEFINITION, "conditions": DEFINITION["conditions"][:1]}
    changed = ops.patch(
        f"/api/segments/{seg['id']}", json={"version": seg["version"], "definition": looser}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["size"] > seg["size"]
    bad = ops.post("/api/segments", json={"name": "x", "definition": {"conditions": []}})
    assert bad.status_code == 422

    # A person's segments: a member is listed, a non-member is not.
    # (PostgreSQL is one database for the whole test session: other tests' segments may be there.)
    member = sorted(want)[0]
    listed = viewer.get("/api/segments/of-person", params={"person_id": member}).json()
    assert seg["id"] in [s["id"] for s in listed]
    everyone = [
        r[0] for r in demo_ws.events().con.execute("SELECT person_id FROM persons").fetchall()
    ]
    outsider = min(p for p in everyone if p not in want)
    listed = viewer.get("/api/segments/of-person", params={"person_id": outsider}).json()
    assert seg["id"] not in [s["id"] for s in listed]

    # Funnel drop-offs at step 2 (viewed and carted, never bought within the window).
    made = ops.post(
        "/api/segments/from-funnel", json={"name": "cart leavers", "funnel": FUNNEL, "step": 2}
    )
    assert made.status_code == 201, made.text
    leavers = made.json()
    assert leavers["kind"] == "rule" and leavers["size"] > 0
    project_id = demo_ws.ensure_project(demo_ws.settings.default_project).id
    with query_context(demo_ws, project_id, datetime.fromisoformat(leavers["computed_at"])) as ctx:
        people = Funnel(FunnelSpec.model_validate(FUNNEL), ctx).people(2, dropped=True)
        expected = {r["person_id"] for r in ctx.execute(people)}
    got = viewer.get(f"/api/segments/{leavers['id']}/members", params={"limit": 10000}).json()
    assert set(got["people"]) == expected

    # Listing, and deleting one.
    listing = viewer.get("/api/segments").json()
    assert {(s["id"], s["name"]) for s in listing} >= {
        (seg["id"], "Repeat buyers, not carting"),
        (leavers["id"], "cart leavers"),
    }
    assert ops.delete(f"/api/segments/{leavers['id']}").status_code == 204
    assert viewer.get(f"/api/segments/{leavers['id']}").status_code == 404


def test_segment_pages(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    browser = TestClient(app)
    _, password = add_user(demo_ws, "seg-page-op", "operator")
    csrf = login(browser, "seg-page-op", password)
    form = {
        "name": "Buyers who completed the funnel",
        "match": "all",
        "refresh_hours": "24",
        "c0_type": "did",
        "c0_event": "purchase",
        "c0_count": "1",
        "c0_days": "",
        "c1_type": "funnel_dropped",
        "c1_steps": "product_view, add_to_cart, purchase",
        "c1_step": "3",
        "c1_window": "7",
        "c1_funnel_days": "60",
    }
    assert browser.post("/segments", data=form).status_code == 403  # no CSRF token
    made = browser.post("/segments", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = browser.get(made.headers["location"])
    assert page.status_code == 200
    size = re.search(r'id="segment-size">([\d,]+)<', page.text)
    assert size and int(size.group(1).replace(",", "")) > 0
    assert 'id="segment-history-chart"' in page.text and "export.csv" in page.text
    assert "&#34;date_from&#34;: &#34;-60d&#34;" in page.text or '"date_from": "-60d"' in page.text
    assert page.text.count('<a class="member" href="/analysis/people/') == min(
        50, int(size.group(1).replace(",", ""))
    )
    listing = browser.get("/segments")
    assert "Buyers who completed the funnel" in listing.text and "<polyline" in listing.text
    seg_id = int(made.headers["location"].split("/")[2].split("?")[0])
    again = browser.post(
        f"/segments/{seg_id}/recompute", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert again.status_code == 303
    assert browser.get(f"/segments/{seg_id}").text.count("<tr><td>20") == 2  # two history rows
    bad = browser.post("/segments", data={"name": "empty", "csrf_token": csrf})
    assert bad.status_code == 422 and "at least one condition" in bad.text
    gone = browser.post(
        f"/segments/{seg_id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert browser.get(f"/segments/{seg_id}").status_code == 404


def test_segments_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(minutes=1)
    with Workspace.open(data) as ws:
        insert_events(
            ws.events().con,
            [Ev(f"p{i}", "buy", now - timedelta(days=i)) for i in range(5)]
            + [Ev("p9", "view", BASE)],
        )
    rule = tmp_path / "rule.json"
    rule.write_text('{"conditions": [{"type": "behaviour", "event": {"event": "buy"}, "days": 3}]}')
    runner = CliRunner()
    made = runner.invoke(
        cli, ["segments", "create", "recent buyers", str(rule), "--data-dir", str(data)]
    )
    assert made.exit_code == 0, made.output
    assert "segment 1 (recent buyers): 3 people" in made.output  # p0, p1, p2
    listed = runner.invoke(cli, ["segments", "list", "--data-dir", str(data)])
    assert listed.exit_code == 0 and "recent buyers" in listed.output and "rule" in listed.output
    both = runner.invoke(cli, ["segments", "recompute", "1", "--all", "--data-dir", str(data)])
    assert both.exit_code == 2 and "not both" in both.output
    again = runner.invoke(cli, ["segments", "recompute", "--all", "--data-dir", str(data)])
    assert again.exit_code == 0 and "segment 1: 3 people" in again.output
    out = tmp_path / "members.csv"
    export = runner.invoke(
        cli, ["segments", "export", "1", "--out", str(out), "--data-dir", str(data)]
    )
    assert export.exit_code == 0, export.output
    assert [r["person_id"] for r in csv.DictReader(out.open())] == ["p0", "p1", "p2"]
    # The saved segment as a filter in `growthloop query`: only its members' events count.
    spec = tmp_path / "spec.json"
    spec.write_text(
        '{"kind": "trends", "series": [{"event": "buy"}], "date_range": {"date_from": "-30d"},'
        ' "filters": [{"type": "segment", "segment_id": 1}]}'
    )
    ran = runner.invoke(cli, ["query", str(spec), "--format", "json", "--data-dir", str(data)])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["lines"][0]["total"] == 3
    missing = runner.invoke(cli, ["segments", "recompute", "7", "--data-dir", str(data)])
    assert missing.exit_code == 1 and "no segment 7" in missing.output
