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


def set_checks(
    spec: ImportKind, tz: str, source: Source, *, skip_bad: bool, deferred_too: bool
) -> None:
    """The source's checks: `problems` as one CASE (`bad_expr`, the index of the first failing
    check), and the JSON checks `deferred` into building its typed rows (parsing JSON costs as
    much as storing it), unless `skip_bad` or `deferred_too` asks for every check up front."""
    problems = [(c, f"s_{c} IS NULL", "missing value") for c in spec.required]
    deferred: list[tuple[str, str, str]] = []
    for col in spec.accepts:
        if f"s_{col.name}" in source.columns:
            co = coercion(col, source.columns[f"s_{col.name}"], tz)
            if co.invalid == "false":
                continue
            costly = base_type(col) == "JSON" and not (skip_bad or deferred_too)
            (deferred if costly else problems).append((col.name, co.invalid, co.reason))
    checks = " ".join(f"WHEN {cond} THEN {n}" for n, (_, cond, _) in enumerate(problems))
    source.problems, source.deferred = problems, deferred
    source.bad_expr = f"CASE {checks} END" if checks else "NULL"


def typed_select(spec: ImportKind, tz: str, source: Source, index: int, *, for_table: bool) -> str:
    """SELECT of a source's typed rows: `_file`, `_row`, `t_<target>` and `_extra`.

    `for_table` leaves out the columns the source lacks (all NULL: 16 bytes a row each in
    memory) and adds `_bad`, the code of the row's first failing check."""
    values = []
    for col in spec.accepts:
        cls = source.columns.get(f"s_{col.name}")
        if cls is None:
            if not for_table:
                values.append(f"CAST(NULL AS {base_type(col)}) AS t_{col.name}")
        else:
            value = coercion(col, cls, tz).value
            for name, invalid, _ in source.deferred:
                if name == col.name:
                    value = (
                        f"CASE WHEN {invalid} THEN CAST(error('{DEFERRED_ERROR}') AS"
                        f" {base_type(col)}) ELSE {value} END"
                    )
            values.append(f"{value} AS t_{col.name}")
    if spec.keep_extra_as_properties and not (for_table and not source.has_extra):
        values.append("_extra")
    if for_table:
        values.append(f"CAST({source.bad_expr} AS INTEGER) AS _bad")
    where = f" WHERE ({source.bad_expr}) IS NULL" if source.has_rejects else ""
    return (
        f"SELECT CAST({index} AS INTEGER) AS _file, {ROW} AS _row, {', '.join(values)}"
        f" FROM {source.relation}{where}"
    )


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
    return f"SELECT _file, _row, {', '.join(values)} FROM {table}"
