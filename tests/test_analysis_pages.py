"""Analysis builder pages and POST /api/query over HTTP (TestClient) on the small demo: pages
render in both languages for every role, the API gives the engine's answer, funnel drop-off
people match the step counts, saved analyses render on dashboards, and the user profile shows
what the store holds. Runs on SQLite and PostgreSQL metadata."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.analytics import QueryContext, parse_spec, run_analysis
from growthloop.analytics.results import plain
from growthloop.web.app import create_app
from growthloop.web.pages.analysis import BUILDERS, default_spec
from growthloop.workspace import Workspace

RANGE = {"date_from": "2026-10-01", "date_to": "2026-11-23"}
FUNNEL = {
    "kind": "funnel",
    "steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
    "window": {"value": 7, "unit": "day"},
    "date_range": RANGE,
}
TITLES = {
    "en": {"trends": "Trends", "funnel": "Funnels", "retention": "Retention", "paths": "Paths"},
    "zh-CN": {
        "trends": "事件分析",
        "funnel": "漏斗分析",
        "retention": "留存分析",
        "paths": "用户路径",
    },
}


def client(ws: Workspace, name: str, role: str) -> TestClient:
    """A client with a token of a new user; the PostgreSQL metadata database is shared by the
    whole session, so names carry this module's prefix."""
    account, _ = add_user(ws, f"analysis-{name}", role)
    token = create_token(ws, account.id, "test")[1]
    app = create_app(ws)
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def engine(ws: Workspace, spec: dict[str, Any]) -> dict[str, Any]:
    """The engine's own result for a spec, run directly (not through the web app)."""
    ctx = QueryContext.for_workspace(ws, now_utc=datetime.now(UTC).replace(tzinfo=None))
    result: dict[str, Any] = run_analysis(parse_spec(spec), ctx).to_dict()
    return result


