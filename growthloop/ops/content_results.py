"""What a published piece did: its content_items row's metrics in the event store.

`total` sums every daily metrics row of the item; `first_day` is the row of the local day it was
published on (the demo and most platforms' exports report whole days, so the first 24 hours are
read as the publishing day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb

METRICS = ("views", "likes", "comments", "shares", "favourites", "follows", "clicks", "conversions")

# Metric names are the fixed columns above, never user input.
_SQL = f"""
SELECT m.item_id, i.published_at, m.date, {", ".join(f"coalesce(m.{c}, 0)" for c in METRICS)}
FROM content_metrics m JOIN content_items i USING (item_id)
WHERE m.item_id IN (SELECT unnest(?::VARCHAR[]))
ORDER BY m.item_id, m.date
"""


@dataclass(frozen=True)
class Results:
    """An item's metrics in total and on its publishing day."""

    item_id: str
    published_on: date | None
    total: dict[str, int]
    first_day: dict[str, int]


def results(
    cursor: duckdb.DuckDBPyConnection, item_ids: list[str], tz: ZoneInfo
) -> dict[str, Results]:
    """Results of the items that have metrics, by item id."""
    if not item_ids:
        return {}
    rows = cursor.execute(_SQL, [item_ids]).fetchall()
    out: dict[str, Results] = {}
    for item_id, published_at, day, *values in rows:
        published_on = None
        if isinstance(published_at, datetime):
            published_on = published_at.replace(tzinfo=UTC).astimezone(tz).date()
        found = out.setdefault(
            item_id,
            Results(item_id, published_on, dict.fromkeys(METRICS, 0), dict.fromkeys(METRICS, 0)),
        )
        for name, value in zip(METRICS, values, strict=True):
            found.total[name] += int(value)
            if day == published_on:
                found.first_day[name] += int(value)
    return out
