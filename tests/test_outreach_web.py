"""Outreach over HTTP: the API and pages with their roles, the unsubscribe link fetched from a real
mail, and the demo's outreach-vs-holdout result on its page."""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.demo.outreach import NAME
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_outreach_support import NO_EMAIL, Inbox, open_workspace, person_ids, smtp_inbox


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_inbox()


def tokens(ws: Workspace) -> dict[str, dict[str, str]]:
    out = {}
    for role in ("viewer", "operator", "admin"):
        account, _ = add_user(ws, f"{role}-{secrets.token_hex(3)}", role)
        out[role] = {"Authorization": f"Bearer {create_token(ws, account.id, 't')[1]}"}
    return out


def test_the_unsubscribe_link_of_a_real_mail_stops_the_next_send(
    tmp_path: Path, metadata_url: str, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    ws, slug, _ = open_workspace(
        tmp_path / "data", metadata_url, smtp_host="127.0.0.1", smtp_port=port
    )
    try:
        client, auth = TestClient(create_app(ws)), tokens(ws)
        q = {"project": slug}
        body: dict[str, Any] = {
            "name": "Welcome",
            "subject": "Hi {{ person.name }}",
            "body": "Hello {{ person.name }}",  # no link in the body: it is appended
            "person_ids": person_ids()[:30],
            "holdout_percent": 0,
        }
        assert (
            client.post("/api/outreach", params=q, json=body, headers=auth["viewer"]).status_code
            == 403
        )
        made = client.post("/api/outreach", params=q, json=body, headers=auth["operator"])
        assert made.status_code == 201, made.text
        first = made.json()["id"]
        sent = client.post(f"/api/outreach/{first}/send", params=q, headers=auth["operator"]).json()
        assert sent["sent"] == 30 - len(NO_EMAIL & set(person_ids()[:30]))
        _, mail = next((r, m) for r, m in box.messages if r == ["p003@example.cn"])
        text = mail.get_content()
        link = re.search(r"Unsubscribe: (http://127\.0\.0\.1:8000(/unsubscribe/\S+))", text)
        assert link and mail["List-Unsubscribe"] == f"<{link.group(1)}>"
        # The person clicks it: no login, no cookie.
        page = TestClient(create_app(ws)).get(link.group(2), follow_redirects=False)
        assert page.status_code == 200 and "p003@example.cn" in page.text
        # A forged token is refused (and changes nothing: the suppression list is checked below).
        forged = link.group(2)[:-3] + "xyz"
        assert TestClient(create_app(ws)).get(forged, follow_redirects=False).status_code == 422
        # A mail client's one-click unsubscribe (RFC 8058): a POST to the List-Unsubscribe link.
        _, other = next((r, m) for r, m in box.messages if r == ["p005@example.cn"])
        one_click = other["List-Unsubscribe"].strip("<>").removeprefix("http://127.0.0.1:8000")
        posted = TestClient(create_app(ws)).post(
            one_click, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False
        )
        assert posted.status_code == 200
        listed = client.get("/api/outreach/suppressions", params=q, headers=auth["viewer"]).json()
        assert [(s["address"], s["reason"], s["outreach_id"]) for s in listed] == [
            ("p005@example.cn", "unsubscribe", first),
            ("p003@example.cn", "unsubscribe", first),
        ]
        # Clicking again changes nothing.
        assert TestClient(create_app(ws)).get(link.group(2)).status_code == 200
        assert (
            len(client.get("/api/outreach/suppressions", params=q, headers=auth["viewer"]).json())
            == 2
        )
        # The next message to the same people skips p003 and p005 only.
        second = client.post("/api/outreach", params=q, json=body, headers=auth["operator"]).json()
        before = len(box.messages)
        run = client.post(f"/api/outreach/{second['id']}/send", params=q, headers=auth["operator"])
        assert run.json()["sent"] == sent["sent"] - 2
        got = {r for rcpts, _ in box.messages[before:] for r in rcpts}
        assert "p003@example.cn" not in got and "p005@example.cn" not in got
        assert "p004@example.cn" in got
        log = client.get(
            f"/api/outreach/runs/{run.json()['run_id']}/sends",
            params={**q, "status": "skipped"},
            headers=auth["viewer"],
        ).json()
        reasons = {r["person_id"]: r["reason"] for r in log}
        assert reasons["p003"].startswith("suppressed")
        # Taking it off the list lets the address receive again.
        gone = client.delete(
            "/api/outreach/suppressions",
            params={**q, "address": "P003@example.cn"},
            headers=auth["operator"],
        )
        assert gone.json() == {"removed": True}
    finally:
        ws.close()


def test_roles_settings_preview_and_errors_over_the_api(tmp_path: Path, metadata_url: str) -> None:
    ws, slug, _ = open_workspace(tmp_path / "data", metadata_url)
    try:
        client, auth = TestClient(create_app(ws)), tokens(ws)
        q = {"project": slug}
        cap = {"cap_messages": 2, "cap_days": 7, "webhook_headers": {"X-Api-Key": "secret"}}
        assert (
            client.put(
                "/api/outreach/settings", params=q, json=cap, headers=auth["operator"]
            ).status_code
            == 403
        )
        put = client.put("/api/outreach/settings", params=q, json=cap, headers=auth["admin"])
        assert put.status_code == 200 and put.json()["webhook_headers"] == ["X-Api-Key"]
        got = client.get("/api/outreach/settings", params=q, headers=auth["viewer"]).json()
        assert (got["cap_messages"], got["cap_days"]) == (2, 7) and "secret" not in str(got)
        bad = {"name": "x", "body": "{% if %}", "person_ids": ["p001"]}
        answer = client.post("/api/outreach", params=q, json=bad, headers=auth["operator"])
        assert answer.status_code == 422 and "body line 1" in answer.json()["detail"]
        body = {
            "name": "SMS",
            "channel": "sms",
            "body": "{{ person.phone }} hi",
            "person_ids": ["p001", "p007"],
        }
        made = client.post("/api/outreach", params=q, json=body, headers=auth["operator"]).json()
        shown = client.get(
            f"/api/outreach/{made['id']}/preview", params=q, headers=auth["viewer"]
        ).json()
        assert shown["recipients"] == 2 and shown["problem_count"] == 1
        assert shown["problems"] == [
            "body: person p007 has no property 'phone'"
            ' (write {{ person.phone | default("...") }} for a fallback)'
        ]
        assert shown["samples"] == [
            {"person_id": "p001", "subject": "", "body": "+8613800000001 hi"}
        ]
        refused = client.post(
            f"/api/outreach/{made['id']}/send", params=q, headers=auth["operator"]
        )
        assert refused.status_code == 422 and "1 of 2 recipients" in refused.json()["detail"]
        stale = client.patch(
            f"/api/outreach/{made['id']}",
            params=q,
            json={"version": made["version"] + 5, "name": "y"},
            headers=auth["operator"],
        )
        assert stale.status_code == 409
        fixed = client.patch(
            f"/api/outreach/{made['id']}",
            params=q,
            json={"version": made["version"], "body": "{{ person.phone | default('') }} hi"},
            headers=auth["operator"],
        )
        assert fixed.status_code == 200, fixed.text
        assert (
            client.get("/api/outreach/999999", params=q, headers=auth["viewer"]).status_code == 404
        )
        page = client.get(f"/outreach/{made['id']}", params=q, headers=auth["viewer"])
        assert page.status_code == 200 and "+8613800000001 hi" in page.text
        assert (
            client.delete(
                f"/api/outreach/{made['id']}", params=q, headers=auth["viewer"]
            ).status_code
            == 403
        )
        assert (
            client.delete(
                f"/api/outreach/{made['id']}", params=q, headers=auth["operator"]
            ).status_code
            == 204
        )
    finally:
        ws.close()


def test_the_demo_shows_its_outreach_against_the_holdout(demo_dir: Path, tmp_path: Path) -> None:
    # A copy of the demo's metadata (the demo is shared by the run: never write to it).
    copy = tmp_path / "metadata.sqlite"
    shutil.copy(demo_dir / "metadata.sqlite", copy)
    with Workspace.open(demo_dir, metadata_url=f"sqlite:///{copy}") as ws:
        client, auth = TestClient(create_app(ws)), tokens(ws)
        listed = client.get("/api/outreach", headers=auth["viewer"]).json()
        (demo,) = [m for m in listed if m["name"] == NAME]
        runs = client.get(f"/api/outreach/{demo['id']}/results", headers=auth["viewer"]).json()
        (run,) = runs
        start = datetime.fromisoformat(run["started_at"])
        assert start == datetime(2026, 11, 9, 2, 0)
        sends = client.get(
            f"/api/outreach/runs/{run['run_id']}/sends",
            params={"limit": 10000},
            headers=auth["viewer"],
        ).json()
        groups = {
            g: [s["person_id"] for s in sends if s["status"] == st]
            for g, st in (("receivers", "sent"), ("holdout", "holdout"))
        }
        # Brute force from the event store: who had bought, who lapsed, who bought in the window.
        with ws.events("default").con.cursor() as con:
            rows = con.execute(
                "SELECT person_id, timestamp FROM events WHERE event = 'purchase'"
            ).fetchall()
        last: dict[str, datetime] = {}
        for p, t in rows:
            if t < start:
                last[p] = max(last.get(p, t), t)
        lapsed = {p for p, t in last.items() if t < start - timedelta(days=14)}
        assert set(groups["receivers"]) | set(groups["holdout"]) == lapsed
        assert len(groups["holdout"]) == pytest.approx(
            0.2 * len(lapsed), abs=4 * (0.16 * len(lapsed)) ** 0.5
        )
        bought = {p for p, t in rows if start <= t < start + timedelta(days=14)}
        for g in ("receivers", "holdout"):
            assert run[g]["people"] == len(groups[g])
            assert run[g]["converted"] == len(bought & set(groups[g]))
        # The page shows the same numbers and the comparison.
        page = client.get(f"/outreach/{demo['id']}", headers=auth["viewer"])
        assert page.status_code == 200
        row = re.search(r'data-group="holdout">(.*?)</tr>', page.text, re.S)
        assert row and f">{run['holdout']['converted']}<" in row.group(1)
        assert f"p = {run['comparison']['p_value']:.3f}" in page.text
        assert "outreach-verdict" in page.text
