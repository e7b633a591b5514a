"""What an analysis runs against: an Ibis backend over the event store, the time zone and "now"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from growthloop.analytics.dates import ResolvedRange, resolve_range
from growthloop.analytics.filters import (
    all_filters,
    needs_persons,
    segment_column,
    with_persons,
)
from growthloop.analytics.segments import SavedSegmentSource, people_table, segment_people
from growthloop.analytics.spec import (
    DateRange,
    Filter,
    PropertyFilter,
    PropertyRef,
    SavedSegmentFilter,
    SegmentDefinition,
    SegmentFilter,
)
from growthloop.analytics.validation import Problem, SpecError
from growthloop.store.schema import EVENTS, PERSONS, Table
from growthloop.workspace import Workspace

# Ibis types of the store's SQL types. Tables are declared from growthloop.store.schema rather
# than looked up in the database: the schema is ours and fixed, and the lookup goes through a
# DuckDB API that recent DuckDB releases deprecate.
_IBIS_TYPES = {
    "VARCHAR": "string",
    "UUID": "uuid",
    "TIMESTAMP": "timestamp(6)",
    "JSON": "json",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "BIGINT": "int64",
    "DECIMAL(18,2)": "decimal(18, 2)",
}


def ibis_table(table: Table) -> ir.Table:
    """An unbound Ibis table with the columns of one of the store's tables."""
    columns = {}
    for col in table.columns:
        sql_type = col.sql_type.removesuffix(" NOT NULL")
        dtype = ibis.dtype(_IBIS_TYPES[sql_type])
        columns[col.name] = dtype.copy(nullable=not col.sql_type.endswith("NOT NULL"))
    return ibis.table(ibis.schema(columns), name=table.name)


