"""The growth-model pages on the small demo: each renders (English and 中文), shows the same numbers
as the API, and makes the planted patterns visible — the poor-ROI channel, the dormant high-value
segment, the A/B effect, the outage day, the content hits; saving lists and alert rules by form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from growthloop.analytics import saved_segments
from growthloop.analytics.saved_segments_models import unpack_members
from growthloop.workspace import Workspace
from tests.web_clients import client_for, demo_patterns, demo_with_own_metadata

END = "2026-11-23"
START = "2026-08-26"
ROW = re.compile(r'<tr data-key="([^"]*)"( class="highlight")?')


@pytest.fixture(scope="module")
def ws(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    with demo_with_own_metadata(demo_dir, tmp_path_factory, "models-pages") as opened:
        yield opened


@pytest.fixture(scope="module")
def patterns(demo_dir: Path) -> dict[str, Any]:
    return demo_patterns(demo_dir)


@pytest.fixture(scope="module")
def viewer(ws: Workspace) -> TestClient:
    return client_for(ws, "viewer")


@pytest.fixture(scope="module")
def operator(ws: Workspace) -> TestClient:
    return client_for(ws, "operator")


def page(client: TestClient, path: str, **params: Any) -> str:
    got = client.get(path, params=params)
    assert got.status_code == 200, got.text[-2000:]
    return got.text


def section(html: str, block: str) -> str:
    start = html.index(f'id="{block}"')
    end = html.find("</section>", start)
    return html[start:end]


def rows(html: str, block: str) -> dict[str, bool]:
    """Row key -> highlighted, of one block's table."""
    return {k: bool(h) for k, h in ROW.findall(section(html, block))}


def test_index_lists_every_model(viewer: TestClient) -> None:
    html = page(viewer, "/models", lang="en")
    slugs = re.findall(r'<tr data-model="([a-z-]+)">', html)
    assert slugs == [
        "rfm", "clv", "channel-roi", "attribution", "budget-mix", "experiments", "anomalies",
        "content", "pacing", "alerts",
    ]  # fmt: skip
    for slug in slugs:
        # Defaults (today, the last 90 days): a page, or the model's refusal on it - never a 500.
        got = viewer.get(f"/models/{slug}", params={"lang": "zh-CN"})
        assert got.status_code in (200, 422), (slug, got.status_code)
        assert f'<h1 data-model="{slug}">' in got.text
        assert (got.status_code == 422) == ('id="model-error"' in got.text)


def test_rfm_page_shows_the_dormant_high_value_segment(viewer: TestClient) -> None:
    api = viewer.get("/api/models/rfm", params={"as_of": END}).json()
    html = page(viewer, "/models/rfm", as_of=END, lang="en")
    rf = rows(html, "rfm-rf")
    assert list(rf) == [r["segment"] for r in api["rf_segments"]]
    assert rf["cant_lose"] is True  # revenue share > 3x customer share
    assert "Can&#39;t Lose" in html and 'data-figure="rfm-rf-chart"' in html
    cant = next(r for r in api["rf_segments"] if r["segment"] == "cant_lose")
    assert f'<td class="num">{cant["customers"]}</td>' in section(html, "rfm-rf")
    # The viewer sees no save buttons.
    assert "/models/rfm/save" not in html
    zh = page(viewer, "/models/rfm", as_of=END, lang="zh-CN")
    assert "不能失去" in zh and "重要保持客户" in zh and "分群迁移" in zh


def test_clv_page_lists_the_churn_risk_customers(viewer: TestClient, operator: TestClient) -> None:
    api = viewer.get("/api/models/churn", params={"as_of": END}).json()
    html = page(operator, "/models/clv", as_of=END, lang="en")
    listed = list(rows(html, "churn-risk"))
    assert listed == [r["person_id"] for r in api["customers"]] and len(listed) >= 10
    assert f"Churn-risk list ({len(listed)})" in html
    assert "/models/churn/save" in section(html, "churn-risk")
    assert "Users flagged" in section(html, "churn-behaviour")


def test_channel_pages_show_the_poor_roi_channel(
    viewer: TestClient, patterns: dict[str, Any]
) -> None:
    poor = patterns["poor_roi_channel"]
    html = page(viewer, "/models/channel-roi", start=START, end=END, lang="en")
    roi = rows(html, "roi")
    assert [k for k, h in roi.items() if h] == [poor]
    assert "Lowest ROAS among acquisition channels: douyin." in html
    html = page(viewer, "/models/attribution", start=START, end=END, lang="en")
    assert poor in rows(html, "attribution")
    html = page(viewer, "/models/budget-mix", start=START, end=END, lang="en")
    api = viewer.get("/api/models/budget-mix", params={"start": START, "end": END}).json()
    cut = {c["channel"] for c in api["channels"] if c["shift"] < 0}
    assert poor in cut and {k for k, h in rows(html, "budget").items() if h} == cut
    if api["refused"]:
        assert {r["channel"] for r in api["refused"]} == set(rows(html, "budget-refused"))
    else:
        assert 'id="budget-refused"' not in html
    # Too short a window: every channel refused, the page says why.
    short = viewer.get("/models/budget-mix", params={"start": "2026-11-10", "end": END})
    assert short.status_code == 422 and "needs at least 28" in short.text


