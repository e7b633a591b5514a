"""Analytics benchmark: growthloop's analyses against chdb (ClickHouse engine, MergeTree ordered by
distinct_id, timestamp) on the same events, in the same run, with the answers compared.

    .venv/bin/python -m bench.analytics_bench --size medium            # every analysis, 2M events
    .venv/bin/python -m bench.analytics_bench --size large --events 1M,10M,all

Workload (DESIGN.md): 4-step ordered funnel with a 7-day window, weekly retention matrix (12
cohorts), daily unique users by channel over 90 days; plus every other analysis kind timed alone.
`--events` takes samples of the demo's people (by a hash of person_id, so a person comes with all
their events) holding about that many events; each sample is built once into bench/out.

Each engine runs in a process of its own, so each peak RSS is that engine's alone. Times are
medians of --runs runs after one warm-up; growthloop's include building and compiling the query.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
TZ = "Asia/Shanghai"
FUNNEL_STEPS = ["product_view", "add_to_cart", "checkout", "purchase"]
KINDS = (
    "funnel",
    "retention",
    "trends",
    "lifecycle",
    "stickiness",
    "distribution",
    "interval",
    "paths",
    "segment",
    "profile",
)


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds (all threads of the process) of `runs` runs, and the result."""
    fn()  # warm-up: file cache, DuckDB/ClickHouse caches, Python imports
    walls, cpus, result = [], [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), result


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_dir(size: str) -> Path:
    target = OUT / f"analytics-{size}"
    if not (target / "events").exists():
        from growthloop.demo import build_demo
        from growthloop.workspace import Workspace

        with Workspace.open(target) as ws:
            build_demo(ws, size, 0, date(2026, 10, 31))
    return target


def sample_dir(source: Path, events: int) -> Path:
    """The people of `source` whose hash falls under a threshold giving about `events` events."""
    from growthloop.workspace import Workspace

    target = source.parent / f"{source.name}-{events // 1_000_000}M"
    if (target / "events").exists():
        return target
    with Workspace.open(source) as ws:
        total = ws.events().count("events")
    per_10k = max(1, round(10_000 * events / total))
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with Workspace.open(tmp) as ws:
        con = ws.events().con
        src = next((source / "events").glob("*.duckdb"))
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        for table in ("events", "persons", "person_identities"):
            con.execute(
                f"INSERT INTO {table} SELECT * FROM src.{table}"
                f" WHERE hash(person_id) % 10000 < {per_10k}"
            )
        con.execute("DETACH src")
    tmp.rename(target)
    return target


def window_of(con: Any) -> dict[str, Any]:
    """The last 90 local days of the data, the 12 weeks from its first Monday, and "now"."""
    last = con.execute("SELECT max(timestamp) FROM events").fetchall()[0][0]
    end_day = (last + timedelta(hours=8)).date()
    start_day = end_day - timedelta(days=89)
    now = datetime.combine(end_day + timedelta(days=1), datetime.min.time()) - timedelta(hours=8)
    monday = start_day + timedelta(days=(7 - start_day.weekday()) % 7)
    return {"start": start_day, "end": end_day, "monday": monday, "now": now}


def specs_for(w: dict[str, Any], person: str) -> dict[str, dict[str, Any]]:
    window = {"date_from": w["start"].isoformat(), "date_to": w["end"].isoformat()}
    last30 = {
        "date_from": (w["end"] - timedelta(days=29)).isoformat(),
        "date_to": window["date_to"],
    }
    cohorts = {
        "date_from": w["monday"].isoformat(),
        "date_to": (w["monday"] + timedelta(days=83)).isoformat(),
    }
    return {
        "funnel": {
            "kind": "funnel",
            "steps": [{"event": e} for e in FUNNEL_STEPS],
            "window": {"value": 7, "unit": "day"},
            "date_range": window,
        },
        "retention": {"kind": "retention", "period": "week", "periods": 12, "date_range": cohorts},
        "trends": {
            "kind": "trends",
            "series": [{"math": "unique_users"}],
            "interval": "day",
            "date_range": window,
            "breakdown": {"property": {"key": "channel", "type": "column"}, "limit": 100},
        },
        "lifecycle": {"kind": "lifecycle", "interval": "week", "date_range": window},
        "stickiness": {"kind": "stickiness", "date_range": window},
        "distribution": {
            "kind": "distribution",
            "event": {"event": "product_view"},
            "date_range": window,
        },
        "interval": {
            "kind": "interval",
            "from_event": {"event": "product_view"},
            "to_event": {"event": "purchase"},
            "date_range": window,
        },
        "paths": {
            "kind": "paths",
            "start": "product_view",
            "depth": 4,
            "events": FUNNEL_STEPS,
            "date_range": last30,
        },
        "segment": {
            "kind": "segment",
            "segment": {
                "match": "all",
                "conditions": [
                    {"type": "behaviour", "event": {"event": "purchase"}, "days": 30},
                    {
                        "type": "behaviour",
                        "event": {"event": "product_view"},
                        "min_count": 3,
                        "days": 7,
                        "negate": True,
                    },
                ],
            },
            "limit": 0,
        },
        "profile": {"kind": "profile", "person": person, "limit": 100},
    }


