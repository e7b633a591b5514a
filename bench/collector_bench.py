"""Collector benchmark: `growthloop serve` on loopback takes PostHog /batch/ requests of 100
events from concurrent clients; reports acknowledged events/s, acknowledgement latency (p50,
p95, p99), the server's CPU per 100k events (all threads, and the event-loop thread alone), and
how far the loader was behind at the end (it checks that stored == acknowledged).

    .venv/bin/python -m bench.collector_bench          # three runs of 20 s, ~2 minutes
    .venv/bin/python -m bench.collector_bench --seconds 30 --clients 16 --rate 25000

The three runs: growthloop with clients posting back to back (its ceiling); growthloop with the
clients paced to offer `--rate` events/s together (latency counted from when each batch was due,
so falling behind shows); and the floor, a peer that does the least any durable collector
must: a bare ASGI endpoint on the same uvicorn (httptools, uvloop) that parses the JSON,
appends the body to a file and fsyncs it (one writer thread, group commit) before it answers.
The ratio of CPU per event says how far growthloop is above the floor. CPU time comes from
/proc, so it does not depend on other jobs taking the cores, unlike events/s and latency.

Each server runs in its own process, as in production; the clients share one asyncio process.
The result JSON (with the machine's load average) goes to bench/out/collector-<clients>.json
and a Markdown table is printed. Every event is new (its own uuid, one of 20,000 users, URLs
with and without UTM), so the loader does the full work: identity, sessions, channels, dedupe.
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
from typing import Any

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
    port: int,
    key: str,
    first: int,
    step: int,
    size: int,
    until: float,
    latencies: list[float],
    interval: float,
) -> int:
    """Post batches on one connection until `until`: back to back (`interval` 0), or one
    every `interval` seconds, the latency then counted from when the batch was due (so a
    server that falls behind is not hidden by the client waiting for it)."""
    sent = 0
    batch = first
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    due = time.perf_counter() + interval * first / step
    try:
        while time.monotonic() < until:
            payload = body(key, batch, size)
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0 = due
                due += interval
            else:
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
    port: int, key: str, clients: int, size: int, seconds: float, rate: float = 0
) -> tuple[int, float, list[float]]:
    """`rate`: events/s offered by all clients together; 0: as fast as the server answers."""
    latencies: list[float] = []
    start = time.monotonic()
    until = start + seconds
    interval = clients * size / rate if rate else 0.0
    counts = await asyncio.gather(
        *(client(port, key, n, clients, size, until, latencies, interval) for n in range(clients))
    )
    return sum(counts), time.monotonic() - start, latencies


def _ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user + system CPU of the whole process, of its main thread) from Linux /proc. The main
    thread runs the event loop: HTTP, decoding, validation; the others spool and load."""
    tick = os.sysconf("SC_CLK_TCK")
    whole = _ticks(Path(f"/proc/{pid}/stat"))
    main = _ticks(Path(f"/proc/{pid}/task/{pid}/stat"))
    return whole / tick, main / tick


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(url + "/batch/", json={})
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {
        "ack_ms_p50": pct(0.50),
        "ack_ms_p95": pct(0.95),
        "ack_ms_p99": pct(0.99),
        "ack_ms_max": round(ordered[-1] * 1000, 1),
    }


# -- the floor: a bare durable endpoint ---------------------------------------------------------
def floor_app(path: Path) -> Any:
    """An ASGI app that parses each body, appends it to `path` and answers once it is fsync'd
    (one writer thread; the requests that queue up while it syncs share the next fsync)."""
    import threading
    from concurrent.futures import Future

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    pending: list[tuple[bytes, Future[None]]] = []
    cond = threading.Condition()

    def writer() -> None:
        while True:
            with cond:
                while not pending:
                    cond.wait()
                jobs = pending[:]
                pending.clear()
            os.write(fd, b"".join(data for data, _ in jobs))
            os.fdatasync(fd)
            for _, done in jobs:
                done.set_result(None)

    threading.Thread(target=writer, daemon=True).start()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw = b"".join(chunks)
        try:
            events = json.loads(raw)["batch"]
        except (ValueError, KeyError, TypeError):
            events = None
        if not isinstance(events, list):
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        done: Future[None] = Future()
        with cond:
            pending.append((raw + b"\n", done))
            cond.notify()
        await asyncio.wrap_future(done)
        answer = b'{"status":1,"accepted":%d,"rejected":0}' % len(events)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


def serve_floor(port: int, directory: Path) -> None:
    import uvicorn

    uvicorn.run(
        floor_app(directory / "floor.jsonl"), host="127.0.0.1", port=port, log_level="warning"
    )


