"""`growthloop import`: read files, check every value, then store all of them or none.

Each file becomes a source relation with columns `s_<target>` (a view straight over Parquet; a
temporary table of the raw text for CSV and JSON Lines). A text source is typed and checked into
a table of its own as soon as it is read, and its text dropped, so only one file's text is held
at a time; a clean CSV file is typed straight from DuckDB's reader, with no staged text. Every
value is checked before anything is stored: the first bad value stops the import (or, with
skip_bad, bad rows go to a rejects file). Storing then happens in one DuckDB transaction
(loader.py) from the view `_typed` over all sources.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa

from growthloop.config import import_memory_limit
from growthloop.ingest import loader
from growthloop.ingest.coerce import type_class
from growthloop.ingest.readers import (
    JSON_COLUMN,
    ROW,
    FileFormatError,
    SourceFile,
    columns_of,
    csv_relation,
    detect,
    iter_batches,
    raw_batch,
    stage_csv,
)
from growthloop.ingest.rejects import BadRowError, Reject, clip, write_rejects
from growthloop.ingest.runs import ImportSummary, record_run
from growthloop.ingest.source_rows import (
    DEFERRED_ERROR,
    Source,
    from_typed_table,
    set_checks,
    typed_select,
)
from growthloop.ingest.sources import KINDS, ImportKind
from growthloop.workspace import Workspace

TYPED = "_typed"
CSV_ROW = "_growthloop_record"  # rowid + 1 of a staged CSV table: the record number
ProgressFn = Callable[[str, int, int], None]
"""Called as progress(what, done, total): bytes of a file being read, or a step name with 0, 0."""


def import_files(
    ws: Workspace,
    kind: str,
    files: Sequence[Path | str],
    *,
    mapping: Mapping[str, str] | None = None,
    timezone: str | None = None,
    skip_bad: bool = False,
    rejects_path: Path | None = None,
    project: str | None = None,
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Import `files` of one kind into a project's event store, all or nothing."""
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; use one of: {', '.join(KINDS)}")
    spec = KINDS[kind]
    tz = timezone or ws.settings.timezone
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"--timezone {tz!r}: unknown time zone (use e.g. Asia/Shanghai)") from exc
    sources = [detect(Path(f)) for f in files]
    if not sources:
        raise ValueError("no files given")
    store = ws.events(project)
    plan = _Plan(store.con, spec, tz, skip_bad, progress)
    summary = ImportSummary(kind, [str(s.path) for s in sources])
    # A bulk load holds every typed row until it stores them: it gets a limit of its own.
    store.con.execute("SET memory_limit = ?", [import_memory_limit(ws.settings)])
    try:
        for index, src in enumerate(sources):
            plan.add(src, index, dict(mapping or {}))
        plan.check()
        try:
            plan.create_typed_view()
            if progress:
                progress("storing", 0, 0)
            counts = loader.store_typed(
                store, spec, TYPED, ws.settings, plan.provided(), uuids_given=plan.uuids_given
            )
        except duckdb.Error as exc:
            if DEFERRED_ERROR not in str(exc):
                raise
            plan.locate_deferred()
            raise
    finally:
        plan.drop()
        store.con.execute("SET memory_limit = ?", [ws.settings.duckdb_memory_limit])
    summary.rows_read = plan.rows + len(plan.rejects)
    summary.rows_skipped = len(plan.rejects)
    summary.rows_stored, summary.rows_duplicate = counts.stored, counts.duplicate
    summary.details = counts.details
    if plan.rejects:
        summary.rejects_path = write_rejects(ws.settings.data_dir, kind, plan.rejects, rejects_path)
    record_run(ws, project, summary)
    return summary


JsonReader = Callable[[duckdb.DuckDBPyConnection, SourceFile, str, Mapping[str, str]], bool]
"""A faster reader for JSON Lines sources that the caller knows to be well formed (the
collector's spool). Called as `reader(con, src, name, targets)`, it creates the temporary table
`name` with a VARCHAR column `s_<target>` per target (the JSON key `targets[target]`), the row
number column `ROW` and a NULL `_extra` JSON column, and returns True; or, when it cannot,
returns False and leaves the source to the line-by-line reader, which names a bad line. Set it
as `Plan.json_reader`."""


