"""End to end in Chromium: an operator creates a quarterly GMV goal, splits it into months and
sees the quarter's actual GMV from the demo, as the analytics layer computes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
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


def test_a_month_of_plan_content_and_campaign(site: Site, browser: Any, screenshot: Shot) -> None:
    ws = site.workspace
    _, password = add_user(ws, "month-walker", "operator")
    today = datetime.now(ws.settings.tz).date()
    con = ws.events().con.cursor()
    con.execute("SET TimeZone = 'UTC'")
    tz = ws.settings.tz.key
    [(first, last)] = con.execute(
        "SELECT min(CAST(timezone(?, timestamp::TIMESTAMPTZ) AS DATE)),"
        " max(CAST(timezone(?, timestamp::TIMESTAMPTZ) AS DATE))"
        " FROM orders WHERE campaign = 'super_brand_day'",
        [tz, tz],
    ).fetchall()
    warmup = first - timedelta(days=3)
    window = list(Period(warmup, last).utc_bounds(ws.settings.tz))
    [(people,)] = con.execute(
        "SELECT count(DISTINCT person_id) FROM events WHERE event = 'campaign_participate'"
        " AND json_extract_string(properties, '$.campaign') = 'super_brand_day'"
        " AND timestamp >= ? AND timestamp < ?",
        window,
    ).fetchall()
    [(gmv,)] = con.execute(
        "SELECT sum(amount) FROM orders WHERE campaign = 'super_brand_day'"
        " AND timestamp >= ? AND timestamp < ?",
        window,
    ).fetchall()
    con.close()
    fmt = Formatter("zh-CN")

    context = browser.new_context(locale="zh-CN", viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.goto(site.url + "/login")
    page.fill("input[name=name]", "month-walker")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")

    # The monthly plan: a strategy, an action already overdue, then done.
    page.click("nav a[href^='/plans']")
    page.fill("form[action^='/plans/strategies'] input[name=title]", "私域复购")
    page.click("form[action^='/plans/strategies'] button[type=submit]")
    action_form = page.locator("form[action*='/actions']")
    action_form.locator("input[name=title]").fill("社群秒杀")
    action_form.locator("input[name=owner]").fill("month-walker")
    action_form.locator("input[name=due]").fill((today - timedelta(days=1)).isoformat())
    action_form.locator("button[type=submit]").click()
    overdue = page.locator("#plan-table tr.overdue")
    assert overdue.count() == 1 and "社群秒杀" in overdue.inner_text()
    screenshot(page, "1-plan-overdue")
    # The select submits its form on change: wait for that page load, not the current one.
    with page.expect_navigation():
        overdue.locator("select[name=status]").select_option("done")
    assert page.locator("#plan-table tr.overdue").count() == 0

    # Content: an idea through draft and review to a scheduled day on the calendar.
    page.click("nav a[href^='/content']")
    page.fill("form[action^='/content/pieces'] input[name=title]", "双11 小个子穿搭")
    page.fill("form[action^='/content/pieces'] input[name=channel]", "Xiaohongshu")
    page.fill("form[action^='/content/pieces'] input[name=format]", "note")
    page.click("form[action^='/content/pieces'] button[type=submit]")
    row = page.locator("#content-pipeline tr", has_text="双11 小个子穿搭")
    row.locator("button").click()  # -> draft
    row.locator("input[name=reviewer]").fill("王强")
    row.locator("button").click()  # -> review
    row.locator("form:has(input[value=scheduled]) input[name=publish_on]").fill(today.isoformat())
    row.locator("form:has(input[value=scheduled]) button").click()
    cell = page.locator(f"#content-calendar td[data-day='{today.isoformat()}']")
    assert "双11 小个子穿搭" in cell.inner_text() and "已排期" in cell.inner_text()
    screenshot(page, "2-content-calendar")

    # The demo's campaign, planned on its real dates: the monitor shows the real numbers.
    page.click("nav a[href^='/campaigns']")
    form = page.locator("#new-campaign")
    form.locator("input[name=name]").fill("超级品牌日")
    form.locator("input[name=key]").fill("super_brand_day")
    form.locator("input[name=start_date]").fill(first.isoformat())
    form.locator("input[name=end_date]").fill(last.isoformat())
    form.locator("input[name=target_gmv]").fill("40000")
    form.locator("input[name=budget]").fill("baidu=1500, douyin=1500, wechat=1200")
    form.locator("button[type=submit]").click()
    monitor = page.locator("#campaign-monitor")
    assert monitor.locator("[data-metric=participants] .kpi-value").inner_text() == fmt.number(
        people
    )
    assert monitor.locator("[data-metric=gmv] .kpi-value").inner_text() == fmt.money(float(gmv))
    assert people > 0 and gmv > 0
    screenshot(page, "3-campaign-monitor")
    assert problems == []
    context.close()
