"""End to end in Chromium: an operator creates a quarterly GMV goal, splits it into months and
sees the quarter's actual GMV from the demo, as the analytics layer computes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from growthloop.accounts import add_user
from growthloop.analytics.kpis import Period, compute_overview
from growthloop.i18n import Formatter
from growthloop.ops.targets import months_of, period_containing, split_by_days

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], Path]


def test_quarterly_gmv_goal_split_into_months(site: Site, browser: Any, screenshot: Shot) -> None:
    ws = site.workspace
    _, password = add_user(ws, "goal-owner", "operator")
    today = datetime.now(ws.settings.tz).date()
    quarter = period_containing("quarter", today)
    with ws.events().con.cursor() as con:
        con.execute("SET TimeZone = 'UTC'")
        gmv = compute_overview(con, Period(quarter.start, today), ws.settings.tz, "CNY").kpi("gmv")
    assert gmv is not None and gmv.value > 0
    fmt = Formatter("en")

    context = browser.new_context(locale="en-US", viewport={"width": 1500, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.goto(site.url + "/login")
    page.fill("input[name=name]", "goal-owner")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.click("nav a[href^='/goals']")
    assert page.locator("h1").inner_text() == "Goals"

    page.fill("#new-goal input[name=name]", "Quarter GMV")
    page.select_option("#new-goal select[name=period_kind]", "quarter")
    assert page.input_value("#new-goal input[name=period_start]") == quarter.start.isoformat()
    page.select_option("#new-goal select[name=kpi]", "gmv")
    page.fill("#new-goal input[name=target]", "900000")
    page.click("#new-goal button[type=submit]")
    root = page.locator("#goal-tree tr[data-depth='0']", has_text="Quarter GMV")
    assert root.locator(".goal-actual").inner_text() == fmt.money(gmv.value)
    assert root.locator(".goal-target").inner_text().startswith(fmt.money(900000))

    root.locator("select[name=by]").select_option("days")
    root.locator("button.split").click()
    months = page.locator("#goal-tree tr[data-depth='1']")
    assert months.count() == 3
    targets = split_by_days(900000, months_of(quarter))
    for i, (month, target) in enumerate(zip(months_of(quarter), targets, strict=True)):
        row = months.nth(i)
        assert row.locator(".goal-name").inner_text() == f"Quarter GMV {month.start:%Y-%m}"
        assert row.locator(".goal-target").inner_text().startswith(fmt.money(target))
    screenshot(page, "goal-tree")
    assert problems == []
    context.close()
