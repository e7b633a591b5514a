"""Crash safety of `growthloop serve`: a second process sends a bounded number of batches, the
server is killed with SIGKILL while it loads, then restarted. Every acknowledged event is stored
exactly once. While the server runs, `growthloop import` stops with a clear message."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from growthloop.workspace import Workspace

GROWTHLOOP = str(Path(sys.executable).parent / "growthloop")
BATCHES, PER_BATCH = 240, 100

# The sender: sends each batch until it is acknowledged (what every SDK does), so a batch whose
# answer was lost in the crash is sent again; dedupe by uuid must keep it once.
SENDER = r"""
import json, sys, time, uuid, httpx
url, key, batches, per_batch, acks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ns = uuid.UUID("2b7f3a4e-0c1d-4e5f-8a9b-0c1d2e3f4a5b")
with httpx.Client(timeout=10) as client, open(acks, "a") as out:
    for b in range(batches):
        events = [{"event": "crash-test", "distinct_id": f"user-{(b * per_batch + i) % 500}",
                   "uuid": str(uuid.uuid5(ns, f"{b}:{i}")),
                   "timestamp": f"2026-03-01T{(b * per_batch + i) // 3600 % 24:02d}:{(b * per_batch + i) // 60 % 60:02d}:{(b * per_batch + i) % 60:02d}Z",
                   "properties": {"batch": b, "i": i}} for i in range(per_batch)]
        while True:
            try:
                r = client.post(url + "/batch/", json={"api_key": key, "batch": events})
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        out.write(json.dumps({"batch": b, "accepted": r.json()["accepted"]}) + "\n")
        out.flush()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        # Periodic jobs off: this test is about the collector, and a job's own failure would
        # put a traceback in the log that is not the collector's.
        [GROWTHLOOP, "serve", "--data-dir", str(data_dir), "--port", str(port), "--no-jobs"],
        stdout=open(log, "ab"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.post(f"http://127.0.0.1:{port}/batch/", json={}).status_code in (400, 401):
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def acked(path: Path) -> list[dict[str, int]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


@pytest.mark.slow
def test_kill_9_while_loading_loses_nothing_and_stores_nothing_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Workspace.open(data) as ws:
        key = ws.ensure_project(ws.settings.default_project).ingestion_key
    port, log, acks = free_port(), tmp_path / "server.log", tmp_path / "acks.jsonl"
    server = serve(data, port, log)
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, f"http://127.0.0.1:{port}", key, str(BATCHES), str(PER_BATCH), str(acks)]
    )  # fmt: skip
    try:
        kills = []
        for fraction in (0.3, 0.6):
            deadline = time.monotonic() + 120
            while len(acked(acks)) < BATCHES * fraction:
                assert time.monotonic() < deadline, "sender made no progress"
                time.sleep(0.01)
            spool = data / "collector" / "spool" / "default"
            kills.append(sorted(p.name for p in spool.iterdir()))
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            server = serve(data, port, log)
        if kills == kills:  # the store is held by the server: an import must say so, not wait
            rows = tmp_path / "rows.jsonl"
            rows.write_text(
                '{"event": "x", "distinct_id": "d", "timestamp": "2026-01-01T00:00:00Z"}\n'
            )
            result = subprocess.run(
                [GROWTHLOOP, "import", "events", str(rows), "--data-dir", str(data)],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert result.returncode != 0
            assert "in use by another growthloop process" in result.stdout + result.stderr
        assert sender.wait(timeout=300) == 0
    finally:
        sender.kill()
        server.send_signal(signal.SIGINT)  # graceful: spool closed and loaded before exit
        server.wait(timeout=120)
    # Unloaded segments existed at each kill, so the kills fell while there was work to load.
    assert all(
        any(name.endswith(".jsonl") or name.endswith(".part") for name in k) for k in kills
    ), kills
    answers = acked(acks)
    assert [a["batch"] for a in answers] == list(range(BATCHES))
    acknowledged = sum(a["accepted"] for a in answers)
    with Workspace.open(data) as ws:
        total, distinct, batches = ws.events().con.execute(
            "SELECT count(*), count(DISTINCT uuid), count(DISTINCT properties->>'batch') FROM events"
        ).fetchone() or (0, 0, 0)
    assert acknowledged == BATCHES * PER_BATCH
    assert (total, distinct, batches) == (acknowledged, acknowledged, BATCHES)
    assert "Traceback" not in log.read_text()
