"""In Chromium: the team writes a campaign's lessons on its page and finds them in the campaign
review; an operator triages feedback in the inbox. Screenshots go to test-artifacts/, and with
UPDATE_SHOTS=1 to docs/img/ for docs/reports.md and docs/feedback.md."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from growthloop.accounts import add_user
from growthloop.ops.campaigns import create_campaign, delete_campaign, list_campaigns
from growthloop.ops.feedback import add_entry

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], Path]
# docs/img/ only when asked (UPDATE_SHOTS=1), so a test run leaves the tree clean.
SHOTS = Path(__file__).resolve().parents[2] / (
    "docs/img" if os.environ.get("UPDATE_SHOTS") == "1" else "test-artifacts"
)
LESSONS = {
    "worked": "直播间预热 3 天，参与人数超目标 20%",
    "failed": "抖音投放 ROI 只有 0.6，低于其他渠道",
    "next_steps": "下次把抖音预算的一半移到微信社群",
}


def login(page: Any, url: str, name: str, password: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_lessons_in_the_review_and_the_feedback_inbox(
    site: Site, browser: Any, screenshot: Shot
) -> None:
    ws = site.workspace
    who, password = add_user(ws, "review-writer", "operator")
    project_id = next(p.id for p in ws.projects() if p.slug == "default")
    con = ws.events().con.cursor()
    [(first, last)] = con.execute(
        "SELECT min(CAST(timestamp + INTERVAL 8 HOUR AS DATE)),"
        " max(CAST(timestamp + INTERVAL 8 HOUR AS DATE))"
        " FROM orders WHERE campaign = 'super_brand_day'"
    ).fetchall()
    con.close()
    values = {"key": "super_brand_day", "name": "超级品牌日", "type": "promotion", "start_date": first,
              "end_date": last, "targets": {"gmv": 40000, "orders": 150},
              "budget": {"baidu": 1500, "douyin": 1500, "wechat": 1200}}  # fmt: skip
    planned = [c for c in list_campaigns(ws, project_id) if c.key == "super_brand_day"]
    # The ops browser test plans the same campaign; use it when it ran first.
    campaign = planned[0] if planned else create_campaign(ws, project_id, who, values)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        login(page, site.url, "review-writer", password)
        page.goto(f"{site.url}/campaigns/{campaign.id}")
        form = page.locator("#campaign-lessons form")
        for field, text in LESSONS.items():
            form.locator(f"textarea[name={field}]").fill(text)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert "review-writer" in page.locator("#campaign-lessons").inner_text()
        page.goto(f"{site.url}/reports/campaign/{campaign.id}?lang=zh-CN")
        section = page.locator("#report-campaign_lessons")
        shown = section.inner_text()
        assert "已回答 3/3 个问题" in shown
        for text in LESSONS.values():
            assert text in shown
        SHOTS.mkdir(exist_ok=True)
        section.screenshot(path=str(SHOTS / "campaign-review-lessons.png"))
        screenshot(page, "campaign-review")
    finally:
        if not planned:  # the ops browser test plans it again
            delete_campaign(ws, project_id, who, campaign.id)

    # The inbox: feedback of the last days, triaged in the entry's form.
    now = datetime.now(UTC).replace(tzinfo=None)
    samples = [
        ("结账页 Android 白屏，点支付没反应", ["checkout", "android"], 1, 1),
        ("优惠券在购物车里用不了", ["coupon", "checkout"], 2, 2),
        ("物流太慢，等了一周", ["物流"], 2, 9),
        ("搜索很好用", ["search"], 5, 10),
        ("希望支持花呗分期", ["payment"], 4, 16),
        ("app 启动闪退", ["android", "crash"], 1, 17),
    ]
    ids = []
    for text, tags, rating, days_ago in samples:
        at = now - timedelta(days=days_ago)
        entry = add_entry(ws, project_id, who, {"text": text, "tags": tags, "rating": rating,
                                                "received_at": at})  # fmt: skip
        ids.append(entry.id)
    page.goto(f"{site.url}/feedback/{ids[0]}")
    entry_form = page.locator(f"form[action^='/feedback/{ids[0]}?']")
    entry_form.locator("select[name=status]").select_option("triaged")
    entry_form.locator("input[name=assignee]").fill("王强")
    with page.expect_navigation():
        entry_form.locator("button[type=submit]").click()
    assert page.locator("#feedback-status").inner_text() == "已分类"
    page.goto(f"{site.url}/feedback")
    counts = page.locator("#feedback-counts")
    total_row = counts.locator("tr.total td").all_inner_texts()
    assert sum(int(x) for x in total_row[1:]) >= len(samples)
    android = counts.locator("tr[data-tag=android] td").all_inner_texts()
    assert sum(int(x) for x in android[1:]) >= 2
    row = page.locator(f"#feedback-entries tr[data-id='{ids[0]}']")
    assert row.get_attribute("data-status") == "triaged" and "王强" in row.inner_text()
    page.screenshot(path=str(SHOTS / "feedback-inbox.png"), full_page=False)
    assert problems == []
    context.close()
