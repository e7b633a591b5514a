"""One source file of an import, and the SQL that checks and types its rows.

A source is a relation with columns `s_<target>` (text, or Parquet's own types). Its checks are
one CASE giving the index of the first failing check (`bad_expr`); its typed rows have columns
`_file`, `_row`, `t_<target>` and `_extra`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from growthloop.ingest.coerce import base_type, coercion
from growthloop.ingest.readers import ROW, SourceFile
from growthloop.ingest.sources import ImportKind

DEFERRED_ERROR = "growthloop: a value failed a deferred check"


@dataclass
class Source:
    src: SourceFile
    relation: str  # view or temp table name
    columns: dict[str, str]  # s_<target> -> type class
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    deferred: list[tuple[str, str, str]] = field(default_factory=list)
    bad_expr: str = "NULL"
    has_rejects: bool = False
    is_view: bool = False  # a view over the file (Parquet, clean CSV), else a temporary table
    typed: str | None = None  # a text source's typed table, once built (its text is dropped)
    has_extra: bool = False  # columns beyond the targets, kept as properties (`_extra`)
    rowid_numbered: bool = False  # the typed table has no `_row`: its rowid + 1 is the record


def set_checks(
    spec: ImportKind,
    tz: str,
    source: Source,
    *,
    skip_bad: bool,
    deferred_too: bool,
    all_deferred: bool = False,
) -> None:
    """The source's checks: `problems` as one CASE (`bad_expr`, the index of the first failing
    check), and the JSON checks `deferred` into building its typed rows (parsing JSON costs as
    much as storing it), unless `skip_bad` or `deferred_too` asks for every check up front.
    `all_deferred` defers every check: building the typed rows fails at the first bad value."""
    problems = [(c, f"s_{c} IS NULL", "missing value") for c in spec.required]
    deferred: list[tuple[str, str, str]] = []
    for col in spec.accepts:
        if f"s_{col.name}" in source.columns:
            co = coercion(col, source.columns[f"s_{col.name}"], tz)
            if co.invalid == "false":
                continue
            costly = base_type(col) == "JSON" and not (skip_bad or deferred_too)
            (deferred if costly else problems).append((col.name, co.invalid, co.reason))
    if all_deferred:
        problems, deferred = [], problems + deferred
    checks = " ".join(f"WHEN {cond} THEN {n}" for n, (_, cond, _) in enumerate(problems))
    source.problems, source.deferred = problems, deferred
    source.bad_expr = f"CASE {checks} END" if checks else "NULL"


def typed_select(spec: ImportKind, tz: str, source: Source, index: int, *, for_table: bool) -> str:
    """SELECT of a source's typed rows: `_file`, `_row`, `t_<target>` and `_extra`.

    `for_table` leaves out the columns the source lacks (all NULL: 16 bytes a row each in
    memory), and `_row` when the table is `rowid_numbered`; it adds `_bad`, the code of the
    row's first failing check, unless every check is deferred.

    Each value is computed once, in a subquery, and the checks read it there: written out in
    each check, a timestamp would be parsed four times (DuckDB does not share the work)."""
    inner: list[str] = []
    shared: dict[str, str] = {}  # value SQL -> its column in the subquery
    outer = []
    for col in spec.accepts:
        cls = source.columns.get(f"s_{col.name}")
        if cls is None:
            if not for_table:
                outer.append(f"CAST(NULL AS {base_type(col)}) AS t_{col.name}")
            continue
        value = coercion(col, cls, tz).value
        inner.append(f"{value} AS v_{col.name}")
        shared[value] = f"v_{col.name}"
        value = f"v_{col.name}"
        for name, invalid, _ in source.deferred:
            if name == col.name:  # a column may have two checks (missing, then invalid)
                value = (
                    f"CASE WHEN {_reuse(invalid, shared)} THEN CAST(error('{DEFERRED_ERROR}')"
                    f" AS {base_type(col)}) ELSE {value} END"
                )
        outer.append(f"{value} AS t_{col.name}")
    if spec.keep_extra_as_properties and not (for_table and not source.has_extra):
        outer.append("_extra")
    bad = _reuse(source.bad_expr, shared)
    if for_table and source.bad_expr != "NULL":
        outer.append(f"CAST({bad} AS INTEGER) AS _bad")
    row = "" if for_table and source.rowid_numbered else f"{ROW} AS _row, "
    where = f" WHERE ({bad}) IS NULL" if source.has_rejects else ""
    return (
        f"SELECT CAST({index} AS INTEGER) AS _file, {row}{', '.join(outer)}"
        f" FROM (SELECT *, {', '.join(inner) or 'NULL AS _none'} FROM {source.relation}){where}"
    )


def _reuse(sql: str, shared: dict[str, str]) -> str:
    """`sql` with each value expression it writes out replaced by the subquery's column."""
    for value, column in shared.items():
        sql = sql.replace(value, column)
    return sql


def from_typed_table(spec: ImportKind, source: Source, table: str) -> str:
    """SELECT of a typed table's rows in the columns of `typed_select`."""
    values = [
        f"t_{col.name}"
        if f"s_{col.name}" in source.columns
        else f"CAST(NULL AS {base_type(col)}) AS t_{col.name}"
        for col in spec.accepts
    ]
    if spec.keep_extra_as_properties:
        values.append("_extra" if source.has_extra else "CAST(NULL AS JSON) AS _extra")
    row = "rowid + 1 AS _row" if source.rowid_numbered else "_row"
    return f"SELECT _file, {row}, {', '.join(values)} FROM {table}"
