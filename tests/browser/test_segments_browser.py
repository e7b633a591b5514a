"""In Chromium: an operator builds a segment with the rule builder (each condition row shows only
its type's fields), the segment page shows the size the rule gives by brute force over the
demo's events, its size history grows on recompute, and the CSV export holds the members."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from growthloop.accounts import add_user
from growthloop.analytics.saved_segments import list_segments, membership

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], Path]


def test_rule_builder_and_segment_page(site: Site, browser: Any, screenshot: Shot) -> None:
    ws = site.workspace
    _, password = add_user(ws, "segment-builder", "operator")
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.goto(site.url + "/login")
    page.fill("input[name=name]", "segment-builder")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.click("nav a[href^='/segments']")
    assert page.locator("h1").inner_text() == "Segments"

    row = page.locator("fieldset[data-row='0']")
    assert not row.locator("input[name=c0_event]").is_visible()  # no type chosen yet
    row.locator("select[name=c0_type]").select_option("did")
    assert row.locator("input[name=c0_event]").is_visible()
    assert not row.locator("input[name=c0_key]").is_visible()
    row.locator("input[name=c0_event]").fill("purchase")
    row.locator("input[name=c0_count]").fill("2")
    second = page.locator("fieldset[data-row='1']")
    second.locator("select[name=c1_type]").select_option("did_not")
    second.locator("input[name=c1_event]").fill("add_to_cart")
    second.locator("input[name=c1_days]").fill("30")
    page.fill("#new-segment input[name=name]", "Lapsing repeat buyers")
    screenshot(page, "builder")
    page.click("#new-segment button[type=submit]")
    page.wait_for_selector("#segment-size")

    seg = next(
        s
        for s in list_segments(ws, ws.ensure_project(ws.settings.default_project).id)
        if s.name == "Lapsing repeat buyers"
    )
    state = membership(ws, seg.id)
    assert state is not None and state.computed_at is not None
    now: datetime = state.computed_at
    rows = (
        ws.events()
        .con.cursor()
        .execute(
            "SELECT person_id, event, timestamp FROM events"
            " WHERE event IN ('purchase', 'add_to_cart') AND timestamp < ?",
            [now],
        )
        .fetchall()
    )
    bought = Counter(p for p, e, _ in rows if e == "purchase")
    carted = {p for p, e, ts in rows if e == "add_to_cart" and ts >= now - timedelta(days=30)}
    want = {p for p, n in bought.items() if n >= 2} - carted
    assert want
    assert page.locator("#segment-size").inner_text().replace(",", "") == str(len(want))
    assert page.locator("#segment-members a.member").count() == min(50, len(want))

    page.click("#segment-recompute button")
    page.wait_for_selector("#segment-history tbody tr:nth-child(2)")
    assert page.locator("#segment-history tbody tr").count() == 2
    assert page.locator("#segment-history-chart polyline").count() == 1
    screenshot(page, "segment")

    export = page.request.get(
        site.url + (page.locator("#segment-export").get_attribute("href") or "")
    )
    assert export.ok
    people = {r["person_id"] for r in csv.DictReader(io.StringIO(export.text()))}
    state = membership(ws, seg.id)
    assert state is not None and state.size == len(people)
    assert not problems, problems
    context.close()
