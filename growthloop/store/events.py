"""The event store: one DuckDB file per project, opened by one writer process at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from growthloop.store.schema import TABLES

SCHEMA_VERSION = 1


class StoreInUseError(RuntimeError):
    """Another process holds the event store open for writing."""


class EventStore:
    """A DuckDB event store file. Writes go through this object's single connection."""

    def __init__(
        self, path: Path, *, read_only: bool = False, memory_limit: str | None = None
    ) -> None:
        self.path = path
        self.read_only = read_only
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreInUseError(
                    f"{path} is in use by another growthloop process (for example `growthloop serve`);"
                    " stop it or send the data through its collector"
                ) from exc
            raise
        # Timestamps are stored as UTC; keep the session in UTC so casts never shift them.
        self.con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            # Past the limit DuckDB spills joins and aggregates to <file>.tmp instead of growing.
            self.con.execute("SET memory_limit = ?", [memory_limit])
            self.con.execute("SET temp_directory = ?", [str(path) + ".tmp"])
        if not read_only:
            self.ensure_schema()

    def ensure_schema(self) -> None:
        for table in TABLES.values():
            self.con.execute(table.ddl())
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS growthloop_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        self.con.execute(
            "INSERT INTO growthloop_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
            [str(SCHEMA_VERSION)],
        )

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commit when the block ends, roll back if it raises."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise KeyError(f"unknown table {table!r}")
        row = self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0]
        return int(row[0]) if row else 0

    def counts(self) -> dict[str, int]:
        return {name: self.count(name) for name in TABLES}

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