class _Plan:
    """The sources of one import, their checks, and the typed view over all of them."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        spec: ImportKind,
        tz: str,
        skip_bad: bool,
        progress: ProgressFn | None,
    ) -> None:
        self.con, self.spec, self.tz, self.skip_bad = con, spec, tz, skip_bad
        self.progress = progress
        self.sources: list[Source] = []
        self.rejects: list[Reject] = []
        self.rows = 0
        self.uuids_given = False
        self.json_reader: JsonReader | None = None

    def add(self, src: SourceFile, index: int, mapping: dict[str, str]) -> None:
        spec = self.spec
        header = columns_of(src)
        is_json = src.format == "jsonl"
        targets = spec.resolve(mapping, None if is_json else header)
        if not is_json:
            lacking = sorted(s for t, s in targets.items() if s not in header and t in mapping)
            if lacking:
                raise FileFormatError(
                    f"{src.path}: --map names column {lacking[0]!r}, which the file lacks;"
                    f" its columns are: {', '.join(header)}"
                )
        absent = [t for t in spec.required if t not in targets]
        if absent:
            raise FileFormatError(
                f"{src.path}: no column {absent[0]!r}, which {spec.name} need;"
                f" the file has: {', '.join(header)}."
                f" Name the source column with --map {absent[0]}=COLUMN"
            )
        extras = (
            [c for c in header if c not in targets.values()]
            if spec.keep_extra_as_properties and not is_json
            else []
        )
        name = f"_src_{index}"
        if src.format == "csv" and self._fused_csv(src, index, name, targets, extras, header):
            return
        if src.format == "parquet":
            self._parquet_view(src, name, targets, extras)
            is_view = True
        else:
            is_view = src.format == "csv" and self._csv_view(src, name, targets, extras, header)
        if not is_view and not (
            is_json
            and not extras
            and self.json_reader is not None
            and self.json_reader(self.con, src, name, targets)
        ):
            self._load_text(src, name, targets, extras, is_json)
        types = self.con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [name]
        ).fetchall()
        columns = {c: type_class(t) for c, t in types if c.startswith("s_")}
        self.sources.append(Source(src, name, columns, is_view=is_view, has_extra=bool(extras)))
        if src.format != "parquet":
            self._type_text(self.sources[-1], index)

    def _fused_csv(
        self,
        src: SourceFile,
        index: int,
        name: str,
        targets: dict[str, str],
        extras: list[str],
        header: list[str],
    ) -> bool:
        """Type and check a CSV file straight from DuckDB's reader into its typed table: one
        pass, no staged text, records numbered by the table's rowid. Every check is deferred,
        so a bad value stops the pass; then (or when the reader declines the file) nothing is
        left behind and False sends the file to the staged path, which names every bad row."""
        rel = csv_relation(self.con, src, header)
        if rel is None:
            return False
        self._source_view(rel, name, targets, extras, duckdb.ConstantExpression(None))
        source = Source(
            src,
            name,
            {f"s_{t}": "string" for t in targets},
            is_view=True,
            has_extra=bool(extras),
            rowid_numbered=True,
        )
        if self.progress:
            self.progress(f"checking {src.path.name}", 0, 0)
        set_checks(
            self.spec, self.tz, source, skip_bad=False, deferred_too=False, all_deferred=True
        )
        table = f"{TYPED}_{index}"
        select = typed_select(self.spec, self.tz, source, index, for_table=True)
        try:
            # Insertion order is kept, so rowid + 1 is the record number.
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
        except duckdb.InterruptException:
            raise
        except duckdb.Error:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
            self._drop_source(source)
            return False
        source.typed = table
        self.sources.append(source)
        self._drop_source(source)
        if self.progress:
            self.progress(src.path.name, src.size, src.size)
        return True

    def _parquet_view(
        self, src: SourceFile, name: str, targets: dict[str, str], extras: list[str]
    ) -> None:
        rel = self.con.sql(
            "SELECT * FROM read_parquet($p, file_row_number = true)", params={"p": str(src.path)}
        )
        row = duckdb.ColumnExpression("file_row_number") + duckdb.ConstantExpression(1)
        self._source_view(rel, name, targets, extras, row)
        if self.progress:
            self.progress(src.path.name, src.size, src.size)

    def _csv_view(
        self,
        src: SourceFile,
        name: str,
        targets: dict[str, str],
        extras: list[str],
        header: list[str],
    ) -> bool:
        """View `name` over the file as DuckDB's own CSV reader stages it (`stage_csv`), or
        False when that reader declines the file."""
        raw = stage_csv(self.con, src, header, f"{name}_csv")
        if raw is None:
            return False
        rel = self.con.sql(f"SELECT *, rowid + 1 AS {CSV_ROW} FROM {raw}")
        self._source_view(rel, name, targets, extras, duckdb.ColumnExpression(CSV_ROW))
        if self.progress:
            self.progress(src.path.name, src.size, src.size)
        return True

    def _source_view(
        self,
        rel: duckdb.DuckDBPyRelation,
        name: str,
        targets: dict[str, str],
        extras: list[str],
        row: duckdb.Expression,
    ) -> None:
        """View `name` over a file's relation: columns s_<target>, `_extra` and `ROW`."""
        # The relational API binds file column names as names, never as SQL text.
        exprs = [duckdb.ColumnExpression(s).alias(f"s_{t}") for t, s in targets.items()]
        if self.spec.keep_extra_as_properties:
            args = []
            for col in extras:
                args += [duckdb.ConstantExpression(col), duckdb.ColumnExpression(col)]
            extra = (
                duckdb.FunctionExpression("json_object", *args)
                if args
                else duckdb.ConstantExpression(None)
            )
            exprs.append(extra.alias("_extra"))
        exprs.append(row.alias(ROW))
        rel.select(*exprs).create_view(name, replace=True)

    def _load_text(
        self,
        src: SourceFile,
        name: str,
        targets: dict[str, str],
        extras: list[str],
        is_json: bool,
    ) -> None:
        done = [0]
        created = False
        for batch in iter_batches(src, done):
            if is_json:
                batch = self._drop_bad_json(src, batch)
            raw = raw_batch(self.con, batch, targets, extras, is_json)  # noqa: F841
            params: dict[str, object] = {}
            extra_sql = ""
            if self.spec.keep_extra_as_properties:
                pairs = []
                for n, col in enumerate(extras):
                    params[f"k{n}"] = col
                    pairs.append(f"$k{n}, x_{n}")
                obj = f"json_object({', '.join(pairs)})" if pairs else "CAST(NULL AS JSON)"
                extra_sql = f", {obj} AS _extra"
            cols = ", ".join([f"s_{t}" for t in targets] + [ROW])
            select = f"SELECT {cols}{extra_sql} FROM raw"
            if created:
                self.con.execute(f"INSERT INTO {name} {select}", params)
            else:
                self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}", params)
                created = True
            if self.progress:
                self.progress(src.path.name, done[0], src.size)
        if self.progress:
            self.progress(src.path.name, src.size, src.size)
        if not created:  # an empty file: an empty table of the right shape
            cols = ", ".join(f"CAST(NULL AS VARCHAR) AS s_{t}" for t in targets)
            extra = ", CAST(NULL AS JSON) AS _extra" if self.spec.keep_extra_as_properties else ""
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols},"
                f" CAST(NULL AS BIGINT) AS {ROW}{extra} LIMIT 0"
            )

    def _drop_bad_json(self, src: SourceFile, batch: pa.RecordBatch) -> pa.RecordBatch:
        json_batch = pa.Table.from_batches([batch])  # noqa: F841 - read by DuckDB below
        rows = self.con.execute(
            f"SELECT {ROW}, {JSON_COLUMN} FROM json_batch WHERE NOT json_valid({JSON_COLUMN})"
            f" OR json_type({JSON_COLUMN}) <> 'OBJECT' ORDER BY {ROW}"
        ).fetchall()
        if not rows:
            return batch
        for row, text in rows:
            place = src.place(int(row))
            if not self.skip_bad:
                raise BadRowError(place, "(line)", clip(text), "not a JSON object")
            self.rejects.append(Reject(place, "(line)", clip(text), "not a JSON object", {}))
        bad = {int(r) for r, _ in rows}
        return batch.filter(pa.array([r not in bad for r in batch.column(ROW).to_pylist()]))

    def check(self, deferred_too: bool = False) -> None:
        """Find every value that cannot be stored: raise at the first, or record them all.

        Text sources were checked while their typed table was built (`_type_text`: one parse,
        not two), so this scans the views over Parquet files. Checking a JSON value means
        parsing it, which costs as much as storing it; so in an all-or-nothing import those
        checks are deferred into the storing pass (a bad value aborts that transaction, and
        `locate_deferred` then names it)."""
        for source in self.sources:
            if source.typed is not None:
                continue
            if self.progress:
                self.progress(f"checking {source.src.path.name}", 0, 0)
            set_checks(
                self.spec, self.tz, source, skip_bad=self.skip_bad, deferred_too=deferred_too
            )
            self._scan_checks(source)
        self.uuids_given = all(self._all_uuids(s) for s in self.sources)

    def _scan_checks(self, source: Source) -> None:
        limit = "" if self.skip_bad else " LIMIT 1"
        bad = self.con.execute(
            f"SELECT {ROW}, bad FROM (SELECT {ROW}, {source.bad_expr} AS bad"
            f" FROM {source.relation}) WHERE bad IS NOT NULL ORDER BY {ROW}{limit}"
        ).fetchall()
        for row, code in bad:
            self._reject(source, int(row), int(code))
        source.has_rejects = bool(bad)

    def _all_uuids(self, source: Source) -> bool:
        if "s_uuid" not in source.columns:
            return False
        if source.typed is not None:
            return not loader.count_rows(
                self.con, f"SELECT count(*) FROM {source.typed} WHERE t_uuid IS NULL"
            )
        return not loader.count_rows(
            self.con, f"SELECT count(*) FROM {source.relation} WHERE s_uuid IS NULL"
        )

    def _type_text(self, source: Source, index: int) -> None:
        """Parse and check a text source into its typed table, then drop the text: one parse,
        and only one file's text in memory at a time."""
        if self.progress:
            self.progress(f"checking {source.src.path.name}", 0, 0)
        set_checks(self.spec, self.tz, source, skip_bad=self.skip_bad, deferred_too=False)
        table = f"{TYPED}_{index}"
        # A deferred check fails while the table is built, so every value in it is checked.
        select = typed_select(self.spec, self.tz, source, index, for_table=True)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}")
        except duckdb.Error as exc:
            if DEFERRED_ERROR not in str(exc):
                raise
            set_checks(self.spec, self.tz, source, skip_bad=self.skip_bad, deferred_too=True)
            self._scan_checks(source)  # raises BadRowError, naming the value
            raise
        source.typed = table
        limit = "" if self.skip_bad else " LIMIT 1"
        bad = self.con.execute(
            f"SELECT _row, _bad FROM {table} WHERE _bad IS NOT NULL ORDER BY _row{limit}"
        ).fetchall()
        for row, code in bad:
            self._reject(source, int(row), int(code))
        if bad:
            self.con.execute(f"DELETE FROM {table} WHERE _bad IS NOT NULL")
        self._drop_source(source)

    def locate_deferred(self) -> None:
        """After the storing pass met a bad JSON value: find it and raise BadRowError."""
        self.check(deferred_too=True)
        raise ValueError("a value could not be stored, but checking found none")

    def _reject(self, source: Source, row: int, code: int) -> None:
        column, _, reason = source.problems[code]
        cursor = self.con.execute(
            f"SELECT * EXCLUDE ({ROW}) FROM {source.relation} WHERE {ROW} = ?", [row]
        )
        names = [d[0] for d in cursor.description or []]
        records = cursor.fetchall()
        values = dict(zip(names, records[0] if records else (), strict=False))
        value = values.get(f"s_{column}")
        place = source.src.place(row)
        if not self.skip_bad:
            raise BadRowError(place, column, value, reason)
        # The file's own columns beyond the targets are one JSON object, `_extra`: unpack it.
        extra = values.pop("_extra", None)
        shown = {k.removeprefix("s_"): v for k, v in values.items()}
        shown.update(json.loads(extra) if isinstance(extra, str) else extra or {})
        self.rejects.append(Reject(place, column, value, reason, shown))

    def create_typed_view(self) -> None:
        """View `_typed` over every source: text sources' typed tables, and the typing
        expressions over Parquet views (DuckDB reads those files in parallel on each pass)."""
        selects = [
            typed_select(self.spec, self.tz, source, index, for_table=False)
            if source.typed is None
            else from_typed_table(self.spec, source, source.typed)
            for index, source in enumerate(self.sources)
        ]
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {TYPED} AS {' UNION ALL '.join(selects)}")
        row = self.con.execute(f"SELECT count(*) FROM {TYPED}").fetchall()[0]
        self.rows = int(row[0]) if row else 0

    def provided(self) -> frozenset[str]:
        """Targets that every source file gives a column for."""
        # A JSON Lines "column" is a key that any line may lack: it provides nothing for sure.
        sets = [
            {c.removeprefix("s_") for c in s.columns} if s.src.format != "jsonl" else set()
            for s in self.sources
        ]
        return frozenset(set.intersection(*sets)) if sets else frozenset()

    def drop(self) -> None:
        self.con.execute(f"DROP VIEW IF EXISTS {TYPED}")
        for source in self.sources:
            if source.typed is not None:
                self.con.execute(f"DROP TABLE IF EXISTS {source.typed}")
            self._drop_source(source)

    def _drop_source(self, source: Source) -> None:
        kind = "VIEW" if source.is_view else "TABLE"
        self.con.execute(f"DROP {kind} IF EXISTS {source.relation}")
        self.con.execute(f"DROP TABLE IF EXISTS {source.relation}_csv")  # under a CSV view


__all__ = ["BadRowError", "FileFormatError", "ImportSummary", "Reject", "import_files"]


Plan = _Plan
"""The importer's plan (add sources, check, create the typed view, drop), for other loaders of
JSON Lines such as the collector's; `Plan.json_reader` is their seam. `Reject` is a rejected
row of `Plan.rejects`."""
