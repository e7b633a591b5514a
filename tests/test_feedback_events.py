"""Feedback sent as `$feedback` events through the collector (a real server on 127.0.0.1) is
copied into the inbox by the periodic job once per event uuid (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.jobs import JOBS
from growthloop.ops.feedback import list_entries
from growthloop.ops.feedback_events import copy_feedback_events
from growthloop.scheduler import run_due
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_collector_server import key_of, live_server

NOW = datetime(2026, 11, 25, 0, 0)


@pytest.fixture
def inbox_ws(tmp_path: Path, metadata_url: str) -> Iterator[Workspace]:
    project = f"events_{secrets.token_hex(4)}"
    with Workspace.open(
        tmp_path / "data", metadata_url=metadata_url, default_project=project
    ) as ws:
        yield ws


def event(name: str, props: dict[str, object], minute: int) -> dict[str, object]:
    return {
        "event": name,
        "distinct_id": f"user-{minute}",
        "timestamp": f"2026-11-20T10:{minute:02d}:00Z",
        "uuid": str(uuid.uuid4()),
        "properties": props,
    }


def test_feedback_events_are_copied_once_by_uuid(inbox_ws: Workspace) -> None:
    sent = [
        event("$feedback", {"text": "结账按钮点不动", "tags": ["checkout", "bug"], "rating": 1}, 1),
        event("$feedback", {"$feedback_text": "Love it", "rating": 5}, 2),
        event("feedback", {"text": "物流太慢", "tags": "物流, 价格", "rating": "great"}, 3),
        event("$feedback", {"text": "  ", "rating": 3}, 4),  # no text: skipped
        event("purchase", {"text": "not feedback"}, 5),
    ]
    app = create_app(inbox_ws)
    with live_server(app) as url:
        key = key_of(inbox_ws)
        for e in sent:
            got = httpx.post(f"{url}/capture/", json={**e, "api_key": key})
            assert got.status_code == 200, got.text
    # The store, read independently: which events are feedback, with which uuid.
    con = inbox_ws.events().con
    stored = con.execute(
        "SELECT uuid::VARCHAR, event, properties FROM events ORDER BY timestamp"
    ).fetchall()
    assert [r[0] for r in stored] == [e["uuid"] for e in sent]
    with_text = [
        r[0]
        for r in stored
        if r[1] in ("$feedback", "feedback")
        and any(str(json.loads(r[2]).get(k) or "").strip() for k in ("text", "$feedback_text"))
    ]
    assert len(with_text) == 3

    # The job through the runner, as `growthloop serve` calls it.
    outcomes = run_due(inbox_ws, NOW, {"feedback_events": JOBS["feedback_events"]})
    assert outcomes is not None and outcomes[0].ok, outcomes
    project = inbox_ws.settings.default_project
    assert f"Copied(project='{project}', added=3, skipped=1)" in outcomes[0].result
    # Again, and again directly: nothing is added twice.
    assert copy_feedback_events(inbox_ws, NOW)[0].added == 0
    pid = next(p.id for p in inbox_ws.projects() if p.slug == project)
    entries = {e.event_uuid: e for e in list_entries(inbox_ws, pid)}
    assert sorted(str(u) for u in entries) == sorted(with_text)
    first = entries[str(sent[0]["uuid"])]
    assert (first.text, first.tags, first.rating, first.source, first.distinct_id) == (
        "结账按钮点不动", ["checkout", "bug"], 1, "event", "user-1",
    )  # fmt: skip
    assert first.received_at == datetime(2026, 11, 20, 10, 1)
    third = entries[str(sent[2]["uuid"])]
    assert (third.tags, third.rating) == (["物流", "价格"], None)  # a bad rating is dropped

    # Over the API an operator can copy at once; a later event comes in, earlier ones do not.
    account, _ = add_user(inbox_ws, "fb-op", "operator")
    ops = TestClient(
        app, headers={"Authorization": f"Bearer {create_token(inbox_ws, account.id, 't')[1]}"}
    )
    later = event("$feedback", {"text": "new one", "tags": ["ui"]}, 30)
    with live_server(app) as url:
        assert (
            httpx.post(f"{url}/capture/", json={**later, "api_key": key_of(inbox_ws)}).status_code
            == 200
        )
    synced = ops.post("/api/feedback/sync-events")
    assert synced.json() == {"added": 1, "skipped": 1}, synced.text
    assert ops.post("/api/feedback/sync-events").json() == {"added": 0, "skipped": 1}
    listed = ops.get("/api/feedback", params={"tag": "ui"}).json()
    assert [(x["text"], x["event_uuid"]) for x in listed] == [("new one", later["uuid"])]
