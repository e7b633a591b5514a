"""Shared pieces of the outreach tests (no tests here): a real SMTP inbox, a real webhook receiver,
and a workspace with persons (email, phone, name) in a real DuckDB event store."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import secrets
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from growthloop.workspace import Workspace

PEOPLE = 200
NO_EMAIL = {"p007", "p042"}


class Inbox:
    """An aiosmtpd handler that keeps every message, or refuses all with `refuse` (e.g. 451)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse = refuse
        self.tries = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tries += 1
        if self.refuse:
            return self.refuse
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def recipients(self) -> list[str]:
        return [r for rcpts, _ in self.messages for r in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def smtp_inbox(refuse: str | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(refuse), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Receiver:
    """A webhook receiver on 127.0.0.1: keeps (headers, JSON body); answers `status`."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), json.loads(body)))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def person_ids() -> list[str]:
    return [f"p{i:03d}" for i in range(PEOPLE)]


def properties(pid: str) -> dict[str, Any]:
    i = int(pid[1:])
    props: dict[str, Any] = {"name": f"User {i}", "city": "Hangzhou" if i % 2 else "Shanghai"}
    if pid not in NO_EMAIL:
        props["email"] = f"{pid}@example.cn"
        props["phone"] = f"+86138{i:08d}"
    return props


def open_workspace(path: Path, metadata_url: str, **settings: Any) -> tuple[Workspace, str, int]:
    """A workspace on `metadata_url` with a project of its own (unique slug: the PostgreSQL
    database is shared by the session) whose event store holds the test persons."""
    ws = Workspace.open(path, metadata_url=metadata_url, **settings)
    return (ws, *new_project(ws))


def new_project(ws: Workspace) -> tuple[str, int]:
    """A project of its own in `ws` (slug, id) whose event store holds the test persons."""
    slug = "out_" + secrets.token_hex(4)
    project = ws.ensure_project(slug)
    now = datetime(2026, 11, 1)
    rows = [(p, now, True, json.dumps(properties(p)), now) for p in person_ids()]
    ws.events(slug).con.executemany("INSERT INTO persons VALUES (?, ?, ?, ?, ?)", rows)
    return slug, project.id


def add_events(ws: Workspace, slug: str, rows: list[tuple[str, str, datetime]]) -> None:
    """(person_id, event, timestamp) rows into the events table."""
    con = ws.events(slug).con
    con.executemany(
        "INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, inserted_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(str(uuid.uuid4()), e, p, p, t, t) for p, e, t in rows],
    )


def brute_holdout(outreach_id: int, people: list[str], percent: float) -> set[str]:
    """The documented split, computed here independently: sha256("<id>:<person>")[:8] / 2^64."""
    out = set()
    for p in people:
        h = hashlib.sha256(f"{outreach_id}:{p}".encode()).digest()
        if int.from_bytes(h[:8], "big") / 2**64 < percent / 100:
            out.add(p)
    return out
