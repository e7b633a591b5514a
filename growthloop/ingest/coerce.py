"""SQL that turns a source column into a stored value, and says when a value cannot be stored.

The source columns are always named `s_<target>` by the staging step, so no name that came from a
file ever reaches SQL text. The time zone is checked against the IANA database before it is
written into SQL as a literal (views cannot hold parameters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from growthloop.store.schema import Column

_NUMBER = r"'^\s*[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\s*$'"
_INTEGER = r"'^\s*[-+]?[0-9]+\s*$'"
# A UTC offset right after a time of day (a bare date's "-01" is not one).
_OFFSET = r"'[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]*)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$'"
_EARLIEST, _LATEST = "TIMESTAMP '1990-01-01'", "TIMESTAMP '2100-01-01'"
_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip


@dataclass(frozen=True)
class Coercion:
    value: str
    """SQL for the value to store (NULL when the source is NULL)."""
    invalid: str
    """SQL that is true when the source holds a value that cannot be stored."""
    reason: str
    """What is wrong, in words a user understands."""


def base_type(column: Column) -> str:
    return column.sql_type.replace(" NOT NULL", "")


def type_class(duckdb_type: str) -> str:
    """Group a DuckDB type name: string, timestamptz, timestamp, date, integer, float, nested."""
    t = duckdb_type.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return "timestamptz"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t in _INTEGER_TYPES:
        return "integer"
    if t in {"FLOAT", "DOUBLE", "REAL"} or t.startswith("DECIMAL"):
        return "float"
    if t.startswith(("STRUCT", "MAP", "UNION")) or t.endswith("]"):
        return "nested"
    return "string"


def tz_literal(tz: str) -> str:
    """A validated IANA zone name as a SQL string literal."""
    ZoneInfo(tz)  # raises for unknown zones
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", tz):
        raise ValueError(f"time zone {tz!r} has unexpected characters")
    return f"'{tz}'"


def coercion(column: Column, source_class: str, tz: str) -> Coercion:
    """How to store source column `s_<name>` (of a type class) into `column`."""
    s = f"s_{column.name}"
    target = base_type(column)
    zone = tz_literal(tz)
    if target == "TIMESTAMP":
        return _timestamp(s, source_class, zone)
    if target == "DATE":
        return _date(s, source_class, zone)
    if target.startswith("DECIMAL"):
        value = f"TRY_CAST({s} AS {target})"
        return Coercion(value, f"{s} IS NOT NULL AND {value} IS NULL", "not a number")
    if target == "BIGINT":
        return _integer(s, source_class)
    if target == "BOOLEAN":
        value = f"TRY_CAST({s} AS BOOLEAN)"
        return Coercion(value, f"{s} IS NOT NULL AND {value} IS NULL", "not true/false")
    if target == "JSON":
        want = "ARRAY" if column.name == "items" else "OBJECT"
        return _json(s, source_class, want)
    if target == "UUID":
        # Any id is accepted: one that is not a UUID is hashed into one, deterministically.
        text = f"CAST({s} AS VARCHAR)"
        value = f"CASE WHEN {s} IS NOT NULL THEN coalesce(TRY_CAST({text} AS UUID), md5({text})::UUID) END"
        return Coercion(value, "false", "")
    if source_class == "string":
        return Coercion(f"nullif(trim({s}), '')", "false", "")
    return Coercion(f"nullif(trim(CAST({s} AS VARCHAR)), '')", "false", "")


def _timestamp(s: str, t: str, zone: str) -> Coercion:
    if t == "timestamptz":
        value = f"timezone('UTC', {s})"
    elif t == "timestamp":
        value = f"timezone('UTC', timezone({zone}, {s}))"
    elif t == "date":
        value = f"timezone('UTC', timezone({zone}, CAST({s} AS TIMESTAMP)))"
    elif t in ("integer", "float"):
        value = _epoch(f"CAST({s} AS DOUBLE)")
    else:
        text = f"trim(CAST({s} AS VARCHAR))"
        # ISO 8601 in UTC ('...Z'), the commonest export, first: it skips both patterns.
        value = (
            f"CASE WHEN suffix({text}, 'Z') THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))"
            f" WHEN regexp_matches({text}, {_NUMBER}) THEN {_epoch(f'TRY_CAST({text} AS DOUBLE)')}"
            f" WHEN regexp_matches({text}, {_OFFSET})"
            f" THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))"
            f" ELSE timezone('UTC', timezone({zone}, TRY_CAST({text} AS TIMESTAMP))) END"
        )
    invalid = (
        f"{s} IS NOT NULL AND ({value} IS NULL OR {value} < {_EARLIEST} OR {value} >= {_LATEST})"
    )
    return Coercion(value, invalid, "not a timestamp between 1990 and 2100")


def _epoch(number: str) -> str:
    """Seconds, or milliseconds when the magnitude says so (after 1973 in ms > 1e11)."""
    return (
        f"CASE WHEN abs({number}) >= 1e11 THEN make_timestamp(CAST({number} * 1000 AS BIGINT))"
        f" ELSE make_timestamp(CAST({number} * 1000000 AS BIGINT)) END"
    )


def _date(s: str, t: str, zone: str) -> Coercion:
    if t == "date":
        return Coercion(f"CAST({s} AS DATE)", "false", "")
    if t == "timestamptz":
        return Coercion(f"CAST(timezone({zone}, {s}) AS DATE)", "false", "")
    if t == "timestamp":
        return Coercion(f"CAST({s} AS DATE)", "false", "")
    text = f"trim(CAST({s} AS VARCHAR))"
    value = (
        f"CASE WHEN regexp_matches({text}, '^[0-9]{{8}}$')"
        f" THEN CAST(TRY_STRPTIME({text}, '%Y%m%d') AS DATE)"
        f" ELSE TRY_CAST({text} AS DATE) END"
    )
    return Coercion(value, f"{s} IS NOT NULL AND {value} IS NULL", "not a date (YYYY-MM-DD)")


def _integer(s: str, t: str) -> Coercion:
    if t == "integer":
        return Coercion(f"CAST({s} AS BIGINT)", f"{s} < 0", "must not be negative")
    text = f"trim(CAST({s} AS VARCHAR))"
    ok = f"{s} = round({s})" if t == "float" else f"regexp_matches({text}, {_INTEGER})"
    value = f"CASE WHEN {ok} THEN TRY_CAST({text} AS BIGINT) END"
    invalid = f"{s} IS NOT NULL AND ({value} IS NULL OR {value} < 0)"
    return Coercion(value, invalid, "not a whole number >= 0")


def _json(s: str, t: str, want: str) -> Coercion:
    if t == "nested":
        value = f"CAST(to_json({s}) AS JSON)"
    else:
        value = f"TRY_CAST(CAST({s} AS VARCHAR) AS JSON)"
    if t == "nested":
        invalid = f"{s} IS NOT NULL AND json_type({value}) <> '{want}'"
    else:
        # Valid JSON whose first character opens an object (array): one parse, not two.
        opener = "{" if want == "OBJECT" else "["
        text = f"CAST({s} AS VARCHAR)"
        opens = f"(starts_with({text}, '{opener}') OR starts_with(ltrim({text}), '{opener}'))"
        invalid = f"{s} IS NOT NULL AND ({value} IS NULL OR NOT {opens})"
    noun = "a JSON object" if want == "OBJECT" else "a JSON array"
    return Coercion(value, invalid, f"not {noun}")
