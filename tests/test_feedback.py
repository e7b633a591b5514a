"""Feedback inbox over the API and pages (SQLite and PostgreSQL): entries, triage with versions,
counts by tag per day and week against a brute-force count, and file imports (all or nothing,
errors as file:line)."""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from growthloop.accounts import add_user
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_web_app import login
from tests.web_clients import client_for

TZ = ZoneInfo("Asia/Shanghai")
TAGS = ("checkout", "android", "price", "delivery")


@pytest.fixture
def inbox_ws(tmp_path: Path, metadata_url: str) -> Iterator[Workspace]:
    # A project of its own: the PostgreSQL database is shared by the whole test session.
    project = f"inbox_{secrets.token_hex(4)}"
    with Workspace.open(
        tmp_path / "data", metadata_url=metadata_url, default_project=project
    ) as ws:
        yield ws


def random_entries(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai: days cross over
    out = []
    for i in range(n):
        at = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 32))
        offset = rng.choice(["Z", "+08:00", "-05:00"])
        shown = at.astimezone(
            UTC if offset == "Z" else ZoneInfo("Asia/Shanghai" if offset == "+08:00" else "EST")
        )
        out.append(
            {
                "text": f"反馈 {i}: 结账页面太慢" if i % 2 else f"feedback {i}",
                "tags": rng.sample(TAGS, rng.randrange(0, 3)),
                "rating": rng.choice([None, 1, 2, 3, 4, 5]),
                "received_at": shown.isoformat().replace("+00:00", "Z"),
                "_at": at,
            }
        )
    return out


def brute_counts(
    entries: list[dict[str, Any]], first: date, last: date, week: bool
) -> tuple[dict[str, Counter[date]], Counter[date]]:
    by_tag: dict[str, Counter[date]] = {}
    totals: Counter[date] = Counter()
    for e in entries:
        at = e["_at"]
        assert isinstance(at, datetime)
        day = at.astimezone(TZ).date()
        if not first <= day <= last:
            continue
        key = day - timedelta(days=day.isocalendar().weekday - 1) if week else day
        totals[key] += 1
        tags = e["tags"]
        assert isinstance(tags, list)
        for tag in tags or ["(untagged)"]:
            by_tag.setdefault(tag, Counter())[key] += 1
    return by_tag, totals


