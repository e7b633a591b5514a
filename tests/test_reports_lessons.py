"""Campaign review lessons: written over the API and the campaign page, stored in the metadata
database (SQLite and PostgreSQL), shown in the review's HTML, XLSX and PDF from the stored text."""

from __future__ import annotations

import html
import io
import re
import secrets
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from growthloop.accounts import add_user, create_token
from growthloop.ops import audit
from growthloop.ops.lessons import CampaignLessons
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_web_app import login

PLAN = {
    # Not the demo's super_brand_day: other tests plan that one in the session's PostgreSQL DB.
    "key": f"review_{secrets.token_hex(4)}",
    "name": "超级品牌日",
    "start_date": "2026-10-31",
    "end_date": "2026-11-04",
    "targets": {"orders": 150},
}
WORKED = "抖音直播预热带来了 40% 的参与者"
FAILED = "Android checkout broke on day 2; nobody watched the funnel"
NEXT = "Alert on checkout -> purchase per platform during live campaigns"


def token_client(ws: Workspace, app: object, role: str) -> TestClient:
    account, _ = add_user(ws, f"{role}-{secrets.token_hex(3)}", role)
    token = create_token(ws, account.id, "test")[1]
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})  # type: ignore[arg-type]


def test_lessons_written_in_api_and_page_show_in_every_report_format(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    app = create_app(demo_ws)
    ops, viewer = token_client(demo_ws, app, "operator"), token_client(demo_ws, app, "viewer")
    campaign = ops.post("/api/campaigns", json=PLAN)
    assert campaign.status_code == 201, campaign.text
    cid = campaign.json()["id"]
    url = f"/api/campaigns/{cid}/lessons"

    blank = viewer.get(url).json()
    assert (blank["version"], blank["worked"], blank["next_steps"]) == (0, "", "")
    # Before anything is written the report asks the team to fill the section in.
    empty = viewer.get(f"/reports/campaign/{cid}", params={"lang": "en"})
    assert "For the team to fill in after the review meeting." in empty.text

    assert viewer.put(url, json={"version": 0, "worked": "x"}).status_code == 403
    first = ops.put(url, json={"version": 0, "worked": WORKED, "failed": FAILED})
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["worked"]) == (1, WORKED)
    stale = ops.put(url, json={"version": 0, "next_steps": "lost edit"})
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    second = ops.put(url, json={"version": 1, "next_steps": "draft"}).json()
    assert (second["version"], second["worked"], second["next_steps"]) == (2, WORKED, "draft")
    assert ops.put("/api/campaigns/99999/lessons", json={"version": 0}).status_code == 404
    too_long = ops.put(url, json={"version": 2, "failed": "x" * 20001})
    assert too_long.status_code == 422

    # The campaign page: an operator edits in the form (CSRF token), a viewer only reads.
    browser = TestClient(app)
    _, password = add_user(demo_ws, "lessons-editor", "operator")
    csrf = login(browser, "lessons-editor", password)
    page = browser.get(f"/campaigns/{cid}")
    assert 'name="next_steps"' in page.text and ">draft</textarea>" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text.split("campaign-lessons")[1])
    assert version and version.group(1) == "2"
    form = {"worked": WORKED, "failed": FAILED, "next_steps": NEXT, "version": "2"}
    assert browser.post(f"/campaigns/{cid}/lessons", data=form).status_code == 403  # no CSRF
    saved = browser.post(
        f"/campaigns/{cid}/lessons", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    stored = viewer.get(url).json()
    assert (stored["version"], stored["next_steps"], stored["updated_by"]) == (
        3,
        NEXT,
        "lessons-editor",
    )
    read_only = viewer.get(f"/campaigns/{cid}").text
    assert html.escape(NEXT) in read_only and 'name="next_steps"' not in read_only
    project_id = next(p.id for p in demo_ws.projects() if p.slug == "default")
    trail = audit.history(demo_ws, project_id, "campaign_lessons", cid)
    assert [e.action for e in trail] == ["create", "update", "update"]
    assert trail[-1].changes["next_steps"] == ["draft", NEXT]

    # The review in each format carries the stored answers under their questions.
    review = viewer.get(f"/reports/campaign/{cid}", params={"lang": "en"}).text
    assert "(3 of 3 questions answered)" in review
    for text in (WORKED, NEXT, "What worked, and why?"):
        assert html.escape(text, quote=False) in review
    xlsx = viewer.get(f"/reports/campaign/{cid}.xlsx", params={"lang": "zh-CN"})
    cells = {
        str(c.value)
        for sheet in load_workbook(io.BytesIO(xlsx.content)).worksheets
        for row in sheet.iter_rows()
        for c in row
        if c.value is not None
    }
    assert {WORKED, FAILED, NEXT, "哪些做法有效？为什么？"} <= cells
    pdf = viewer.get(f"/reports/campaign/{cid}.pdf", params={"lang": "zh-CN"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    (tmp_path / "review.pdf").write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "review.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", WORKED) in flat
    assert "经验总结" in text and "已回答3/3个问题" in flat
    assert ops.delete(f"/api/campaigns/{cid}").status_code == 204  # its lessons go with it
    assert ops.get(url).status_code == 404
    # SQLite gives the next campaign the deleted one's id: it must not inherit the lessons.
    again = ops.post("/api/campaigns", json={**PLAN, "key": f"{PLAN['key']}_2"}).json()
    assert ops.get(f"/api/campaigns/{again['id']}/lessons").json()["worked"] == ""
    with demo_ws.sessions() as s:
        left = s.scalars(select(CampaignLessons.campaign_id)).all()
    assert cid not in left
    assert ops.delete(f"/api/campaigns/{again['id']}").status_code == 204