def test_experiment_page_shows_the_effect_and_the_calculator(viewer: TestClient) -> None:
    html = page(
        viewer, "/models/experiments", name="new_checkout", baseline=0.1, effect=0.02,
        daily_users=500, lang="en",
    )  # fmt: skip
    results = rows(html, "experiment-results")
    assert results["conversion-test"] is True
    api = viewer.get("/api/models/experiments/sample-size",
                     params={"baseline": 0.1, "effect": 0.02, "daily_users": 500}).json()  # fmt: skip
    calc = section(html, "sample-size")
    assert f"{api['test_users']:,}" in calc and f"{api['days']:,}" in calc


def test_anomalies_page_flags_the_outage_day(viewer: TestClient, patterns: dict[str, Any]) -> None:
    html = page(viewer, "/models/anomalies", start=START, end=END, lang="en")
    flagged = rows(html, "anomalies")
    assert flagged[patterns["outage_day"]] is True
    api = viewer.get("/api/models/anomalies", params={"start": START, "end": END}).json()
    assert list(flagged) == [a["day"] for a in api["anomalies"]]


def test_content_page_marks_the_hits(viewer: TestClient, patterns: dict[str, Any]) -> None:
    html = page(viewer, "/models/content", start="2026-01-01", end=END, lang="en")
    items = rows(html, "content-items")
    assert set(patterns["content_hits"]) <= {k for k, h in items.items() if h}
    assert list(items)[:3] and set(list(items)[:3]) == set(patterns["content_hits"])


def test_pacing_page(viewer: TestClient) -> None:
    params = {"kpi": "gmv", "start": "2026-11-01", "end": "2026-11-30", "target": 150000}
    api = viewer.get("/api/models/pacing", params={**params, "as_of": "2026-11-20"}).json()
    html = page(viewer, "/models/pacing", **params, as_of="2026-11-20", lang="en")
    block = section(html, "pacing")
    assert f"¥{api['forecast']:,.2f}" in block and f"¥{api['actual']:,.2f}" in block


def test_bad_input_shows_the_models_message(viewer: TestClient) -> None:
    got = viewer.get("/models/rfm", params={"as_of": "2020-01-01", "lang": "en"})
    assert got.status_code == 422 and 'id="model-error"' in got.text
    assert "RFM needs at least 1" in got.text
    got = viewer.get("/models/anomalies", params={"metric": "dau", "lang": "en"})
    assert got.status_code == 422 and "metric must be one of" in got.text


def test_save_forms_create_segments_and_alert_rules(
    ws: Workspace, viewer: TestClient, operator: TestClient
) -> None:
    form = {"segment": "cant_lose", "map": "rf", "as_of": END}
    assert viewer.post("/models/rfm/save", data=form).status_code == 403
    saved = operator.post("/models/rfm/save", data=form, follow_redirects=False)
    assert saved.status_code == 303
    segment_id = int(saved.headers["location"].split("/segments/")[1].split("?")[0])
    api = operator.get("/api/models/rfm/customers",
                       params={"as_of": END, "segment": "cant_lose", "limit": 10000}).json()  # fmt: skip
    found = saved_segments.membership(ws, segment_id)
    assert found is not None
    assert unpack_members(found.members) == sorted(r["person_id"] for r in api)
    bad = operator.post("/models/rfm/save", data={**form, "map": "rfmx"})
    assert bad.status_code == 422 and "map:" in bad.text
    churn = operator.post("/models/churn/save", data={"as_of": END}, follow_redirects=False)
    assert churn.status_code == 303

    rule = {"name": "outage", "metric": "events", "condition": "anomaly", "direction": "drop",
            "kind": "feishu", "target": "https://open.feishu.cn/open-apis/bot/v2/hook/x",
            "secret": "S3"}  # fmt: skip
    assert viewer.post("/models/alerts", data=rule).status_code == 403
    assert operator.post("/models/alerts", data=rule, follow_redirects=False).status_code == 303
    bad = operator.post("/models/alerts", data={**rule, "condition": "below"})
    assert bad.status_code == 422 and "threshold must be a number" in bad.text
    html = page(operator, "/models/alerts", lang="en")
    listed = rows(html, "alert-rules")
    assert len(listed) == 1 and "S3" not in html and 'id="alert-create"' in html
    rule_id = next(iter(listed))
    assert 'id="alert-create"' not in page(viewer, "/models/alerts", lang="en")
    gone = operator.post(f"/models/alerts/{rule_id}/delete", follow_redirects=False)
    assert gone.status_code == 303 and rows(page(operator, "/models/alerts"), "alert-rules") == {}
    assert date.fromisoformat(END)
