"""Import benchmark: the demo exported to Parquet and CSV files, imported by growthloop, with
DuckDB's own bulk load and chdb (ClickHouse MergeTree ordered by distinct_id, timestamp)
measured on the same files in the same run. For Parquet, `events-floor` inserts the files'
columns as they are into growthloop's own `events` table: the floor under any import into it.

    .venv/bin/python -m bench.import_bench --size large

Each measurement runs in its own process so its peak RSS can be reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
END = date(2026, 10, 31)


def demo_files(size: str, seed: int) -> dict[str, list[Path]]:
    folder = OUT / f"demo-{size}-{seed}"
    manifest = folder / "files.json"
    if manifest.exists():
        return {k: [Path(p) for p in v] for k, v in json.loads(manifest.read_text()).items()}
    from growthloop.demo import write_demo_files

    t0 = time.perf_counter()
    files = write_demo_files(folder, size=size, seed=seed, end=END)
    print(f"generated {size} demo files in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    manifest.write_text(json.dumps({k: [str(p) for p in v] for k, v in files.items()}))
    return files


def csv_files(parquet: list[Path]) -> list[Path]:
    import duckdb

    out = []
    for path in parquet:
        target = path.with_suffix(".csv")
        if not target.exists():
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.execute(
                "COPY (SELECT * REPLACE (strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp)"
                " FROM read_parquet($p)) TO '" + str(target) + "' (HEADER)",
                {"p": str(path)},
            )
            con.close()
        out.append(target)
    return out


def run_child(task: dict[str, object]) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; returns seconds, rows and peak RSS (MB)."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.import_bench", "--child", json.dumps(task)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{task['what']} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def child(task: dict[str, object]) -> None:
    what, files = str(task["what"]), [str(f) for f in task["files"]]  # type: ignore[attr-defined]
    target = Path(str(task["target"]))
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    t0 = time.perf_counter()
    if what.startswith("growthloop"):
        from growthloop.ingest.files import import_files
        from growthloop.workspace import Workspace

        with Workspace.open(target) as ws:
            rows = import_files(ws, "events", files).rows_stored
    elif what == "events-floor":
        rows = _events_floor(target, files)
    elif what.startswith("duckdb"):
        import duckdb

        con = duckdb.connect(str(target / "raw.duckdb"))
        reader = "read_parquet" if files[0].endswith(".parquet") else "read_csv"
        con.execute(f"CREATE TABLE events AS SELECT * FROM {reader}($f)", {"f": files})
        row = con.execute("SELECT count(*) FROM events").fetchone()
        rows = int(row[0]) if row else 0
        con.close()
    else:
        import chdb.session

        sess = chdb.session.Session(str(target / "chdb"))
        fmt = "Parquet" if files[0].endswith(".parquet") else "CSVWithNames"
        sess.query(
            "CREATE TABLE events ENGINE = MergeTree ORDER BY (distinct_id, timestamp)"
            " SETTINGS allow_nullable_key = 1 AS"
            f" SELECT * FROM file('{files[0]}', {fmt}) LIMIT 0"
        )
        for f in files:
            sess.query(f"INSERT INTO events SELECT * FROM file('{f}', {fmt})")
        rows = int(str(sess.query("SELECT count() FROM events", "CSV")).strip())
        sess.close()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak}))
    shutil.rmtree(target, ignore_errors=True)


# The file column (or expression) each `events` column is written from in the floor runs.
FLOOR_SOURCES = {
    "uuid": "uuid::UUID",
    "person_id": "distinct_id",
    "timestamp": "timezone('UTC', timestamp)",
    "properties": "properties::JSON",
    "path": "url",
    "referrer_domain": "referrer",
    "channel": "utm_source",
    "utm_content": "NULL",
    "utm_term": "NULL",
    "inserted_at": "timezone('UTC', now())",
}


def _events_floor(target: Path, files: list[str]) -> int:
    """The floor under any import into growthloop's store: the Parquet files' columns inserted
    as they are into a fresh store's `events` table (its own DDL and compression), with no
    checks, identity, sessions, attribution or deduplication."""
    from growthloop.store.events import EventStore
    from growthloop.store.schema import EVENTS

    cols = [c.name for c in EVENTS.columns]
    select = ", ".join(FLOOR_SOURCES.get(c, c) for c in cols)
    with EventStore(target / "events.duckdb", memory_limit="4GB") as store:
        store.con.execute(
            f"INSERT INTO events ({', '.join(cols)}) SELECT {select} FROM read_parquet($f)",
            {"f": files},
        )
        store.con.execute("CHECKPOINT")
        return store.count("events")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child")
    parser.add_argument("--skip-chdb", action="store_true")
    parser.add_argument("--formats", default="parquet,csv", help="parquet, csv or both")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    files = demo_files(args.size, args.seed)
    parquet = [p for p in files["events"]]
    formats = args.formats.split(",")
    csv = csv_files(parquet) if "csv" in formats else []
    work = OUT / "import-work"
    rows_out = []
    chosen = [("Parquet", parquet)] * ("parquet" in formats) + [("CSV", csv)] * ("csv" in formats)
    for fmt, paths in chosen:
        size_mb = sum(p.stat().st_size for p in paths) / 2**20
        results = {}
        engines = ["growthloop", "duckdb"] + ([] if args.skip_chdb else ["chdb"])
        if fmt == "Parquet":
            engines.append("events-floor")
        for engine in engines:
            task = {"what": engine, "files": [str(p) for p in paths], "target": str(work / engine)}
            results[engine] = run_child(task)
        gl = results["growthloop"]
        for engine, r in results.items():
            rate = r["rows"] / r["seconds"]
            rows_out.append(
                f"| {fmt} ({size_mb:,.0f} MB) | {engine} | {int(r['rows']):,} | {r['seconds']:.1f} |"
                f" {rate:,.0f} | {gl['seconds'] / r['seconds']:.2f}x | {r['peak_mb']:,.0f} |"
            )
    print(
        "| files | engine | rows | seconds | rows/s | growthloop time / this time | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows_out))


if __name__ == "__main__":
    main()