def run_ours(data_dir: Path, runs: int, kinds: list[str]) -> dict[str, Any]:
    """growthloop's side: time each analysis; answers of the workload in a comparable form."""
    from growthloop.analytics import QueryContext, parse_spec, run_analysis
    from growthloop.workspace import Workspace

    ws = Workspace.open(data_dir, timezone=TZ)
    con = ws.events().con
    w = window_of(con)
    person = con.execute(
        "SELECT person_id FROM events GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchall()[0][0]
    ctx = QueryContext.for_workspace(ws, now_utc=w["now"])
    times: dict[str, list[float]] = {}
    answers: dict[str, Any] = {}
    for name, spec in specs_for(w, person).items():
        if name not in kinds:
            continue
        parsed = parse_spec(spec)
        wall, cpu, result = timed(lambda parsed=parsed: run_analysis(parsed, ctx), runs)
        times[name] = [wall, cpu]
        if name == "funnel":
            answers[name] = [s.count for s in result.groups[0].steps]
        elif name == "retention":
            answers[name] = sorted(
                [c.cohort.date().isoformat(), n, v]
                for c in result.cohorts
                for n, v in enumerate(c.counts)
                if v
            )
        elif name == "trends":
            answers[name] = sorted(
                [b.date().isoformat(), line.breakdown_value, v]
                for line in result.lines
                for b, v in zip(result.buckets, line.values, strict=True)
                if v
            )
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    ws.close()
    return {"times": times, "answers": answers, "events": events, "rss_mb": peak_rss_mb()}


def run_chdb(data_dir: Path, runs: int) -> dict[str, Any]:
    """ClickHouse's side: load the same events into MergeTree, run the workload's three queries."""
    import chdb.session
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="gl-chdb-"))
    con = duckdb.connect(str(next((data_dir / "events").glob("*.duckdb"))), read_only=True)
    w = window_of(con)
    path = folder / "events.parquet"
    con.execute(
        "COPY (SELECT person_id, distinct_id, event, epoch_us(timestamp) AS ts_us, channel"
        f" FROM events) TO '{path}' (FORMAT parquet)"
    )
    con.close()
    sess = chdb.session.Session(str(folder / "chdb"))
    sess.query(
        "CREATE TABLE events (person_id String, distinct_id String, event String,"
        " timestamp DateTime64(6, 'UTC'), channel Nullable(String))"
        " ENGINE = MergeTree ORDER BY (distinct_id, timestamp)"
    )
    sess.query(
        "INSERT INTO events SELECT person_id, distinct_id, event,"
        f" fromUnixTimestamp64Micro(ts_us, 'UTC'), channel FROM file('{path}', Parquet)"
    )
    path.unlink()

    def rows(sql: str) -> list[list[Any]]:
        return list(json.loads(str(sess.query(sql, "JSONCompact")))["data"])

    lo = datetime.combine(w["start"], datetime.min.time()) - timedelta(hours=8)
    in_range = (
        f"timestamp >= toDateTime64('{lo}', 6, 'UTC')"
        f" AND timestamp < toDateTime64('{w['now']}', 6, 'UTC')"
    )
    conditions = ", ".join(f"event = '{e}'" for e in FUNNEL_STEPS)
    funnel_sql = (
        "SELECT level, count() FROM (SELECT person_id, windowFunnel(604800000000)"
        f"(toUInt64(toUnixTimestamp64Micro(timestamp)), {conditions}) AS level FROM events"
        f" WHERE {in_range} AND event IN ({', '.join(repr(e) for e in FUNNEL_STEPS)})"
        " GROUP BY person_id) WHERE level > 0 GROUP BY level ORDER BY level"
    )
    monday = w["monday"]
    cohort_lo = datetime.combine(monday, datetime.min.time()) - timedelta(hours=8)
    retention_sql = (
        "WITH pw AS (SELECT DISTINCT person_id, toMonday(toTimeZone(timestamp, 'Asia/Shanghai'))"
        f" AS w FROM events WHERE timestamp >= toDateTime64('{cohort_lo}', 6, 'UTC')"
        f" AND timestamp < toDateTime64('{w['now']}', 6, 'UTC'))"
        " SELECT toString(c.w), dateDiff('week', c.w, r.w) AS n, uniqExact(c.person_id)"
        " FROM pw AS c INNER JOIN pw AS r ON c.person_id = r.person_id"
        f" WHERE c.w < toDate('{monday + timedelta(weeks=12)}') AND r.w >= c.w"
        " AND dateDiff('week', c.w, r.w) <= 12 GROUP BY c.w, n ORDER BY c.w, n"
    )
    trends_sql = (
        "SELECT toString(toDate(toTimeZone(timestamp, 'Asia/Shanghai'))) AS d,"
        " ifNull(channel, '$none') AS ch, uniqExact(person_id)"
        f" FROM events WHERE {in_range} GROUP BY d, ch ORDER BY d, ch"
    )
    times: dict[str, list[float]] = {}
    answers: dict[str, Any] = {}
    *times["funnel"], got = timed(lambda: rows(funnel_sql), runs)
    levels = {int(r[0]): int(r[1]) for r in got}
    answers["funnel"] = [sum(v for k, v in levels.items() if k >= s) for s in range(1, 5)]
    *times["retention"], got = timed(lambda: rows(retention_sql), runs)
    answers["retention"] = sorted([str(r[0]), int(r[1]), int(r[2])] for r in got if int(r[2]))
    *times["trends"], got = timed(lambda: rows(trends_sql), runs)
    answers["trends"] = sorted([str(r[0]), str(r[1]), float(r[2])] for r in got)
    sess.close()
    shutil.rmtree(folder, ignore_errors=True)
    return {"times": times, "answers": answers, "rss_mb": peak_rss_mb()}


