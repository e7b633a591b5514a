"""End to end in Chromium: an operator builds one analysis of every kind in its builder page on the
small demo, runs it, and reads the same numbers the engine computes here for the same spec; the
chart has one SVG mark per data point; each is saved to a dashboard, which draws them all again.
Screenshots of the builders go to test-artifacts/, and with UPDATE_DOCS_IMG=1 to docs/img/ for
docs/analytics.md (so an ordinary test run leaves the work tree clean)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import ibis
import pytest

from growthloop.accounts import add_user
from growthloop.analytics import QueryContext, parse_spec, run_analysis

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / ("docs/img" if os.environ.get("UPDATE_DOCS_IMG") == "1" else "test-artifacts")
RANGE = {"date_from": "2026-10-05", "date_to": "2026-11-22"}
SANKEY_LINKS = 12  # static/charts.js draws the 12 largest flows of each depth
Page = Any


def engine(site: Site, spec: dict[str, Any]) -> dict[str, Any]:
    """The engine's result for the spec, computed here on the store (not through the web app)."""
    con = site.workspace.events().con.cursor()
    try:
        now = datetime.now(UTC).replace(tzinfo=None)
        ctx = QueryContext(ibis.duckdb.from_connection(con), site.workspace.settings.tz, now)
        result: dict[str, Any] = run_analysis(parse_spec(spec), ctx).to_dict()
        return result
    finally:
        con.close()


def number(text: str) -> float | None:
    """A number as the page shows it in English: 1,234.5 / 12.3% / – (no value)."""
    text = text.strip()
    if text in ("–", ""):
        return None
    if text.endswith("%"):
        return float(text[:-1].replace(",", "")) / 100
    return float(text.replace(",", ""))


def same(shown: str, value: float | None, digits: int = 2, where: str = "") -> None:
    """The shown text is the value at the page's precision (2 decimals; 1 for percentages)."""
    got = number(shown)
    if value is None:
        assert got is None, f"{where}: shows {shown!r} for no value"
        return
    assert got is not None, f"{where}: shows {shown!r} for {value}"
    tolerance = 0.0005 + 1e-9 if shown.strip().endswith("%") else 0.5 * 10**-digits + 1e-9
    assert abs(got - value) <= tolerance, f"{where}: shows {shown!r}, engine says {value}"


