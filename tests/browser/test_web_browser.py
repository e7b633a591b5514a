"""End to end in Chromium: log in, read the overview's real numbers, switch language, log out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from growthloop.analytics.kpis import Period, compute_overview, last_data_day
from growthloop.i18n import Formatter

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], Path]


def expected_cards(site: Site, locale: str) -> dict[str, str]:
    """The overview's numbers for the default period, computed here, formatted for the locale."""
    ws = site.workspace
    with ws.events().con.cursor() as con:
        end = last_data_day(con, ws.settings.tz)
        assert end is not None
        overview = compute_overview(con, Period.last_days(end, 30), ws.settings.tz, "CNY")
    fmt = Formatter(locale)
    out = {}
    for kpi in overview.kpis:
        if kpi.name in ("gmv", "aov"):
            out[kpi.name] = fmt.money(kpi.value)
        elif kpi.name == "conversion_rate":
            out[kpi.name] = fmt.percent(kpi.value, 2)
        else:
            out[kpi.name] = fmt.number(kpi.value)
    return out


NAV_PROBLEMS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  for (const a of document.querySelectorAll('header nav a')) {
    const box = a.getBoundingClientRect();
    const size = parseFloat(getComputedStyle(a).fontSize);
    if (box.left < 0 || box.right > width) out.push(`${a.textContent.trim()}: outside the window`);
    if (box.height > 1.6 * size) out.push(`${a.textContent.trim()}: broken over lines`);
  }
  return out;
}"""
"""Menu links that stick out of the window or break over two lines."""


def test_login_overview_language_logout(site: Site, browser: Any, screenshot: Shot) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))

    page.goto(site.url + "/")
    assert page.url.startswith(site.url + "/login?next=")
    assert page.locator("h1").inner_text() == "Log in"
    screenshot(page, "1-login")
    page.fill("input[name=name]", site.admin)
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    page.wait_for_selector("#kpi-cards")
    page.wait_for_selector("#trend-chart[data-rendered=true]")
    page.wait_for_selector("#channel-chart[data-rendered=true]")

    expected = expected_cards(site, "en")
    shown = {
        card.get_attribute("data-kpi"): card.locator(".kpi-value").inner_text()
        for card in page.locator("#kpi-cards .kpi").all()
    }
    assert shown == expected
    assert int(expected["visitors"].replace(",", "")) > 0
    assert page.locator("#trend-chart svg.main-svg").count() > 0
    assert page.locator("h1").inner_text() == "Overview"
    assert page.evaluate(NAV_PROBLEMS) == []
    screenshot(page, "2-overview-en")
    page.set_viewport_size({"width": 900, "height": 900})
    assert page.evaluate(NAV_PROBLEMS) == []
    page.set_viewport_size({"width": 1360, "height": 900})

    page.click("#language-switch a[data-lang=zh-CN]")
    page.wait_for_selector("#trend-chart[data-rendered=true]")
    assert page.locator("h1").inner_text() == "运营概览"
    zh = expected_cards(site, "zh-CN")
    assert page.locator("[data-kpi=visitors] .kpi-label").inner_text() == "访客数"
    assert page.locator("[data-kpi=gmv] .kpi-value").inner_text() == zh["gmv"]
    assert "年" in page.locator("#period-text").inner_text()
    assert page.evaluate(NAV_PROBLEMS) == []
    screenshot(page, "3-overview-zh")
    # The choice sticks across pages although the browser still asks for English.
    page.click("nav a[href^='/dashboards']")
    assert page.locator("h1").inner_text() == "看板"
    page.click("#language-switch a[data-lang=en]")
    assert page.locator("h1").inner_text() == "Dashboards"
    page.goto(site.url + "/")
    assert page.locator("h1").inner_text() == "Overview"

    page.click("#logout")
    page.wait_for_url(site.url + "/login")
    screenshot(page, "4-logged-out")
    page.goto(site.url + "/")
    assert page.url.startswith(site.url + "/login")

    assert problems == []
    assert all(url.startswith(site.url) for url in requests), "a page fetched from elsewhere"
    context.close()


def test_operator_pins_a_card_to_a_dashboard(site: Site, browser: Any, screenshot: Shot) -> None:
    from growthloop.accounts import add_user

    _, password = add_user(site.workspace, "olga", "operator")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(site.url + "/login")
    page.fill("input[name=name]", "olga")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.click("nav a[href^='/dashboards']")
    page.fill("input[name=name]", "周报")
    page.click("form[action^='/dashboards'] button[type=submit]")
    assert page.locator("h1").inner_text() == "周报"
    page.click("nav a[href^='/?']")
    page.select_option("select[name=choice]", "kpi:gmv")
    page.fill("#pin input[name=name]", "成交额")
    page.select_option("select[name=dashboard_id]", label="周报")
    page.click("#pin button[type=submit]")
    page.wait_for_selector(".item [data-kpi=gmv]")
    assert page.locator(".item h3").inner_text() == "成交额"
    assert page.locator(".item .kpi-value").inner_text() == expected_cards(site, "zh-CN")["gmv"]
    screenshot(page, "dashboard")
    context.close()