def boot_of(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="analysis-boot">(.*?)</script>', html)
    assert match, "no boot data on the builder page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def h1(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html)
    assert match
    return match.group(1)


def test_pages_render_in_both_languages_for_every_role(demo_ws: Workspace) -> None:
    viewer = client(demo_ws, "vera", "viewer")
    operator = client(demo_ws, "otto", "operator")
    for lang in ("en", "zh-CN"):
        index = viewer.get(f"/analysis?lang={lang}")
        assert index.status_code == 200
        assert h1(index.text) == ("Analysis" if lang == "en" else "数据分析")
        for kind in BUILDERS:
            assert f'href="/analysis/{kind}?project=default"' in index.text
        for kind in BUILDERS:
            page = viewer.get(f"/analysis/{kind}?lang={lang}")
            assert page.status_code == 200, kind
            if kind in TITLES[lang]:
                assert h1(page.text) == TITLES[lang][kind]
            boot = boot_of(page.text)
            assert boot["kind"] == kind and boot["locale"] == lang
            assert boot["may_save"] is False and 'id="save-form"' not in page.text
            # The default spec is a valid spec of the kind, built from the store's events.
            assert parse_spec(boot["default_spec"]).kind == kind
            assert boot["catalogue"]["events"][0] == "$pageview"
            assert "platform" in boot["catalogue"]["event"] or boot["catalogue"]["event"]
            assert boot["strings"]["analysis.run"] == ("Run" if lang == "en" else "查询")
        page = operator.get(f"/analysis/funnel?lang={lang}")
        assert boot_of(page.text)["may_save"] is True and 'id="save-form"' in page.text
    assert viewer.get("/analysis/nope").status_code == 404
    anonymous = TestClient(create_app(demo_ws), follow_redirects=False)
    assert anonymous.get("/analysis/trends").status_code in (302, 303, 307)
    assert anonymous.post("/api/query", json=FUNNEL).status_code == 401


def test_default_specs_follow_the_store(demo_ws: Workspace) -> None:
    con = demo_ws.events().con.cursor()
    top = [
        r[0]
        for r in con.execute(
            "SELECT event FROM events GROUP BY 1 ORDER BY count(*) DESC, 1"
        ).fetchall()
    ]
    spec = default_spec("interval", top)
    assert spec["from_event"]["event"] == top[0] and spec["to_event"]["event"] == top[1]
    assert default_spec("funnel", [])["steps"][0]["event"] == "$pageview"


def test_query_api_gives_the_engine_result(demo_ws: Workspace) -> None:
    viewer = client(demo_ws, "vic", "viewer")
    specs = [
        FUNNEL,
        {
            "kind": "trends",
            "series": [
                {
                    "event": "purchase",
                    "math": "sum",
                    "property": {"key": "revenue", "type": "column"},
                },
                {"event": "$pageview", "math": "unique_users"},
            ],
            "formula": "A / B",
            "interval": "week",
            "date_range": RANGE,
        },
        {
            "kind": "lifecycle",
            "event": {"event": "purchase"},
            "interval": "week",
            "date_range": RANGE,
        },
    ]
    for spec in specs:
        answer = viewer.post("/api/query", json=spec)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["result"] == plain(engine(demo_ws, spec))
        assert body["spec"]["kind"] == spec["kind"]
        assert len(body["table"]["rows"]) > 0
    bad = viewer.post("/api/query", json={**FUNNEL, "steps": FUNNEL["steps"][:1]})
    assert bad.status_code == 422
    assert bad.json()["detail"]["problems"][0]["field"] == "steps"
    unknown = viewer.post("/api/query", json={"kind": "nope"})
    assert unknown.status_code == 422 and "unknown analysis kind" in unknown.text
    # Valid specs the engine cannot run as asked get the engine's reason, not a server error.
    hours = {
        "kind": "trends",
        "series": [{}],
        "interval": "hour",
        "date_range": {"date_from": "-5y"},
    }
    too_many = viewer.post("/api/query", json=hours)
    assert too_many.status_code == 422 and "hour buckets is more than" in too_many.text
    regex = {"kind": "paths", "cleaning": [{"regex": "(", "replacement": ""}], "date_range": RANGE}
    broken = viewer.post("/api/query", json=regex)
    assert broken.status_code == 422 and "is not a regular expression" in broken.text


def test_funnel_drop_off_people_match_the_step_counts(demo_ws: Workspace) -> None:
    viewer = client(demo_ws, "vin", "viewer")
    steps = engine(demo_ws, FUNNEL)["groups"][0]["steps"]
    for k in (1, 2):
        answer = viewer.post(
            "/api/query/funnel-people",
            json={"spec": FUNNEL, "step": k, "dropped": True, "limit": 10_000},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["count"] == steps[k - 1]["count"] - steps[k]["count"] > 0
        assert len(body["people"]) == body["count"] == len(set(body["people"]))
    reached = viewer.post("/api/query/funnel-people", json={"spec": FUNNEL, "step": 3})
    assert reached.json()["count"] == steps[2]["count"]
    beyond = viewer.post("/api/query/funnel-people", json={"spec": FUNNEL, "step": 4})
    assert beyond.status_code == 422 and "step" in beyond.text
    trends = {"kind": "trends", "series": [{"event": "purchase"}]}
    wrong = viewer.post("/api/query/funnel-people", json={"spec": trends, "step": 1})
    assert wrong.status_code == 422


def test_saved_analysis_renders_on_a_dashboard(demo_ws: Workspace) -> None:
    ops = client(demo_ws, "olga", "operator")
    retention = {
        "kind": "retention",
        "start_event": {"event": "signup"},
        "return_event": {"event": "purchase"},
        "period": "week",
        "periods": 4,
        "date_range": RANGE,
    }
    board = ops.post("/api/dashboards", json={"name": "Analyses"}).json()
    for name, spec in (("Funnel", FUNNEL), ("Retention", retention)):
        insight = ops.post("/api/insights", json={"name": name, "spec": spec})
        assert insight.status_code == 201, insight.text
        assert insight.json()["spec"]["kind"] == spec["kind"]
        pinned = ops.post(
            f"/api/dashboards/{board['id']}/items", json={"insight_id": insight.json()["id"]}
        )
        assert pinned.status_code == 201
        result = ops.get(f"/api/insights/{insight.json()['id']}/result").json()
        assert result["analysis"]["result"] == plain(engine(demo_ws, spec))
    page = ops.get(f"/dashboards/{board['id']}?lang=en")
    assert page.status_code == 200
    blobs = re.findall(
        r'<script type="application/json" data-analysis="[^"]+">(.*?)</script>', page.text
    )
    assert [json.loads(b)["kind"] for b in blobs] == ["funnel", "retention"]
    assert json.loads(blobs[1])["result"] == plain(engine(demo_ws, retention))
    assert json.loads(blobs[0])["labels"]["all"] == "Everyone"
    zh = ops.get(f"/dashboards/{board['id']}?lang=zh-CN").text
    assert '"dormant": "流失"' in zh and '"all": "全部用户"' in zh
    assert "Oct 1, 2026" in page.text  # the period of the absolute range, in the locale
    bad = ops.post("/api/insights", json={"name": "x", "spec": {**FUNNEL, "mode": "sideways"}})
    assert bad.status_code == 422
    # Leave the session's shared metadata database as it was.
    for item in ops.get(f"/api/dashboards/{board['id']}").json()["items"]:
        assert ops.delete(f"/api/insights/{item['insight_id']}").status_code == 204
    assert ops.delete(f"/api/dashboards/{board['id']}").status_code == 204


def test_user_profile_shows_the_store(demo_ws: Workspace) -> None:
    viewer = client(demo_ws, "val", "viewer")
    con = demo_ws.events().con.cursor()
    person, distinct, count = con.execute(
        "SELECT e.person_id, min(i.distinct_id), count(DISTINCT e.uuid) FROM events e "
        "JOIN person_identities i ON i.person_id = e.person_id "
        "GROUP BY 1 HAVING count(DISTINCT i.distinct_id) > 1 ORDER BY 3 DESC, 1 LIMIT 1"
    ).fetchone()
    ids = [
        r[0]
        for r in con.execute(
            "SELECT distinct_id FROM person_identities WHERE person_id = ? ORDER BY 1", [person]
        ).fetchall()
    ]
    found = viewer.get(f"/analysis/people?person={distinct}", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"].startswith(
        f"/analysis/people/{distinct}"
    )
    for lang, label in (("en", "Event timeline"), ("zh-CN", "事件时间线")):
        page = viewer.get(f"/analysis/people/{distinct}?lang={lang}")
        assert page.status_code == 200 and label in page.text
        shown = re.search(r'data-field="event_count">([^<]+)<', page.text)
        assert shown and int(shown.group(1).replace(",", "")) == count
        block = page.text.split('id="profile-identities">')[1].split("</ul>")[0]
        assert re.findall(r"<code>(.*?)</code>", block) == ids
        timeline = page.text.split('id="profile-timeline">')[1].split("</table>")[0]
        assert timeline.count("<tr>") - 1 == min(count, 200)
    missing = viewer.get("/analysis/people/nobody-at-all?lang=en")
    assert missing.status_code == 404 and "no person or events" in missing.text


def test_saved_segments_in_builders_queries_and_profiles(demo_ws: Workspace) -> None:
    ops = client(demo_ws, "sam", "operator")
    con = demo_ws.events().con.cursor()
    people = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT person_id FROM events WHERE event = 'purchase' ORDER BY 1 LIMIT 25"
        ).fetchall()
    ]
    made = ops.post(
        "/api/segments/static",
        json={"name": "Early buyers", "person_ids": people, "source": "test"},
    )
    assert made.status_code == 201, made.text
    segment_id = made.json()["id"]
    boot = boot_of(ops.get("/analysis/trends").text)
    assert {"id": segment_id, "name": "Early buyers"} in boot["segments"]
    spec = {
        "kind": "trends",
        "series": [{"event": "purchase", "math": "unique_users"}],
        "interval": "month",
        "date_range": {"date_from": "2026-08-01", "date_to": "2026-11-23"},
        "filters": [{"type": "segment", "segment_id": segment_id}],
    }
    answer = ops.post("/api/query", json=spec)
    assert answer.status_code == 200, answer.text
    [line] = answer.json()["result"]["lines"]
    assert line["total"] == len(people) and line == engine(demo_ws, spec)["lines"][0]
    page = ops.get(f"/analysis/people/{people[0]}?lang=en")
    assert f'data-segment="{segment_id}">Early buyers</a>' in page.text
    other = con.execute(
        "SELECT min(person_id) FROM events WHERE person_id NOT IN (SELECT unnest(?))", [people]
    ).fetchone()
    assert other is not None
    assert "Early buyers" not in ops.get(f"/analysis/people/{other[0]}?lang=en").text
    assert ops.delete(f"/api/segments/{segment_id}").status_code == 204