def rows(page: Page, table: str = "#result-table") -> list[list[str]]:
    cells: list[list[str]] = page.eval_on_selector_all(
        f"{table} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    return cells


def run(page: Page) -> None:
    """Press Run and wait for the answer; fail with the page's message on an error."""
    page.evaluate("document.getElementById('analysis-result').dataset.state = 'idle'")
    page.click("#run")
    page.wait_for_selector("#analysis-result[data-state=done], #analysis-result[data-state=error]")
    state = page.get_attribute("#analysis-result", "data-state")
    assert state == "done", page.inner_text("#analysis-status")


def page_spec(page: Page) -> Any:
    """The spec the page put into its URL, parsed as the engine parses specs."""
    [raw] = parse_qs(urlparse(page.url).query)["spec"]
    return parse_spec(json.loads(raw))


def open_builder(page: Page, site: Site, kind: str) -> None:
    page.goto(f"{site.url}/analysis/{kind}?project=default")
    page.wait_for_selector("#analysis-result[data-state=done]")


def set_range(page: Page) -> None:
    page.fill('[name="date_range.date_from"]', RANGE["date_from"])
    page.fill('[name="date_range.date_to"]', RANGE["date_to"])


def add(page: Page, path: str) -> None:
    page.click(f'button[data-action=add][data-path="{path}"]')


# ---- one builder per kind: fill the form, return (spec, SVG selector, expected mark count) ----


def build_trends(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="series.0.event"]', "purchase")
    page.select_option('[name="series.0.math"]', "sum")
    page.fill('[name="series.0.property.key"]', "revenue")
    page.select_option('[name="series.0.property.type"]', "column")
    add(page, "series")
    page.select_option('[name="series.1.event"]', "$pageview")
    page.select_option('[name="series.1.math"]', "unique_users")
    page.select_option("[name=interval]", "week")
    page.check("[name=compare]")
    page.fill("[name=formula]", "A / B")
    set_range(page)
    add(page, "filters")
    page.fill('[name="filters.0.key"]', "os")
    page.select_option('[name="filters.0.type"]', "column")
    page.select_option('[name="filters.0.operator"]', "in")
    page.fill('[name="filters.0.value"]', "iOS, Android")
    page.fill('[name="breakdown.property.key"]', "platform")
    page.fill('[name="breakdown.limit"]', "3")
    spec = {
        "kind": "trends",
        "series": [
            {"event": "purchase", "math": "sum", "property": {"key": "revenue", "type": "column"}},
            {"event": "$pageview", "math": "unique_users"},
        ],
        "formula": "A / B",
        "interval": "week",
        "compare": True,
        "date_range": RANGE,
        "filters": [{"key": "os", "type": "column", "operator": "in", "value": ["iOS", "Android"]}],
        "breakdown": {"property": {"key": "platform", "type": "event"}, "limit": 3},
    }
    run(page)
    result = engine(site, spec)
    shown = rows(page)
    assert len(shown) == len(result["lines"]) == 8  # 3 platforms + $other, two periods
    for line, cells in zip(result["lines"], shown, strict=True):
        assert line["breakdown_value"] in cells[0]
        same(cells[1], line["total"], where=f"{cells[0]} total")
        for i, value in enumerate(line["values"]):
            same(cells[2 + i], value, where=f"{cells[0]} bucket {i}")
    assert any(v for line in result["lines"] for v in line["values"])
    return spec, "path.gl-line", len(result["lines"])


def build_funnel(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="steps.0.event"]', "product_view")
    page.select_option('[name="steps.1.event"]', "add_to_cart")
    add(page, "steps")
    add(page, "steps")
    page.select_option('[name="steps.2.event"]', "checkout")
    page.select_option('[name="steps.3.event"]', "purchase")
    page.fill('[name="window.value"]', "3")
    page.select_option('[name="window.unit"]', "day")
    page.fill('[name="steps.3.name"]', "paid")
    add(page, "steps.3.filters")
    page.fill('[name="steps.3.filters.0.key"]', "revenue")
    page.select_option('[name="steps.3.filters.0.type"]', "column")
    page.select_option('[name="steps.3.filters.0.operator"]', ">")
    page.fill('[name="steps.3.filters.0.value"]', "50")
    add(page, "exclusions")
    page.select_option('[name="exclusions.0.event"]', "points_redeemed")
    page.fill('[name="exclusions.0.to_step"]', "3")
    add(page, "exclusions.0.filters")
    page.fill('[name="exclusions.0.filters.0.key"]', "points")
    page.select_option('[name="exclusions.0.filters.0.operator"]', "is_set")
    set_range(page)
    page.fill('[name="breakdown.property.key"]', "device_type")
    page.select_option('[name="breakdown.property.type"]', "column")
    page.fill('[name="breakdown.limit"]', "2")
    page.select_option("[name=attribution]", "last_touch")
    page.select_option("[name=trend_interval]", "week")
    spec = {
        "kind": "funnel",
        "steps": [
            {"event": "product_view"},
            {"event": "add_to_cart"},
            {"event": "checkout"},
            {
                "event": "purchase",
                "name": "paid",
                "filters": [{"key": "revenue", "type": "column", "operator": ">", "value": 50}],
            },
        ],
        "window": {"value": 3, "unit": "day"},
        "exclusions": [
            {
                "event": "points_redeemed",
                "from_step": 1,
                "to_step": 3,
                "filters": [{"key": "points", "operator": "is_set"}],
            }
        ],
        "date_range": RANGE,
        "breakdown": {"property": {"key": "device_type", "type": "column"}, "limit": 2},
        "attribution": "last_touch",
        "trend_interval": "week",
    }
    run(page)
    result = engine(site, spec)
    shown = rows(page)
    expected = [(g, s) for g in result["groups"] for s in g["steps"]]
    assert len(shown) == len(expected) == 4 * 4  # everyone, the top 2 device types, $other
    for (g, s), cells in zip(expected, shown, strict=True):
        where = f"{g['breakdown_value']} step {s['step']}"
        assert cells[1] == str(s["step"]) and cells[2] == s["name"]
        same(cells[3], s["count"], where=where)
        same(cells[4], s["conversion_from_first"], where=where)
        same(cells[5], s["conversion_from_previous"], where=where)
    trend = rows(page, "#trend-table")
    assert len(trend) == len(result["trend"]) == 7
    for point, cells in zip(result["trend"], trend, strict=True):
        assert cells[0] == point["bucket"][:10]
        same(cells[1], point["entered"], where=f"trend {cells[0]}")
        same(cells[2], point["converted"], where=f"trend {cells[0]}")
        same(cells[3], point["conversion"], where=f"trend {cells[0]}")
    everyone = result["groups"][0]["steps"]
    assert everyone[0]["count"] > everyone[3]["count"] > 0
    # Who dropped off after step 1: the list is as long as the step counts say.
    page.click('#result-table a[data-dropped-step="1"]')
    page.wait_for_selector("#dropped-people li")
    dropped = everyone[0]["count"] - everyone[1]["count"]
    assert page.locator("#dropped-people li").count() == min(dropped, 200)
    assert f"{dropped:,} people reached step 1" in page.inner_text("#dropped-people")
    return spec, "rect.gl-bar", 4 * 4


def build_retention(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="start_event.event"]', "signup")
    page.select_option('[name="return_event.event"]', "purchase")
    page.select_option("[name=period]", "week")
    page.fill("[name=periods]", "4")
    page.select_option("[name=retention_type]", "on_or_after")
    page.select_option("[name=cohort_type]", "first_time")
    set_range(page)
    spec = {
        "kind": "retention",
        "start_event": {"event": "signup"},
        "return_event": {"event": "purchase"},
        "period": "week",
        "periods": 4,
        "retention_type": "on_or_after",
        "cohort_type": "first_time",
        "date_range": RANGE,
    }
    run(page)
    [group] = engine(site, spec)["groups"]
    shown = rows(page)
    assert len(shown) == len(group["cohorts"]) + 1 == 8  # 7 weekly cohorts and the mean
    for cohort, cells in zip(group["cohorts"], shown[:-1], strict=True):
        assert cells[1] == cohort["cohort"][:10]
        same(cells[2], cohort["size"], where=cohort["cohort"])
        for n, value in enumerate(cohort["percentages"]):
            same(cells[3 + n], value, where=f"{cohort['cohort']} period {n}")
    for n, value in enumerate(group["mean"]):
        same(shown[-1][3 + n], value, where=f"mean {n}")
    cells = sum(p is not None for c in group["cohorts"] for p in c["percentages"])
    assert 7 < cells < 7 * 5
    return spec, "rect.gl-cell", cells


def build_paths(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.fill("[name=start]", "/")
    page.select_option("[name=depth]", "3")
    page.fill("[name=limit]", "10")
    add(page, "cleaning")  # /product/[^/]+ -> /product/:id
    set_range(page)
    spec = {
        "kind": "paths",
        "start": "/",
        "depth": 3,
        "events": ["$pageview"],
        "cleaning": [{"regex": "/product/[^/]+", "replacement": "/product/:id"}],
        "limit": 10,
        "date_range": RANGE,
    }
    run(page)
    result = engine(site, spec)
    shown = rows(page)
    assert [c[0] for c in shown] == [" → ".join(p["steps"]) for p in result["paths"]]
    for p, cells in zip(result["paths"], shown, strict=True):
        same(cells[1], p["people"], where=cells[0])
    assert any("/product/:id" in c[0] for c in shown)
    per_depth: dict[int, int] = {}
    for flow in result["flows"]:
        per_depth[flow["depth"]] = per_depth.get(flow["depth"], 0) + 1
    links = sum(min(n, SANKEY_LINKS) for n in per_depth.values())
    assert sorted(per_depth) == [0, 1] and links > 2
    return spec, "path.gl-link", links


def build_lifecycle(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="event.event"]', "purchase")
    page.select_option("[name=interval]", "week")
    set_range(page)
    spec = {
        "kind": "lifecycle",
        "event": {"event": "purchase"},
        "interval": "week",
        "date_range": RANGE,
    }
    run(page)
    result = engine(site, spec)
    shown = rows(page)
    assert len(shown) == len(result["buckets"]) == 7
    for i, cells in enumerate(shown):
        for j, status in enumerate(("new", "returning", "resurrecting", "dormant")):
            same(cells[1 + j], result["counts"][status][i], where=f"{cells[0]} {status}")
    return spec, "rect.gl-bar", 4 * len(result["buckets"])


def build_stickiness(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="event.event"]', "$pageview")
    page.select_option("[name=interval]", "day")
    page.fill('[name="date_range.date_from"]', "2026-11-09")
    page.fill('[name="date_range.date_to"]', "2026-11-22")
    spec = {
        "kind": "stickiness",
        "event": {"event": "$pageview"},
        "interval": "day",
        "date_range": {"date_from": "2026-11-09", "date_to": "2026-11-22"},
    }
    run(page)
    result = engine(site, spec)
    active = rows(page, "#active-table")
    assert len(active) == len(result["active_periods"]) == 14
    for n, cells in zip(result["active_periods"], active, strict=True):
        same(cells[1], n, where=f"active {cells[0]} days")
    daily = rows(page)
    assert len(daily) == len(result["days"])
    for i, cells in enumerate(daily):
        for j, key in enumerate(("dau", "wau", "mau", "dau_mau")):
            same(cells[1 + j], result[key][i], where=f"{cells[0]} {key}")
    return spec, "rect.gl-bar", len(result["active_periods"])


def build_distribution(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="event.event"]', "product_view")
    page.fill("[name=bins]", "1, 2, 3, 5, 10, 20")
    set_range(page)
    spec = {
        "kind": "distribution",
        "event": {"event": "product_view"},
        "bins": [1, 2, 3, 5, 10, 20],
        "date_range": RANGE,
    }
    run(page)
    result = engine(site, spec)
    shown = rows(page)
    assert [c[0] for c in shown] == ["1–1", "2–2", "3–4", "5–9", "10–19", "20+"]
    for b, cells in zip(result["bins"], shown, strict=True):
        same(cells[1], b["people"], where=cells[0])
    stats = page.inner_text("#distribution-stats")
    assert f"People {result['people']:,}" in stats and result["people"] > 100
    return spec, "rect.gl-bar", len(result["bins"])


def build_interval(page: Page, site: Site) -> tuple[dict[str, Any], str, int]:
    page.select_option('[name="from_event.event"]', "signup")
    page.select_option('[name="to_event.event"]', "purchase")
    page.fill("[name=bins]", "0, 3600, 86400, 604800")
    add(page, "from_event.filters")
    page.fill('[name="from_event.filters.0.key"]', "channel")
    page.select_option('[name="from_event.filters.0.type"]', "column")
    page.select_option('[name="from_event.filters.0.operator"]', "!=")
    page.fill('[name="from_event.filters.0.value"]', "Direct")
    set_range(page)
    spec = {
        "kind": "interval",
        "from_event": {
            "event": "signup",
            "filters": [{"key": "channel", "type": "column", "operator": "!=", "value": "Direct"}],
        },
        "to_event": {"event": "purchase"},
        "bins": [0, 3600, 86400, 604800],
        "date_range": RANGE,
    }
    run(page)
    result = engine(site, spec)
    shown = rows(page)
    assert len(shown) == 4
    for b, cells in zip(result["bins"], shown, strict=True):
        same(cells[1], b["people"], where=cells[0])
    assert result["people"] == sum(b["people"] for b in result["bins"]) > 0
    return spec, "rect.gl-bar", 4


BUILDERS: dict[str, Callable[[Page, Site], tuple[dict[str, Any], str, int]]] = {
    "trends": build_trends,
    "funnel": build_funnel,
    "retention": build_retention,
    "paths": build_paths,
    "lifecycle": build_lifecycle,
    "stickiness": build_stickiness,
    "distribution": build_distribution,
    "interval": build_interval,
}


@pytest.fixture(scope="module")
def analyst(site: Site, browser: Any) -> Iterator[Page]:
    """An operator logged in, in English, with page errors collected."""
    _, password = add_user(site.workspace, "analyst", "operator")
    context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.goto(site.url + "/login?lang=en")
    page.fill("input[name=name]", "analyst")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(site.url + "/")
    yield page
    context.close()


def test_every_builder_matches_the_engine_and_saves_to_a_dashboard(
    site: Site, analyst: Page
) -> None:
    page = analyst
    page.click("nav a[href^='/analysis']")
    assert page.locator("#analysis-kinds a").count() == len(BUILDERS) + 2
    SHOTS.mkdir(exist_ok=True)
    marks: list[tuple[str, str, int]] = []
    for i, (kind, build) in enumerate(BUILDERS.items()):
        open_builder(page, site, kind)
        spec, selector, count = build(page, site)
        assert page_spec(page) == parse_spec(spec), f"{kind}: the form built another spec"
        assert page.locator(f"#analysis-chart {selector}").count() == count, kind
        page.screenshot(path=str(SHOTS / f"analysis-{kind}.png"), full_page=True)
        # A shared link opens the same analysis.
        if kind == "retention":
            link = page.url
            page.goto(link)
            page.wait_for_selector("#analysis-result[data-state=done]")
            assert page_spec(page) == parse_spec(spec)
            assert page.locator(f"#analysis-chart {selector}").count() == count
        page.fill("#save-form [name=insight_name]", f"{kind} check")
        if i == 0:
            page.fill("#save-form [name=new_dashboard]", "Analyses")
        else:
            page.select_option("#save-form [name=dashboard_id]", label="Analyses")
        page.click("#save-form button[type=submit]")
        page.wait_for_selector("#open-dashboard")
        marks.append((kind, selector, count))

    page.click("#open-dashboard")
    page.wait_for_selector("h1:has-text('Analyses')")
    page.wait_for_function(
        "n => document.querySelectorAll('.analysis-chart[data-rendered=true]').length === n",
        arg=len(BUILDERS),
    )
    items = page.locator("article.item")
    assert items.count() == len(BUILDERS)
    for n, (kind, selector, count) in enumerate(marks):
        item = items.nth(n)
        assert item.locator("h3").inner_text() == f"{kind} check"
        assert item.locator(".analysis-chart[data-rendered=true]").count() == 1, kind
        assert item.locator(selector).count() == count, f"dashboard {kind}"
    page.screenshot(path=str(SHOTS / "analysis-dashboard.png"), full_page=True)
    assert page.problems == []


def test_user_profile_from_a_funnel_drop_off(site: Site, analyst: Page) -> None:
    page = analyst
    spec = {
        "kind": "funnel",
        "steps": [{"event": "add_to_cart"}, {"event": "purchase"}],
        "date_range": RANGE,
    }
    page.goto(f"{site.url}/analysis/funnel?project=default&spec={json.dumps(spec)}")
    page.wait_for_selector("#analysis-result[data-state=done]")
    page.click('#result-table a[data-dropped-step="1"]')
    page.wait_for_selector("#dropped-people li")
    result = engine(site, spec)
    dropped = result["groups"][0]["steps"][0]["count"] - result["groups"][0]["steps"][1]["count"]
    assert page.locator("#dropped-people li").count() == min(dropped, 200)
    # Saved as a segment: the rule's members are exactly the people who dropped off.
    page.fill("#segment-form [name=segment_name]", "Carts without purchase")
    page.click("#segment-form button[type=submit]")
    page.wait_for_selector("#open-segment")
    assert page.get_attribute("#open-segment", "data-size") == str(dropped)
    first = page.locator("#dropped-people li a").first
    person = first.inner_text()
    first.click()
    page.wait_for_selector("#profile-timeline")
    con = site.workspace.events().con.cursor()
    [(count,)] = con.execute("SELECT count(*) FROM events WHERE person_id = ?", [person]).fetchall()
    ids = [
        r[0]
        for r in con.execute(
            "SELECT distinct_id FROM person_identities WHERE person_id = ? ORDER BY 1", [person]
        ).fetchall()
    ]
    con.close()
    assert page.locator("h2").first.inner_text() == person
    assert page.inner_text("[data-field=event_count]") == f"{count:,}"
    assert page.locator("#profile-identities code").all_inner_texts() == ids
    assert page.locator("#profile-timeline tbody tr").count() == min(count, 200)
    assert "Carts without purchase" in page.locator("#profile-segments a").all_inner_texts()
    # An identified person with several ids and properties, found by distinct_id.
    con = site.workspace.events().con.cursor()
    rich, distinct, properties = con.execute(
        "SELECT p.person_id, max(i.distinct_id), any_value(p.properties) FROM persons p "
        "JOIN person_identities i USING (person_id) WHERE p.is_identified "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    con.close()
    page.fill("#person-search [name=person]", distinct)
    page.click("#person-search button[type=submit]")
    page.wait_for_selector("#profile-timeline")
    assert page.locator("h2").first.inner_text() == rich
    keys = sorted(json.loads(properties))
    assert page.locator("#profile-properties th").all_inner_texts() == keys and keys
    page.screenshot(path=str(SHOTS / "analysis-people.png"))
    assert page.problems == []
