"""The event store as Parquet: every table under one directory, events Hive-partitioned by UTC
date (`events/date=YYYY-MM-DD/`), so Spark (or any Parquet reader) can run growthloop's analyses.

The export is written to a temporary directory beside the target and renamed into place, so a
reader never sees half an export, and running it again replaces the previous export whole.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from growthloop.store.events import SCHEMA_VERSION, EventStore
from growthloop.store.schema import EVENTS, ORDERS, TABLES, Table

MANIFEST = "growthloop-export.json"
"""The file that marks a directory as a growthloop export (and says what is in it)."""

PARTITION = "date"
"""The events' partition column: the UTC date of `timestamp`."""

# Tables filtered by --from/--to, and the column that dates their rows (UTC date of a timestamp,
# or the row's own day). The others (people, identities, content items) are exported whole.
_DATED = {"events": "timestamp", "orders": "timestamp", "spend": "date", "content_metrics": "date"}


class ExportError(ValueError):
    """The export cannot be written where asked."""


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    rows: dict[str, int]
    partitions: int
    """How many `date=` directories the events have."""


def _column_sql(table: Table, name: str) -> str:
    """How a column is written: UUIDs and JSON as text, timestamps as UTC instants (Parquet
    isAdjustedToUTC, which Spark and pyarrow read as UTC whatever their session time zone)."""
    sql_type = table.column(name).sql_type.removesuffix(" NOT NULL")
    quoted = f'"{name}"'
    if sql_type in ("UUID", "JSON"):
        return f"CAST({quoted} AS VARCHAR) AS {quoted}"
    if sql_type == "TIMESTAMP":
        return f"CAST({quoted} AS TIMESTAMPTZ) AS {quoted}"
    return quoted


def _where(table: Table, date_from: date | None, date_to: date | None) -> tuple[str, list[Any]]:
    column = _DATED.get(table.name)
    if column is None or (date_from is None and date_to is None):
        return "", []
    day = f'CAST("{column}" AS DATE)'
    parts, params = [], []
    if date_from is not None:
        parts.append(f"{day} >= ?")
        params.append(date_from)
    if date_to is not None:
        parts.append(f"{day} <= ?")
        params.append(date_to)
    return " WHERE " + " AND ".join(parts), params


def _check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise ExportError(
            f"{target} is not empty and holds no {MANIFEST}: choose an empty or new directory"
            " (an earlier growthloop export there is replaced)"
        )


def export_parquet(
    store: EventStore,
    target: Path,
    *,
    project: str,
    time_zone: str,
    date_from: date | None = None,
    date_to: date | None = None,
) -> ExportSummary:
    """Write every table of `store` as Parquet under `target` (replacing an earlier export).

    `date_from` / `date_to` (inclusive UTC dates) limit the dated tables: events and orders by
    the UTC date of their timestamp, spend and content metrics by their day.
    """
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ExportError(f"--from {date_from} is after --to {date_to}")
    target = target.absolute()
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        rows: dict[str, int] = {}
        con = store.con
        for table in TABLES.values():
            columns = ", ".join(_column_sql(table, c) for c in table.column_names)
            where, params = _where(table, date_from, date_to)
            order = ", ".join(f'"{c}"' for c in table.key)
            if table is EVENTS or table is ORDERS:
                order = '"timestamp", ' + order
            select = f"SELECT {columns} FROM {table.name}{where}"
            count = con.execute(f"SELECT count(*) FROM ({select})", params).fetchall()[0][0]
            rows[table.name] = int(count)
            out = staging / table.name
            if table is EVENTS:
                query = (
                    f'SELECT *, CAST(CAST("timestamp" AS TIMESTAMP) AS DATE) AS {PARTITION}'
                    f" FROM ({select}) ORDER BY {order}"
                )
                if count:
                    con.execute(
                        f"COPY ({query}) TO '{_sql_path(out)}'"
                        f" (FORMAT PARQUET, PARTITION_BY ({PARTITION}), COMPRESSION ZSTD)",
                        params,
                    )
                else:
                    out.mkdir()
                continue
            out.mkdir()
            con.execute(
                f"COPY ({select} ORDER BY {order}) TO '{_sql_path(out / 'data.parquet')}'"
                " (FORMAT PARQUET, COMPRESSION ZSTD)",
                params,
            )
        events_dir = staging / EVENTS.name
        partitions = sum(1 for p in events_dir.iterdir() if p.name.startswith(f"{PARTITION}="))
        manifest = {
            "format": "growthloop-parquet",
            "schema_version": SCHEMA_VERSION,
            "project": project,
            "time_zone": time_zone,
            "exported_at": datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
            "date_from": date_from.isoformat() if date_from else None,
            "date_to": date_to.isoformat() if date_to else None,
            "partitioned_by": {EVENTS.name: PARTITION},
            "rows": rows,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportSummary(target, rows, partitions)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an export directory; ExportError if `path` is not one."""
    file = path / MANIFEST
    if not file.is_file():
        raise ExportError(f"{path} is not a growthloop Parquet export (no {MANIFEST})")
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return data


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _swap_in(staging: Path, target: Path) -> None:
    """Put the finished export at `target`: a rename, after moving an earlier export aside."""
    old = None
    if target.exists():
        if not any(target.iterdir()):
            target.rmdir()
        else:
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, old)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
