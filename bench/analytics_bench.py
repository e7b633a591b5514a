"""Analytics benchmark: growthloop's analyses against chdb (ClickHouse engine, MergeTree ordered by
distinct_id, timestamp) on the same events, in the same run, with the answers compared.

    .venv/bin/python -m bench.analytics_bench --data-dir DIR   # a data dir holding a built demo
    .venv/bin/python -m bench.analytics_bench --size medium    # builds the demo into bench/out

Workload (DESIGN.md): 4-step ordered funnel with a 7-day window, weekly retention matrix (12
cohorts), daily unique users by channel over 90 days; plus every analysis kind timed alone.
Times are medians of --runs runs after one warm-up, growthloop's including building and
compiling the query. Peak RSS is the whole process's (both engines run in it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
TZ = "Asia/Shanghai"
FUNNEL_STEPS = ["product_view", "add_to_cart", "checkout", "purchase"]


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    fn()  # warm-up: file cache, DuckDB/ClickHouse caches, Python imports
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def demo_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    target = OUT / f"analytics-{args.size}"
    if not (target / "events").exists():
        from growthloop.demo import build_demo
        from growthloop.workspace import Workspace

        with Workspace.open(target) as ws:
            build_demo(ws, args.size, 0, date(2026, 10, 31))
    return target


def load_chdb(con: Any, folder: Path) -> Any:
    import chdb.session

    path = folder / "events.parquet"
    con.execute(
        "COPY (SELECT person_id, distinct_id, event, epoch_us(timestamp) AS ts_us, channel"
        f" FROM events) TO '{path}' (FORMAT parquet)"
    )
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
    return sess


def chdb_rows(sess: Any, sql: str) -> list[list[Any]]:
    out = sess.query(sql, "JSONCompact")
    return list(json.loads(str(out))["data"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir")
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-chdb", action="store_true")
    args = parser.parse_args()

    from growthloop.analytics import QueryContext, parse_spec, run_analysis
    from growthloop.workspace import Workspace

    ws = Workspace.open(demo_dir(args), timezone=TZ)
    con = ws.events().con
    first, last = con.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchone()
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    end_day = (last + timedelta(hours=8)).date()
    start_day = end_day - timedelta(days=89)
    now = datetime.combine(end_day + timedelta(days=1), datetime.min.time()) - timedelta(hours=8)
    ctx = QueryContext.for_workspace(ws, now_utc=now)
    window = {"date_from": start_day.isoformat(), "date_to": end_day.isoformat()}
    monday = start_day + timedelta(days=(7 - start_day.weekday()) % 7)
    cohorts = {
        "date_from": monday.isoformat(),
        "date_to": (monday + timedelta(days=83)).isoformat(),
    }
    specs: dict[str, dict[str, Any]] = {
        "funnel": {
            "kind": "funnel",
            "steps": [{"event": e} for e in FUNNEL_STEPS],
            "window": {"value": 7, "unit": "day"},
            "date_range": window,
        },
        "retention": {
            "kind": "retention",
            "period": "week",
            "periods": 12,
            "date_range": cohorts,
        },
        "trends": {
            "kind": "trends",
            "series": [{"math": "unique_users"}],
            "interval": "day",
            "date_range": window,
            "breakdown": {"property": {"key": "channel", "type": "column"}, "limit": 100},
        },
        "lifecycle": {"kind": "lifecycle", "interval": "week", "date_range": window},
        "stickiness": {"kind": "stickiness", "date_range": window},
    }
    ours: dict[str, tuple[float, Any]] = {}
    for name, spec in specs.items():
        parsed = parse_spec(spec)
        ours[name] = timed(lambda parsed=parsed: run_analysis(parsed, ctx), args.runs)
    lines = [
        f"events: {n_events:,} ({first} .. {last} UTC); runs: {args.runs};"
        f" load average {os.getloadavg()[0]:.1f}",
        "",
        "| analysis | growthloop | chdb | ratio | answers equal |",
        "|---|---:|---:|---:|---|",
    ]
    peers: dict[str, tuple[float, bool]] = {}
    if not args.skip_chdb:
        peers = compare_with_chdb(con, ours, start_day, end_day, monday, now, args.runs)
    for name, (seconds, _) in ours.items():
        if name in peers:
            peer, equal = peers[name]
            lines.append(
                f"| {name} | {seconds * 1000:,.0f} ms | {peer * 1000:,.0f} ms"
                f" | {seconds / peer:.2f}x | {'yes' if equal else 'NO'} |"
            )
        else:
            lines.append(f"| {name} | {seconds * 1000:,.0f} ms | | | |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append("")
    lines.append(f"peak RSS of the process (both engines): {peak:,.0f} MB")
    report = "\n".join(lines)
    print(report)
    OUT.mkdir(exist_ok=True)
    (OUT / f"analytics-{n_events}.md").write_text(report + "\n")
    ws.close()


def compare_with_chdb(
    con: Any,
    ours: dict[str, tuple[float, Any]],
    start_day: date,
    end_day: date,
    monday: date,
    now: datetime,
    runs: int,
) -> dict[str, tuple[float, bool]]:
    """The workload's three queries on chdb, and whether they give growthloop's answers."""
    folder = Path(tempfile.mkdtemp(prefix="gl-chdb-"))
    sess = load_chdb(con, folder)
    lo = datetime.combine(start_day, datetime.min.time()) - timedelta(hours=8)
    hi = datetime.combine(end_day + timedelta(days=1), datetime.min.time()) - timedelta(hours=8)
    in_range = f"timestamp >= toDateTime64('{lo}', 6, 'UTC') AND timestamp < toDateTime64('{hi}', 6, 'UTC')"
    conditions = ", ".join(f"event = '{e}'" for e in FUNNEL_STEPS)
    funnel_sql = (
        "SELECT level, count() FROM (SELECT person_id, windowFunnel(604800000000)"
        f"(toUInt64(toUnixTimestamp64Micro(timestamp)), {conditions}) AS level FROM events"
        f" WHERE {in_range} AND event IN ({', '.join(repr(e) for e in FUNNEL_STEPS)})"
        " GROUP BY person_id) WHERE level > 0 GROUP BY level ORDER BY level"
    )
    cohort_lo = datetime.combine(monday, datetime.min.time()) - timedelta(hours=8)
    retention_sql = (
        "WITH pw AS (SELECT DISTINCT person_id, toMonday(toTimeZone(timestamp, 'Asia/Shanghai'))"
        f" AS w FROM events WHERE timestamp >= toDateTime64('{cohort_lo}', 6, 'UTC')"
        f" AND timestamp < toDateTime64('{now}', 6, 'UTC'))"
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
    out: dict[str, tuple[float, bool]] = {}
    seconds, rows = timed(lambda: chdb_rows(sess, funnel_sql), runs)
    levels = {int(r[0]): int(r[1]) for r in rows}
    expected = [sum(v for k, v in levels.items() if k >= s) for s in range(1, 5)]
    out["funnel"] = (seconds, [s.count for s in ours["funnel"][1].steps] == expected)
    seconds, rows = timed(lambda: chdb_rows(sess, retention_sql), runs)
    cells = {(str(r[0]), int(r[1])): int(r[2]) for r in rows}
    mine = {
        (c.cohort.date().isoformat(), n): v
        for c in ours["retention"][1].cohorts
        for n, v in enumerate(c.counts)
        if v
    }
    out["retention"] = (seconds, mine == {k: v for k, v in cells.items() if v})
    seconds, rows = timed(lambda: chdb_rows(sess, trends_sql), runs)
    daily = {(str(r[0]), str(r[1])): float(r[2]) for r in rows}
    result = ours["trends"][1]
    mine_daily = {
        (b.date().isoformat(), line.breakdown_value): v
        for line in result.lines
        for b, v in zip(result.buckets, line.values, strict=True)
        if v
    }
    out["trends"] = (seconds, mine_daily == daily)
    sess.close()
    shutil.rmtree(folder, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