@dataclass(frozen=True)
class QueryContext:
    """An Ibis backend holding the `events` and `persons` tables, read in time zone `tz`.

    `now_utc` (naive UTC) anchors relative date ranges, so a saved spec such as "-7d" gives the
    same answer for everyone asking at the same moment.
    """

    backend: ibis.BaseBackend
    tz: ZoneInfo
    now_utc: datetime
    saved: SavedSegmentSource | None = None
    """The project's saved segments, for `segment_id` filters, conditions and breakdowns."""
    memo: dict[tuple[str, str], ir.Table] = field(default_factory=dict, compare=False, repr=False)
    """Saved segments' in-memory tables, built once per context (one node for every use)."""

    @classmethod
    def for_workspace(
        cls, ws: Workspace, project: str | None = None, now_utc: datetime | None = None
    ) -> QueryContext:
        """Run on a project's DuckDB event store (sharing the workspace's open connection)."""
        from growthloop.analytics.saved_segments_query import WorkspaceSegments

        con = ws.events(project).con
        now = now_utc or datetime.now(UTC).replace(tzinfo=None)
        saved = WorkspaceSegments.for_slug(ws, project or ws.settings.default_project, now)
        return cls(ibis.duckdb.from_connection(con), ws.settings.tz, now, saved)

    @classmethod
    def for_spark(
        cls,
        session: Any,
        parquet_dir: str | Path,
        tz: str | ZoneInfo | None = None,
        now_utc: datetime | None = None,
        *,
        cache: bool = False,
        saved: SavedSegmentSource | None = None,
    ) -> QueryContext:
        """Run on Apache Spark (a `pyspark.sql.SparkSession`) over a Parquet export made by
        `growthloop export parquet` (a path or a URI Spark reads); registers temporary views
        `events`, `persons`, ... in the session (`cache`: kept in memory once read). The time
        zone defaults to the export's. `saved` gives saved segments (`segment_id`), e.g.
        `WorkspaceSegments.for_slug(ws, project, now_utc)` from the metadata database."""
        from growthloop.analytics import spark

        location = str(parquet_dir)
        zone = tz if tz is not None else spark.export_time_zone(location)
        if zone is None:
            raise ValueError(f"give the project time zone: {location} has no readable manifest")
        spark.register_views(session, location, cache=cache)
        now = now_utc or datetime.now(UTC).replace(tzinfo=None)
        zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        return cls(spark.connect(session), zone, now, saved)

    @property
    def asof_joins(self) -> bool:
        """Whether the backend has ASOF joins; the others run window-function twins."""
        return bool(self.backend.name == "duckdb")

    def resolve(self, date_range: DateRange) -> ResolvedRange:
        """The range in this context's time zone; SpecError (field date_range) if it is not one."""
        try:
            return resolve_range(date_range, self.tz, self.now_utc)
        except ValueError as exc:
            raise SpecError([Problem("date_range", "date_range", str(exc))]) from exc

    def events(self) -> ir.Table:
        return ibis_table(EVENTS)

    def persons(self) -> ir.Table:
        return ibis_table(PERSONS)

    def execute(self, expr: ir.Table) -> list[dict[str, Any]]:
        """Run an expression on the backend; rows as dicts."""
        rows: list[dict[str, Any]] = self.backend.to_pyarrow(expr).to_pylist()
        return rows

    def segment(self, definition: SegmentDefinition) -> ir.Table:
        """person_id of the people in a segment, evaluated at `now_utc`."""
        return segment_people(definition, self.events(), self.persons(), self.now_utc, self)

    def saved_segments(self) -> SavedSegmentSource:
        """The project's saved segments; SpecError when this context has none."""
        if self.saved is None:
            raise SpecError(
                [Problem("segment_id", "segment_id", "saved segments need a project workspace")]
            )
        return self.saved

    def segment_labels(self, ref: PropertyRef) -> ir.Table:
        """(_segment_person, label column) of a `segment` breakdown: each member's first
        listed segment (people in none are not listed: their value is null, so `$none`)."""
        key = ("labels", ref.key)
        if key not in self.memo:
            saved, first = self.saved_segments(), dict[str, str]()
            names = [saved.name(sid) for sid in ref.segment_ids]
            for sid, name in zip(ref.segment_ids, names, strict=True):
                label = name if names.count(name) == 1 else f"{name} (#{sid})"
                for pid in saved.member_ids(sid):
                    first.setdefault(pid, label)
            columns = {
                "_segment_person": pa.array(list(first), pa.string()),
                segment_column(ref): pa.array(list(first.values()), pa.string()),
            }
            self.memo[key] = ibis.memtable(pa.table(columns))
        return self.memo[key]

    def saved_members(self, segment_id: int) -> ir.Table:
        """person_id of a saved segment's last computed members."""
        key = ("members", str(segment_id))
        if key not in self.memo:
            self.memo[key] = people_table(self.saved_segments().member_ids(segment_id))
        return self.memo[key]

    def scoped_events(
        self,
        start_utc: datetime | None,
        end_utc: datetime | None,
        filters: Iterable[Filter] = (),
        extra_refs: Iterable[PropertyRef | None] = (),
    ) -> ir.Table:
        """Events in [start_utc, end_utc) passing `filters` (property conditions and segments),
        joined with person properties when a filter or one of `extra_refs` (breakdowns, step
        filters) needs them."""
        filters, extra_refs = list(filters), list(extra_refs)
        conditions = [f for f in filters if isinstance(f, PropertyFilter)]
        segments = [f for f in filters if isinstance(f, SegmentFilter)]
        events = self.events()
        if start_utc is not None:
            events = events.filter(events.timestamp >= start_utc)
        if end_utc is not None:
            events = events.filter(events.timestamp < end_utc)
        for flt in segments:
            people = self.segment(flt.segment)
            join = events.anti_join if flt.negate else events.semi_join
            events = join(people, "person_id")
        for saved in (f for f in filters if isinstance(f, SavedSegmentFilter)):
            members = self.saved_members(saved.segment_id)
            events = (events.anti_join if saved.negate else events.semi_join)(members, "person_id")
        breakdowns = {r.key: r for r in extra_refs if r is not None and r.type == "segment"}
        for ref in breakdowns.values():
            labels = self.segment_labels(ref)
            joined = events.left_join(labels, events.person_id == labels._segment_person)
            events = joined.drop("_segment_person")
        if needs_persons([*conditions, *extra_refs]):
            events = with_persons(events, self.persons())
        if conditions:
            events = events.filter(all_filters(events, conditions))
        return events
