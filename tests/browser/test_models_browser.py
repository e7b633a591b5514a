"""End to end in Chromium: the model pages draw their charts, an operator saves an RFM segment from
its row and stores an alert rule through the form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from growthloop.accounts import add_user
from growthloop.analytics import saved_segments

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], Path]


def test_model_pages_save_a_segment_and_an_alert_rule(
    site: Site, browser: Any, screenshot: Shot
) -> None:
    ws = site.workspace
    _, password = add_user(ws, "model-operator", "operator")
    context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.goto(site.url + "/login")
    page.fill("input[name=name]", "model-operator")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.click("nav a[href^='/models']")
    assert page.locator("#model-list tr").count() == 10

    page.click("#model-list a[href^='/models/rfm']")
    page.wait_for_selector("#rfm-rf-chart[data-rendered=true]")
    screenshot(page, "rfm")
    row = page.locator("#rfm-rf tr[data-key=hibernating]")
    size = int(row.locator("td").nth(1).inner_text().replace(",", ""))
    row.locator("button").click()
    page.wait_for_url("**/segments/*")
    segment_id = int(page.url.split("/segments/")[1].split("?")[0])
    found = saved_segments.membership(ws, segment_id)
    assert found is not None and found.size == size > 0

    page.goto(site.url + "/models/anomalies")
    page.wait_for_selector("#anomalies-chart[data-rendered=true]")
    screenshot(page, "anomalies")

    page.goto(site.url + "/models/alerts")
    page.fill("#alert-create input[name=name]", "tracking outage")
    page.select_option("#alert-create select[name=direction]", "drop")
    page.select_option("#alert-create select[name=kind]", "wecom")
    page.fill(
        "#alert-create input[name=target]",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc",
    )
    page.click("#alert-create-submit")
    assert page.locator("#alert-rules tbody tr").count() == 1
    assert "tracking outage" in page.locator("#alert-rules").inner_text()
    screenshot(page, "alerts")
    page.goto(site.url + "/models/rfm?lang=zh-CN")
    assert page.locator("h1").inner_text() == "RFM 模型"
    assert not problems, problems
    context.close()
