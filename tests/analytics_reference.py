"""Brute-force reference implementations of the analyses, in plain Python over event lists.

They follow the definitions in docs/analytics.md directly (loops over persons and candidate
chains) and share no code with growthloop.analytics, so a test comparing the two can fail.
Also: the helpers that write test events into a real event store.
"""

from __future__ import annotations

import json
import math
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

BASE = datetime(2024, 3, 4, 0, 0, 0)  # a Monday, naive UTC


@dataclass(frozen=True)
class Ev:
    """A test event. `ts` is naive UTC; `columns` fills materialised columns (os, channel...)."""

    person: str
    event: str
    ts: datetime
    props: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))


def insert_events(con: duckdb.DuckDBPyConnection, events: Sequence[Ev]) -> None:
    """Append events to the store's events table (person_id = distinct_id = Ev.person)."""
    if not events:
        return
    extra = sorted({k for e in events for k in e.columns})
    data: dict[str, list[Any]] = {
        "uuid": [e.uuid for e in events],
        "event": [e.event for e in events],
        "distinct_id": [e.person for e in events],
        "person_id": [e.person for e in events],
        "timestamp": [e.ts for e in events],
        "properties": [json.dumps(e.props) for e in events],
        "inserted_at": [BASE for _ in events],
    }
    for key in extra:
        data[key] = [e.columns.get(key) for e in events]
    table = pa.table(data)
    con.register("_new_events", table)
    try:
        con.execute(
            "INSERT INTO events BY NAME SELECT * REPLACE (uuid::UUID AS uuid,"
            " properties::JSON AS properties) FROM _new_events"
        )
    finally:
        con.unregister("_new_events")


def insert_persons(con: duckdb.DuckDBPyConnection, persons: dict[str, dict[str, Any]]) -> None:
    for pid, props in persons.items():
        con.execute(
            "INSERT INTO persons VALUES (?, ?, true, ?::JSON, ?)",
            [pid, BASE, json.dumps(props), BASE],
        )


def clear(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM events")
    con.execute("DELETE FROM persons")


def local(ts: datetime, tz: ZoneInfo) -> datetime:
    return ts.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def bucket_of(ts: datetime, interval: str) -> datetime:
    if interval == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


# ---------------------------------------------------------------- trends


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, DuckDB's quantile_cont)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def aggregate(
    math_name: str, events: Sequence[Ev], value: Callable[[Ev], float | None]
) -> float | None:
    if math_name == "total":
        return float(len(events))
    if math_name == "unique_users":
        return float(len({e.person for e in events}))
    numbers = [v for v in (value(e) for e in events) if v is not None]
    if math_name == "sum":
        return float(sum(numbers))
    if not numbers:
        return None
    if math_name == "avg":
        return sum(numbers) / len(numbers)
    if math_name == "min":
        return min(numbers)
    if math_name == "max":
        return max(numbers)
    return quantile(numbers, 0.5 if math_name == "median" else 0.9)


def trend(
    events: Iterable[Ev],
    *,
    tz: ZoneInfo,
    interval: str,
    start_utc: datetime,
    end_utc: datetime,
    math_name: str,
    value: Callable[[Ev], float | None] = lambda e: None,
    group: Callable[[Ev], str] = lambda e: "",
) -> dict[tuple[str, datetime | None], float | None]:
    """{(group, local bucket): value} plus {(group, None): whole-range value}."""
    cells: dict[tuple[str, datetime | None], list[Ev]] = defaultdict(list)
    for e in events:
        if start_utc <= e.ts < end_utc:
            cells[(group(e), bucket_of(local(e.ts, tz), interval))].append(e)
            cells[(group(e), None)].append(e)
    return {key: aggregate(math_name, evs, value) for key, evs in cells.items()}
