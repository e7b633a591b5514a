"""Collector benchmark: `growthloop serve` on loopback takes PostHog /batch/ requests of 100
events from concurrent clients for a fixed time; reports acknowledged events/s, acknowledgement
latency (p50, p99), and how long the loader needs to have everything in the event store.

    .venv/bin/python -m bench.collector_bench --seconds 20 --clients 16

The server runs in its own process, as in production; the clients share one asyncio process.
The result JSON (with the machine's load average) goes to bench/out/collector-<clients>.json.
Every event is new (its own uuid, one of 20,000 users, URLs with and without UTM), so the
loader does the full work: identity, sessions, channels, dedupe check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

GROWTHLOOP = str(Path(sys.executable).parent / "growthloop")
OUT = Path(__file__).resolve().parent / "out"
URLS = (
    "https://shop.example/?utm_source=baidu&utm_medium=cpc&utm_campaign=spring",
    "https://shop.example/product/17",
    "https://shop.example/cart",
    "https://m.shop.example/?utm_source=wechat&utm_medium=social",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(key: str, batch: int, size: int) -> bytes:
    base = 1_772_330_400 + batch * 3  # 2026-03-01, a few seconds apart per batch
    events = [
        {
            "event": "$pageview" if i % 5 else "add_to_cart",
            "distinct_id": f"user-{(batch * 37 + i * 101) % 20_000}",
            "uuid": str(uuid.uuid4()),
            "timestamp": base + i * 0.01,
            "properties": {"$current_url": URLS[i % len(URLS)], "$lib": "bench", "i": i},
        }
        for i in range(size)
    ]
    return json.dumps({"api_key": key, "batch": events}).encode()


async def post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, payload: bytes
) -> tuple[int, bytes]:
    """One HTTP/1.1 keep-alive POST /batch/ on an open connection. A load generator this thin
    (like wrk) leaves the shared cores to the server being measured."""
    writer.write(
        b"POST /batch/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (port, len(payload)) + payload
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client(
    port: int, key: str, first: int, step: int, size: int, until: float, latencies: list[float]
) -> int:
    sent = 0
    batch = first
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < until:
            payload = body(key, batch, size)
            t0 = time.perf_counter()
            status, answer = await post(reader, writer, port, payload)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"{status}: {answer.decode()}")
            sent += json.loads(answer)["accepted"]
            batch += step
    finally:
        writer.close()
    return sent


async def drive(
    port: int, key: str, clients: int, size: int, seconds: float
) -> tuple[int, float, list[float]]:
    latencies: list[float] = []
    start = time.monotonic()
    until = start + seconds
    counts = await asyncio.gather(
        *(client(port, key, n, clients, size, until, latencies) for n in range(clients))
    )
    return sum(counts), time.monotonic() - start, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to tell capacity from contention."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(url + "/batch/", json={})
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    from growthloop.workspace import Workspace

    data = Path(tempfile.mkdtemp(prefix="collector-bench-"))
    with Workspace.open(data) as ws:
        key = ws.projects()[0].ingestion_key
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "wb")  # noqa: SIM115 - the server process writes it
    server = subprocess.Popen(
        [GROWTHLOOP, "serve", "--data-dir", str(data), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(url)
        cpu0, client0 = cpu_seconds(server.pid), time.process_time()
        sent, elapsed, latencies = asyncio.run(
            drive(port, key, args.clients, args.batch, args.seconds)
        )
        client_cpu = time.process_time() - client0
        spool = data / "collector" / "spool" / "default"
        t0 = time.monotonic()
        while any(spool.iterdir()):
            time.sleep(0.05)
        drain = time.monotonic() - t0
        server_cpu = cpu_seconds(server.pid) - cpu0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=300)
    with Workspace.open(data) as ws:
        stored = ws.events().count("events")
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    result = {
        "clients": args.clients,
        "batch": args.batch,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "events_acknowledged": sent,
        "events_per_second": round(sent / elapsed),
        "ack_ms_p50": round(pct(0.50), 1),
        "ack_ms_p99": round(pct(0.99), 1),
        "ack_ms_max": round(latencies[-1] * 1000, 1),
        "loader_behind_at_end_s": round(drain, 1),
        "stored_per_second_overall": round(stored / (elapsed + drain)),
        "events_stored": stored,
        "server_cpu_ms_per_1000_events": round(server_cpu / max(stored, 1) * 1e6, 1),
        "client_cpu_ms_per_1000_events": round(client_cpu / max(sent, 1) * 1e6, 1),
        "load_average_1min": os.getloadavg()[0],
        "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    OUT.mkdir(exist_ok=True)
    (OUT / f"collector-{args.clients}.json").write_text(json.dumps(result, indent=2))
    if stored != sent:
        raise SystemExit(f"stored {stored} != acknowledged {sent}")
    shutil.rmtree(data)


if __name__ == "__main__":
    main()
