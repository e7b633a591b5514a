"""Forwarding feedback to the product team's webhook: a real HTTP receiver on 127.0.0.1 gets the
JSON; an error answer and a closed port are recorded as failed attempts (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from growthloop.accounts import add_user
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_reports_schedule import free_port
from tests.test_web_app import login
from tests.web_clients import client_for


class Receiver(BaseHTTPRequestHandler):
    """Keeps every POST body; /fail answers 500."""

    received: ClassVar[list[tuple[str, dict[str, Any], str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.path, json.loads(body), self.headers["Content-Type"]))
        status, answer = (500, b"receiver is down") if self.path == "/fail" else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def inbox_ws(tmp_path: Path, metadata_url: str) -> Iterator[Workspace]:
    project = f"hook_{secrets.token_hex(4)}"
    with Workspace.open(
        tmp_path / "data", metadata_url=metadata_url, default_project=project
    ) as ws:
        yield ws


def test_forward_to_a_real_webhook_and_record_failures(inbox_ws: Workspace, receiver: str) -> None:
    app = create_app(inbox_ws)
    ops, admin = client_for(inbox_ws, "operator", app), client_for(inbox_ws, "admin", app)
    body = {"text": "结账页 Android 白屏", "tags": ["checkout", "android"], "rating": 1,
            "distinct_id": "u-42", "status": "triaged", "received_at": "2026-11-20T10:00:00+08:00"}  # fmt: skip
    entry = ops.post("/api/feedback", json=body).json()
    forward = f"/api/feedback/{entry['id']}/forward"

    no_hook = ops.post(forward)
    assert no_hook.status_code == 422 and "no webhook is set" in no_hook.text
    assert ops.put("/api/feedback/settings", json={"webhook_url": receiver}).status_code == 403
    bad = admin.put("/api/feedback/settings", json={"webhook_url": "ftp://x"})
    assert bad.status_code == 422 and "webhook_url" in bad.text
    assert admin.put("/api/feedback/settings", json={"webhook_url": f"{receiver}/hook"}).json() == {
        "webhook_url": f"{receiver}/hook"
    }
    assert ops.get("/api/feedback/settings").json()["webhook_url"] == f"{receiver}/hook"

    done = ops.post(forward)
    assert done.status_code == 200, done.text
    assert (done.json()["ok"], done.json()["status_code"]) == (True, 200)
    assert done.json()["entry"]["status"] == "forwarded"
    [(path, sent, content_type)] = Receiver.received
    assert path == "/hook" and content_type.startswith("application/json")
    project = inbox_ws.settings.default_project
    assert sent == {
        "type": "growthloop.feedback", "project": project, "id": entry["id"],
        "text": "结账页 Android 白屏", "rating": 1, "tags": ["checkout", "android"],
        "status": "triaged", "assignee": "", "distinct_id": "u-42", "source": "api",
        "received_at": "2026-11-20T02:00:00Z",
        "link": f"http://127.0.0.1:8000/feedback/{entry['id']}?project={project}",
    }  # fmt: skip

    # The receiver fails: the attempt is recorded with its answer; the status stays as it was.
    other = ops.post("/api/feedback", json={"text": "second", "status": "triaged"}).json()
    admin.put("/api/feedback/settings", json={"webhook_url": f"{receiver}/fail"})
    failed = ops.post(f"/api/feedback/{other['id']}/forward")
    assert failed.status_code == 502
    assert "HTTP 500" in failed.json()["detail"] and "receiver is down" in failed.json()["detail"]
    closed = f"http://127.0.0.1:{free_port()}/hook"
    admin.put("/api/feedback/settings", json={"webhook_url": closed})
    refused = ops.post(f"/api/feedback/{other['id']}/forward")
    assert refused.status_code == 502 and "no answer from" in refused.json()["detail"]
    shown = ops.get(f"/api/feedback/{other['id']}").json()
    assert shown["status"] == "triaged" and shown["forwarded_at"] is None
    attempts = [(f["ok"], f["status_code"], f["url"]) for f in shown["forwards"]]
    assert attempts == [(False, 500, f"{receiver}/fail"), (False, None, closed)]
    assert "Connection refused" in shown["forwards"][1]["error"]
    assert len(Receiver.received) == 2  # the first forward and the failed one

    # The entry page shows the attempts; an operator forwards from it (CSRF token).
    admin.put("/api/feedback/settings", json={"webhook_url": f"{receiver}/hook"})
    browser = TestClient(app)
    _, password = add_user(inbox_ws, "page-op", "operator")
    csrf = login(browser, "page-op", password)
    page = browser.get(f"/feedback/{other['id']}", params={"lang": "en"}).text
    assert page.count("failed") >= 2 and "receiver is down" in page
    sent_page = browser.post(
        f"/feedback/{other['id']}/forward", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert sent_page.status_code == 303
    assert ops.get(f"/api/feedback/{other['id']}").json()["status"] == "forwarded"
    assert [p for p, _, _ in Receiver.received] == ["/hook", "/fail", "/hook"]
    # The admin sets the webhook through the page form too.
    admin_browser = TestClient(app)
    _, admin_pw = add_user(inbox_ws, "page-admin", "admin")
    admin_csrf = login(admin_browser, "page-admin", admin_pw)
    assert (
        browser.post("/feedback/webhook", data={"webhook_url": "", "csrf_token": csrf}).status_code
        == 403
    )
    cleared = admin_browser.post(
        "/feedback/webhook",
        data={"webhook_url": "", "csrf_token": admin_csrf},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    assert ops.get("/api/feedback/settings").json() == {"webhook_url": ""}
