"""In Chromium: the demo's win-back EDM against its holdout on the outreach page, numbers checked
against the send log and the event store; then an operator writes a message whose template a
recipient cannot fill, and the preview says who and what before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from growthloop.accounts import add_user
from growthloop.demo.outreach import NAME
from growthloop.ops.outreach_models import Outreach, OutreachRun, OutreachSend

if TYPE_CHECKING:
    from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
Shot = Callable[[Any, str], Path]


def test_the_demo_outreach_against_its_holdout(site: Site, browser: Any, screenshot: Shot) -> None:
    ws = site.workspace
    with ws.sessions() as s:
        item = s.scalar(select(Outreach).where(Outreach.name == NAME))
        assert item is not None
        run = s.scalar(select(OutreachRun).where(OutreachRun.outreach_id == item.id))
        assert run is not None
        rows = s.execute(
            select(OutreachSend.person_id, OutreachSend.status).where(OutreachSend.run_id == run.id)
        ).all()
    groups = {g: {p for p, st in rows if st == g} for g in ("sent", "holdout")}
    with ws.events().con.cursor() as con:
        bought = {
            p
            for (p,) in con.execute(
                "SELECT person_id FROM events WHERE event = 'purchase' AND timestamp >= ?"
                " AND timestamp < ?",
                [run.started_at, run.started_at + timedelta(days=item.window_days)],
            ).fetchall()
        }
    _, password = add_user(ws, "edm-owner", "operator")
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.goto(site.url + "/login")
    page.fill("input[name=name]", "edm-owner")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.click("nav a[href^='/outreach']")
    assert page.locator("h1").inner_text() == "Outreach"
    page.click(f"#outreach-list a:has-text('{NAME}')")
    for group, status in (("receivers", "sent"), ("holdout", "holdout")):
        cells = page.locator(f".outreach-result tr[data-group='{group}'] td").all_inner_texts()
        people, converted = len(groups[status]), len(groups[status] & bought)
        assert cells[1:3] == [f"{people:,}", f"{converted:,}"], (group, cells)
    verdict = page.locator(".outreach-verdict").inner_text()
    assert "p = " in verdict and "95% CI" in verdict
    screenshot(page, "result")  # docs/img/outreach-result.png is one of these

    # A template a recipient cannot fill: the preview names the person and the property.
    page.click("nav a[href^='/outreach']")
    form = page.locator("#new-outreach")
    form.locator("input[name=name]").fill("Birthday SMS")
    form.locator("select[name=channel]").select_option("sms")
    ids = [p for p in sorted(groups["sent"])[:3]]
    form.locator("input[name=person_ids]").fill(", ".join(ids))
    form.locator("textarea[name=body]").fill("Happy birthday {{ person.nickname }}!")
    form.locator("button[type=submit]").click()
    alert = page.locator("#outreach-problems")
    assert "fails for 3 recipients" in alert.inner_text()
    assert f"body: person {ids[0]} has no property 'nickname'" in alert.inner_text()
    page.click("#outreach-send button")
    assert "3 of 3 recipients cannot be rendered" in page.content()
    assert problems == []
    context.close()
