"""What any correct Parquet import into growthloop's store must at least spend, in parts.

On the Parquet files of `import_bench` (the large demo by default), each part measured alone in
one DuckDB file: the reads every import needs (all columns, JSON validity of properties, repeated
uuids, session gaps per distinct_id), and the write of each column of the `events` table as the
store declares it. The sum of the column writes is the `events-floor` of `import_bench`: the time
an import cannot go below while the event store is a DuckDB table.

    .venv/bin/python -m bench.import_floor --size large --seed 0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

from bench.import_bench import FLOOR_SOURCES, demo_files
from growthloop.store.schema import EVENTS

TARGET = 1_000_000  # events/s, issue #2

READS = {
    "read every column": "SELECT count(uuid), count(event), count(distinct_id), max(timestamp),"
    " sum(length(properties)), count(url), count(referrer), count(utm_source), count(os),"
    " count(city), sum(revenue), count(session_id) FROM p",
    "JSON validity of properties": "SELECT count(*) FILTER (WHERE NOT json_valid(properties))"
    " FROM p",
    "repeated uuids": "SELECT count(*) FROM (SELECT uuid FROM p GROUP BY uuid HAVING count(*) > 1)",
    "session gaps per distinct_id": "SELECT count(*) FROM (SELECT timestamp - lag(timestamp)"
    " OVER (PARTITION BY distinct_id ORDER BY timestamp) AS gap FROM p)"
    " WHERE gap > INTERVAL 30 MINUTE",
}


def _timed(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large", choices=["small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = [str(p) for p in demo_files(args.size, args.seed)["events"]]
    folder = Path(files[0]).parent / "floor"
    folder.mkdir(exist_ok=True)
    db = folder / "floor.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = '4GB'")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE VIEW p AS SELECT * FROM read_parquet([{listed}])")
    rows = int(con.execute("SELECT count(*) FROM p").fetchall()[0][0])
    budget = rows / TARGET
    print(f"{rows:,} events in {len(files)} Parquet files; at {TARGET:,}/s: {budget:.1f} s\n")
    print("| part | seconds | share of the 1M/s budget |\n|---|---:|---:|")
    for name, sql in READS.items():
        s = _timed(con, sql)
        print(f"| {name} | {s:.2f} | {s / budget:.0%} |")
    total = 0.0
    for col in EVENTS.columns:
        source = FLOOR_SOURCES.get(col.name, col.name)
        if source == "NULL":
            continue  # the files have no such column: written as NULL, free
        kind = col.ddl().split(" ", 1)[1].replace(" NOT NULL", "")
        con.execute(f"CREATE OR REPLACE TABLE w (c {kind})")
        s = _timed(con, f"INSERT INTO w SELECT {source} FROM p") + _timed(con, "CHECKPOINT")
        total += s
        print(f"| write events.{col.name} | {s:.2f} | {s / budget:.0%} |")
    print(f"| **sum of the column writes** | **{total:.2f}** | **{total / budget:.0%}** |")
    con.execute(f"CREATE OR REPLACE TABLE events ({', '.join(c.ddl() for c in EVENTS.columns)})")
    cols = [c.name for c in EVENTS.columns]
    select = ", ".join(FLOOR_SOURCES.get(c, c) for c in cols)
    s = _timed(con, f"INSERT INTO events ({', '.join(cols)}) SELECT {select} FROM p")
    s += _timed(con, "CHECKPOINT")
    print(f"| all columns in one INSERT (events-floor) | {s:.2f} | {s / budget:.0%} |")
    con.close()
    db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