# -- one run against one server -----------------------------------------------------------------
def measure(
    command: list[str],
    port: int,
    key: str,
    args: argparse.Namespace,
    spool: Path | None,
    log: Path,
    rate: float = 0,
) -> tuple[dict[str, Any], int]:
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}")
        whole0, main0 = cpu_seconds(server.pid)
        sent, elapsed, latencies = asyncio.run(
            drive(port, key, args.clients, args.batch, args.seconds, rate)
        )
        t0 = time.monotonic()
        while spool is not None and any(spool.iterdir()):
            time.sleep(0.05)
        drain = time.monotonic() - t0
        whole1, main1 = cpu_seconds(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=300)
    per_100k = 100_000 / max(sent, 1)
    result = {
        "offered_events_per_second": rate or "as fast as answered",
        "events_acknowledged": sent,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "events_per_second": round(sent / elapsed),
        **percentiles(latencies),
        "loader_behind_at_end_s": round(drain, 1),
        "cpu_s_per_100k_events": round((whole1 - whole0) * per_100k, 2),
        "event_loop_cpu_s_per_100k_events": round((main1 - main0) * per_100k, 2),
    }
    return result, sent


def run_growthloop(
    args: argparse.Namespace, rate: float, name: str
) -> tuple[dict[str, Any], int, int]:
    """One run against a fresh `growthloop serve` (periodic jobs off: only the collector works);
    returns the result, events acknowledged and events stored."""
    from growthloop.workspace import Workspace

    data = Path(tempfile.mkdtemp(prefix="collector-bench-"))
    with Workspace.open(data) as ws:
        key = ws.projects()[0].ingestion_key
    port = free_port()
    command = [GROWTHLOOP, "serve", "--data-dir", str(data), "--port", str(port), "--no-jobs"]
    spool = data / "collector" / "spool" / "default"
    result, sent = measure(command, port, key, args, spool, data / f"{name}.log", rate)
    with Workspace.open(data) as ws:
        stored = ws.events().count("events")
    result["events_stored"] = stored
    if stored == sent:
        shutil.rmtree(data)
    else:
        print(f"{name}: stored {stored} != acknowledged {sent}; kept {data}", file=sys.stderr)
    return result, sent, stored


def run_floor(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="collector-floor-"))
    port = free_port()
    command = [sys.executable, "-m", "bench.collector_bench", "--serve-floor", str(port)]
    command += ["--dir", str(data)]
    result, _ = measure(command, port, "floor", args, None, data / "floor.log")
    shutil.rmtree(data)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument(
        "--rate",
        type=float,
        default=20_000,
        help="events/s offered in the paced run (0: no paced run)",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the bare fsync peer")
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor, args.dir)
        return

    load_before = os.getloadavg()
    runs: dict[str, dict[str, Any]] = {}
    lost = []
    runs["growthloop, as fast as answered"], sent, stored = run_growthloop(args, 0, "max")
    if sent != stored:
        lost.append(f"as fast as answered: stored {stored} != acknowledged {sent}")
    if args.rate:
        name = f"growthloop, {args.rate:,.0f} events/s offered"
        runs[name], sent, stored = run_growthloop(args, args.rate, "paced")
        if sent != stored:
            lost.append(f"paced: stored {stored} != acknowledged {sent}")
    if not args.no_floor:
        runs["floor (bare endpoint: parse, append, fsync)"] = run_floor(args)
    result: dict[str, Any] = {
        "clients": args.clients,
        "batch": args.batch,
        "seconds": args.seconds,
        "runs": runs,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    print(table(runs))
    OUT.mkdir(exist_ok=True)
    (OUT / f"collector-{args.clients}.json").write_text(json.dumps(result, indent=2))
    if lost:
        raise SystemExit("; ".join(lost))


def table(runs: dict[str, dict[str, Any]]) -> str:
    """The runs as a Markdown table; CPU ratios against the floor when it ran."""
    floor = next((r for name, r in runs.items() if name.startswith("floor")), None)
    lines = [
        "| run | events/s | ack p50 | p95 | p99 | CPU s / 100k events (event loop) | x floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in runs.items():
        ratio = (
            f"{r['cpu_s_per_100k_events'] / floor['cpu_s_per_100k_events']:.1f}"
            if floor and r is not floor
            else ""
        )
        lines.append(
            f"| {name} | {r['events_per_second']:,} | {r['ack_ms_p50']} ms | {r['ack_ms_p95']} ms"
            f" | {r['ack_ms_p99']} ms | {r['cpu_s_per_100k_events']}"
            f" ({r['event_loop_cpu_s_per_100k_events']}) | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
