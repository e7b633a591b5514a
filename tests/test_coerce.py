"""Text timestamps as the importer reads them, against Python's own parsing as the reference:
an offset (or Z) is honoured, no offset means the import's time zone, a number is epoch seconds
(milliseconds past 1e11); anything else, or a time outside 1990-2100, is invalid."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from growthloop.ingest.coerce import coercion
from growthloop.store.schema import EVENTS

ZONE = "Asia/Shanghai"
TEXTS = [
    "2026-03-01T02:10:00Z",
    "2026-03-01T02:10:00z",
    " 2026-03-01T02:10:00.123456Z ",
    "2026-03-01T02:10:00+08:00",
    "2026-03-01T02:10:00-05:30",
    "2026-03-01T10:00+0800",
    "2026-03-01 10:00:00.250+08",
    "2026-03-01 09:00:00",
    "2026-03-01T09:00:00.5",
    "2026-03-01",
    "1772330400",
    "1772330400123",
    "1772330400.25",
    "yesterday",
    "Z",
    "2026-13-01T00:00:00Z",
    "1980-01-01T00:00:00Z",
    "2100-01-01T00:00:00Z",
]


def reference(text: str) -> datetime | None:
    """UTC, naive, as the store keeps it; None for a value that cannot be stored."""
    t = text.strip()
    try:
        number = float(t)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(t)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(ZONE))
    else:
        seconds = number / 1000 if abs(number) >= 1e11 else number
        parsed = datetime.fromtimestamp(seconds, UTC)
    utc = parsed.astimezone(UTC).replace(tzinfo=None)
    return utc if datetime(1990, 1, 1) <= utc < datetime(2100, 1, 1) else None


@pytest.mark.parametrize("text", TEXTS)
def test_text_timestamp_equals_python(text: str) -> None:
    co = coercion(EVENTS.column("timestamp"), "string", ZONE)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    value, invalid = con.execute(
        f"SELECT {co.value}, {co.invalid} FROM (SELECT $t AS s_timestamp)", {"t": text}
    ).fetchall()[0]
    expected = reference(text)
    assert bool(invalid) == (expected is None)
    if expected is not None:
        assert value == expected