def test_entries_triage_and_counts_by_tag(inbox_ws: Workspace) -> None:
    app = create_app(inbox_ws)
    ops, viewer = client_for(inbox_ws, "operator", app), client_for(inbox_ws, "viewer", app)
    entries = random_entries(80, seed=3)
    for e in entries:
        body = {k: v for k, v in e.items() if not k.startswith("_")}
        got = ops.post("/api/feedback", json=body)
        assert got.status_code == 201, got.text
        e["id"] = got.json()["id"]
        assert got.json()["received_at"] == e["_at"].isoformat().replace("+00:00", "Z")
    assert viewer.post("/api/feedback", json={"text": "x"}).status_code == 403
    assert ops.post("/api/feedback", json={"text": "x", "rating": 6}).status_code == 422
    assert ops.post("/api/feedback", json={"text": ""}).status_code == 422

    # Counts per local day and per Monday week, against the brute-force count above.
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    for interval in ("day", "week"):
        got = viewer.get(
            "/api/feedback/counts",
            params={"interval": interval, "date_from": str(first), "date_to": str(last)},
        ).json()
        by_tag, totals = brute_counts(entries, first, last, interval == "week")
        periods = [date.fromisoformat(p) for p in got["periods"]]
        assert periods[0] == (date(2026, 10, 26) if interval == "week" else first)
        assert len(periods) == (6 if interval == "week" else 30)
        assert got["totals"] == [totals[p] for p in periods]
        assert set(got["tags"]) == set(by_tag)
        for tag, row in got["tags"].items():
            assert row == [by_tag[tag][p] for p in periods], (interval, tag)
    bad = viewer.get(
        "/api/feedback/counts", params={"date_from": "2026-11-30", "date_to": "2026-11-01"}
    )
    assert bad.status_code == 422 and "date_to" in bad.text

    # Filters, newest first.
    listed = viewer.get("/api/feedback", params={"tag": "checkout"}).json()
    expected = sorted(
        (e for e in entries if "checkout" in e["tags"]), key=lambda e: e["_at"], reverse=True
    )
    assert [x["id"] for x in listed] == [e["id"] for e in expected]

    # Triage with versions: tags, status, assignee; a stale version is refused.
    target = entries[0]["id"]
    one = viewer.get(f"/api/feedback/{target}").json()
    change = {
        "version": one["version"],
        "status": "triaged",
        "tags": ["checkout", " bug "],
        "assignee": "li.wei",
    }
    assert viewer.patch(f"/api/feedback/{target}", json=change).status_code == 403
    done = ops.patch(f"/api/feedback/{target}", json=change)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["tags"], done.json()["version"]) == (
        "triaged", ["checkout", "bug"], one["version"] + 1,
    )  # fmt: skip
    stale = ops.patch(f"/api/feedback/{target}", json={**change, "status": "done"})
    assert stale.status_code == 409
    bad_status = ops.patch(f"/api/feedback/{target}", json={"version": 2, "status": "open"})
    assert bad_status.status_code == 422
    assert [x["id"] for x in viewer.get("/api/feedback", params={"status": "triaged"}).json()] == [
        target
    ]
    assert [x["id"] for x in viewer.get("/api/feedback", params={"assignee": "li.wei"}).json()] == [
        target
    ]
    history = viewer.get(f"/api/feedback/{target}").json()["history"]
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["changes"]["status"] == ["new", "triaged"]
    assert viewer.get("/api/feedback/999999").status_code == 404

    # The page: counts table and entries; an operator triages through the form (CSRF token).
    browser = TestClient(app)
    _, password = add_user(inbox_ws, "inbox-op", "operator")
    csrf = login(browser, "inbox-op", password)
    page = browser.get("/feedback", params={"tag": "checkout"})
    assert page.status_code == 200
    now_tagged = viewer.get("/api/feedback", params={"tag": "checkout"}).json()
    assert target in [x["id"] for x in now_tagged]  # tagged checkout by the triage above
    assert page.text.count('<tr data-id="') == len(now_tagged)
    form = {"version": "2", "status": "done", "tags": "checkout, bug", "assignee": "li.wei"}
    assert browser.post(f"/feedback/{target}", data=form).status_code == 403  # no CSRF token
    moved = browser.post(
        f"/feedback/{target}", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert moved.status_code == 303
    assert viewer.get(f"/api/feedback/{target}").json()["status"] == "done"
    assert "Done" in viewer.get(f"/feedback/{target}", params={"lang": "en"}).text
    added = browser.post(
        "/feedback", data={"text": "页面加载慢", "tags": "性能，android", "rating": "2", "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 303
    newest = viewer.get("/api/feedback", params={"tag": "性能"}).json()
    assert [(x["text"], x["tags"], x["rating"]) for x in newest] == [
        ("页面加载慢", ["性能", "android"], 2)
    ]


GOOD_CSV = (
    "text,tags,rating,status,assignee,received_at\n"
    '"退款太慢,\n等了一周",物流；价格,1,new,,2026-11-20 10:00\n'
    "app crashes on launch,android|crash,,triaged,zhang,2026-11-20T03:00:00Z\n"
    "love the new search,,5,,,\n"
)
BAD_CSV = (
    "text,tags,rating,status\n"
    "ok row,a,3,new\n"
    "bad rating,a,7,new\n"
    "ok too,,,\n"
    "bad status,b,2,open\n"
    ",c,1,new\n"
)


def test_import_is_all_or_nothing_with_file_and_line(inbox_ws: Workspace) -> None:
    app = create_app(inbox_ws)
    ops, viewer = client_for(inbox_ws, "operator", app), client_for(inbox_ws, "viewer", app)

    def upload(name: str, text: str, client: TestClient = ops) -> Any:
        return client.post("/api/feedback/import", files={"file": (name, text.encode("utf-8"))})

    assert upload("f.csv", GOOD_CSV, viewer).status_code == 403
    bad = upload("feedback.csv", BAD_CSV)
    assert bad.status_code == 422
    assert bad.json()["detail"] == [
        "feedback.csv:3: rating: '7' is not a whole number 1..5",
        "feedback.csv:5: status: 'open' is not one of new, triaged, forwarded, done",
        "feedback.csv:6: text: empty; feedback needs its text",
    ]
    unknown = upload("feedback.csv", "text,comment\nhi,there\n")
    assert unknown.json()["detail"] == [
        "feedback.csv:1: unknown column 'comment' (columns: text, tags, rating, status, assignee,"
        " distinct_id, received_at)"
    ]
    jsonl = upload("f.jsonl", '{"text": "fine"}\n{"text": "broken"\n[1]\n')
    assert jsonl.json()["detail"] == [
        "f.jsonl:2: not JSON (Expecting ',' delimiter)",
        "f.jsonl:3: not a JSON object",
    ]
    assert upload("f.txt", "x").json()["detail"] == ["f.txt: use a .csv or .jsonl file"]
    assert viewer.get("/api/feedback").json() == []  # nothing of any bad file was stored

    good = upload("feedback.csv", GOOD_CSV)
    assert good.json() == {"imported": 3}, good.text
    rows = {r["text"]: r for r in viewer.get("/api/feedback").json()}
    refund = rows["退款太慢,\n等了一周"]
    # No offset: the project's local time (Asia/Shanghai), stored as UTC.
    assert (refund["received_at"], refund["tags"], refund["rating"]) == (
        "2026-11-20T02:00:00Z", ["物流", "价格"], 1,
    )  # fmt: skip
    crash = rows["app crashes on launch"]
    assert (crash["tags"], crash["status"], crash["assignee"]) == (
        ["android", "crash"],
        "triaged",
        "zhang",
    )
    assert {r["source"] for r in rows.values()} == {"import"}
    lines = upload("more.jsonl", '{"text": "a", "tags": ["x"]}\n\n{"text": "b", "rating": 4}\n')
    assert lines.json() == {"imported": 2}
    assert len(viewer.get("/api/feedback").json()) == 5