def child(engine: str, data_dir: Path, runs: int, kinds: list[str]) -> dict[str, Any]:
    """Run one engine's side in a fresh process; its JSON result."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    command = [sys.executable, "-m", "bench.analytics_bench", "--child", engine]
    command += ["--data-dir", str(data_dir), "--runs", str(runs), "--kinds", ",".join(kinds)]
    subprocess.run([*command, "--child-out", str(out)], check=True)
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def parse_events(text: str) -> int | None:
    if text == "all":
        return None
    return int(float(text.upper().removesuffix("M")) * 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", help="a data directory holding a built demo")
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--events", default="all", help="e.g. 1M,10M,all (samples of people)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kinds", default="all", help="analyses to time (default: all)")
    parser.add_argument("--skip-chdb", action="store_true")
    parser.add_argument("--child", choices=["ours", "chdb"], help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = list(KINDS) if args.kinds == "all" else args.kinds.split(",")
    if args.child == "ours":
        data = run_ours(Path(args.data_dir), args.runs, kinds)
    elif args.child == "chdb":
        data = run_chdb(Path(args.data_dir), args.runs)
    if args.child:
        Path(args.child_out).write_text(json.dumps(data))
        return
    source = Path(args.data_dir) if args.data_dir else demo_dir(args.size)
    lines = [
        f"load average at start {os.getloadavg()[0]:.1f}; runs: {args.runs}",
        "",
        "| events | analysis | growthloop | chdb | ratio | growthloop CPU | chdb CPU | CPU ratio"
        " | answers equal |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    rss: list[str] = []
    for text in args.events.split(","):
        wanted = parse_events(text)
        data_dir = source if wanted is None else sample_dir(source, wanted)
        ours = child("ours", data_dir, args.runs, kinds)
        peer = None if args.skip_chdb else child("chdb", data_dir, args.runs, kinds)
        n = f"{ours['events']:,}"
        for name, (wall, cpu) in ours["times"].items():
            if peer and name in peer["times"]:
                p_wall, p_cpu = peer["times"][name]
                equal = "yes" if ours["answers"][name] == peer["answers"][name] else "NO"
                cells = [ms(wall), ms(p_wall), f"{wall / p_wall:.2f}x"]
                cells += [ms(cpu), ms(p_cpu), f"{cpu / p_cpu:.2f}x", equal]
            else:
                cells = [ms(wall), "", "", ms(cpu), "", "", ""]
            lines.append(f"| {n} | {name} | " + " | ".join(cells) + " |")
        peer_rss = f", chdb {peer['rss_mb']:,.0f} MB" if peer else ""
        rss.append(f"- {n} events: peak RSS growthloop {ours['rss_mb']:,.0f} MB{peer_rss}")
        print("\n".join(lines[-len(ours["times"]) :]), flush=True)
    lines += ["", *rss, "", f"load average at end {os.getloadavg()[0]:.1f}"]
    report = "\n".join(lines)
    print(report)
    OUT.mkdir(exist_ok=True)
    (OUT / f"analytics-{source.name}-{args.events.replace(',', '_')}.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
