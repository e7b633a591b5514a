"""Stored alert rules over SQLite and PostgreSQL: CRUD with roles, versions and clear refusals; the
periodic job sends the demo's outage-day alert once to a real local HTTP receiver (webhook, WeCom,
DingTalk, Feishu formats) and a real SMTP server, retries a refusing robot, and sends nothing twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import delete

from growthloop.jobs import JOBS
from growthloop.models.alert_rules_models import AlertDelivery, AlertRuleRow
from growthloop.models.alert_rules_run import run_due
from growthloop.ops import audit
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.test_outreach_support import Inbox, smtp_inbox
from tests.web_clients import client_for


class Receiver(BaseHTTPRequestHandler):
    """Keeps every POST; /refuse answers like a robot whose keyword check failed."""

    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body))
        refuse = self.path.startswith("/refuse")
        reply = (
            {"errcode": 310000, "errmsg": "keywords not in content"}
            if refuse
            else {"errcode": 0, "code": 0}
        )
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Receiver.received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_inbox()


def clear_rules(ws: Workspace) -> None:
    """The PostgreSQL database is shared by the session: start each test without rules."""
    with ws.sessions.begin() as s:
        s.execute(delete(AlertDelivery))
        s.execute(delete(AlertRuleRow))


RULE = {
    "name": "tracking outage",
    "metric": "events",
    "condition": "anomaly",
    "direction": "drop",
    "destinations": [{"kind": "webhook", "target": "http://127.0.0.1:9/hook"}],
}


def test_rules_crud_roles_versions_and_refusals(demo_ws: Workspace) -> None:
    clear_rules(demo_ws)
    app = create_app(demo_ws)
    ops, viewer = client_for(demo_ws, "operator", app), client_for(demo_ws, "viewer", app)
    assert viewer.post("/api/models/alerts", json=RULE).status_code == 403
    signed = {**RULE, "destinations": [
        {"kind": "dingtalk", "target": "https://oapi.dingtalk.com/robot/send?access_token=x",
         "secret": "SEC123"}
    ]}  # fmt: skip
    made = ops.post("/api/models/alerts", json=signed)
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["destinations"] == [
        {
            "kind": "dingtalk",
            "target": "https://oapi.dingtalk.com/robot/send?access_token=x",
            "secret_set": True,
        }
    ]
    assert "SEC123" not in made.text
    assert [r["id"] for r in viewer.get("/api/models/alerts").json()] == [rule["id"]]
    one = viewer.get(f"/api/models/alerts/{rule['id']}").json()
    assert one["name"] == "tracking outage" and one["deliveries"] == []

    changed = ops.patch(
        f"/api/models/alerts/{rule['id']}",
        json={"version": rule["version"], "min_severity": "high"},
    )
    assert changed.status_code == 200 and changed.json()["min_severity"] == "high"
    assert changed.json()["version"] == rule["version"] + 1
    stale = ops.patch(
        f"/api/models/alerts/{rule['id']}", json={"version": rule["version"], "enabled": False}
    )
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    assert viewer.patch(f"/api/models/alerts/{rule['id']}", json={"version": 2}).status_code == 403
    history = audit.history(demo_ws, 1, "alert_rule", rule["id"])
    assert [h.action for h in history] == ["create", "update"]
    assert "SEC123" not in json.dumps([h.changes for h in history])

    for body, message in [
        ({**RULE, "metric": "dau"}, "metric must be one of"),
        ({**RULE, "condition": "below"}, "threshold must be a number"),
        ({**RULE, "destinations": [{"kind": "email", "target": "ops"}]}, "email destination"),
        ({**RULE, "destinations": [{"kind": "wecom", "target": "ftp://x"}]}, "webhook URL"),
        ({**RULE, "metric": "orders", "event": "signup"}, "event must be only set"),
    ]:
        bad = ops.post("/api/models/alerts", json=body)
        assert bad.status_code == 422 and message in bad.json()["detail"], (body, bad.text)
    assert ops.post("/api/models/alerts", json={**RULE, "destinations": []}).status_code == 422

    assert viewer.delete(f"/api/models/alerts/{rule['id']}").status_code == 403
    assert ops.delete(f"/api/models/alerts/{rule['id']}").status_code == 204
    assert ops.get(f"/api/models/alerts/{rule['id']}").status_code == 404


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_the_job_sends_the_outage_alert_once_everywhere(
    demo_dir: Path,
    metadata_url: str,
    receiver: tuple[str, list[tuple[str, dict[str, Any]]]],
    smtp: tuple[Inbox, int],
) -> None:
    assert JOBS["alerts"] == "growthloop.models.alert_rules_run:run_due"
    base, received = receiver
    inbox, port = smtp
    outage = date.fromisoformat(
        json.loads((demo_dir / "demo-source" / "manifest.json").read_text())["patterns"][
            "outage_day"
        ]
    )
    with Workspace.open(
        demo_dir, metadata_url=metadata_url, smtp_host="127.0.0.1", smtp_port=port
    ) as ws:
        clear_rules(ws)
        app = create_app(ws)
        ops = client_for(ws, "operator", app)
        destinations = [
            {"kind": "webhook", "target": f"{base}/hook"},
            {"kind": "wecom", "target": f"{base}/wecom?key=k1"},
            {"kind": "dingtalk", "target": f"{base}/ding?access_token=t", "secret": "SECd"},
            {"kind": "feishu", "target": f"{base}/feishu/hook"},
            {"kind": "email", "target": "ops@example.cn"},
        ]
        rule = ops.post("/api/models/alerts", json={**RULE, "destinations": destinations}).json()
        refused = ops.post(
            "/api/models/alerts",
            json={
                **RULE,
                "name": "refused",
                "destinations": [{"kind": "wecom", "target": f"{base}/refuse?key=k2"}],
            },
        ).json()
        # The dry run over the whole demo finds the outage as the only drop.
        preview = ops.get(
            f"/api/models/alerts/{rule['id']}/preview",
            params={"start": "2026-08-26", "end": "2026-11-23"},
        ).json()
        assert [p["day"] for p in preview] == [outage.isoformat()]

        # 02:00 UTC the day after the outage = 10:00 in Shanghai: the outage day is complete.
        now = datetime.combine(outage + timedelta(days=1), datetime.min.time()) + timedelta(hours=2)
        first = run_due(ws, now)
        mine = {r["rule"]: r for r in first}
        assert mine[rule["id"]]["sent"] == [outage] and mine[rule["id"]]["error"] is None
        assert mine[refused["id"]]["failed"] == [outage]
        assert "error 310000" in mine[refused["id"]]["error"]
        paths = sorted(urlparse(p).path for p, _ in received)
        assert paths == ["/ding", "/feishu/hook", "/hook", "/refuse", "/wecom"]
        by = {urlparse(p).path: (p, b) for p, b in received}
        assert by["/hook"][1]["day"] == outage.isoformat() and by["/hook"][1]["severity"] == "high"
        assert by["/wecom"][1]["msgtype"] == "markdown"
        assert outage.isoformat() in by["/wecom"][1]["markdown"]["content"]
        query = parse_qs(urlparse(by["/ding"][0]).query)
        assert query["sign"] == [dingtalk_sign("SECd", query["timestamp"][0])]
        assert by["/feishu/hook"][1]["msg_type"] == "text"
        [(to, mail)] = inbox.messages
        assert to == ["ops@example.cn"] and outage.isoformat() in str(mail["Subject"])

        # Run again at the same moment and the next day: nothing new for the sent rule; the
        # refused delivery is retried (attempt 2) and fails again.
        run_due(ws, now)
        run_due(ws, now + timedelta(days=1))
        paths = sorted(urlparse(p).path for p, _ in received)
        assert paths == [
            "/ding",
            "/feishu/hook",
            "/hook",
            "/refuse",
            "/refuse",
            "/refuse",
            "/wecom",
        ]
        assert len(inbox.messages) == 1
        log = ops.get(f"/api/models/alerts/{rule['id']}").json()
        assert [(d["day"], d["status"], d["attempts"]) for d in log["deliveries"]] == [
            (outage.isoformat(), "sent", 1)
        ]
        failed = ops.get(f"/api/models/alerts/{refused['id']}").json()
        assert [(d["status"], d["attempts"]) for d in failed["deliveries"]] == [("failed", 3)]
        assert "310000" in failed["last_error"]
        # A week later the outage is outside the catch-up window: nothing is sent.
        run_due(ws, now + timedelta(days=7))
        assert len(received) == 7
        clear_rules(ws)


def test_the_alert_migration_goes_down_and_up_again(tmp_path: Path, postgres_url: str) -> None:
    import secrets

    from alembic import command
    from sqlalchemy import create_engine, inspect, text

    from growthloop.store.metadata import alembic_config, migrate

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = "growthloop_alerts_" + secrets.token_hex(4)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    pg = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        for url in (f"sqlite:///{tmp_path / 'm.sqlite'}", pg):
            migrate(url)
            engine = create_engine(url)
            tables = set(inspect(engine).get_table_names())
            assert {"model_alert_rules", "model_alert_deliveries"} <= tables
            command.downgrade(alembic_config(url), "0007")
            assert not {"model_alert_rules", "model_alert_deliveries"} & set(
                inspect(engine).get_table_names()
            )
            migrate(url)
            assert "model_alert_deliveries" in inspect(engine).get_table_names()
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
