"""Fetch content items with their metrics totals and first-day figures from the store."""

from __future__ import annotations

from datetime import UTC, date
from zoneinfo import ZoneInfo

import duckdb

from growthloop.analytics.kpis import Period
from growthloop.models.content import MODEL, ContentItem
from growthloop.models.errors import BAD_PARAMETER, TOO_FEW, ModelInputError

# Metrics are daily, so "the first 24 hours" is read as the publishing day and the day after:
# the two local days those hours touch.
SQL = """
WITH items AS (
    SELECT item_id, title, channel, coalesce(format, '') AS format, coalesce(topic, '') AS topic,
           published_at,
           CAST(timezone(?, published_at AT TIME ZONE 'UTC') AS DATE) AS day
    FROM content_items
    WHERE published_at IS NOT NULL AND published_at >= ? AND published_at < ?
)
SELECT i.item_id, i.title, i.channel, i.format, i.topic, i.published_at,
       coalesce(sum(m.views), 0), coalesce(sum(m.likes), 0), coalesce(sum(m.comments), 0),
       coalesce(sum(m.shares), 0), coalesce(sum(m.favourites), 0), coalesce(sum(m.follows), 0),
       coalesce(sum(m.clicks), 0), coalesce(sum(m.conversions), 0),
       coalesce(sum(m.views) FILTER (WHERE m.date <= i.day + 1), 0),
       coalesce(sum(m.likes + m.comments + m.shares + m.favourites) FILTER (WHERE m.date <= i.day + 1), 0),
       coalesce(sum(m.clicks) FILTER (WHERE m.date <= i.day + 1), 0),
       coalesce(sum(m.conversions) FILTER (WHERE m.date <= i.day + 1), 0)
FROM items i LEFT JOIN content_metrics m ON m.item_id = i.item_id AND m.date <= ?
GROUP BY ALL ORDER BY i.item_id
"""


def fetch_content(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, start: date, end: date
) -> tuple[ContentItem, ...]:
    """Items published in [start, end] (local days) with their metrics up to `end`."""
    if end < start:
        raise ModelInputError(
            BAD_PARAMETER.format(name="end", rule=f"on or after the start {start}", value=end)
        )
    lo, hi = Period(start, end).utc_bounds(tz)
    rows = con.execute(SQL, [tz.key, lo, hi, end]).fetchall()
    if not rows:
        raise ModelInputError(
            TOO_FEW.format(
                model=MODEL, minimum=1, unit=f"item published between {start} and {end}", got=0
            )
        )
    items = []
    for item_id, title, channel, fmt, topic, published, *numbers in rows:
        local = published.replace(tzinfo=UTC).astimezone(tz)
        n = [int(x) for x in numbers]
        items.append(
            ContentItem(
                item_id,
                title,
                channel,
                fmt,
                local.weekday(),
                local.hour,
                views=n[0],
                likes=n[1],
                comments=n[2],
                shares=n[3],
                favourites=n[4],
                follows=n[5],
                clicks=n[6],
                conversions=n[7],
                first_day_views=n[8],
                first_day_interactions=n[9],
                first_day_clicks=n[10],
                first_day_conversions=n[11],
                topic=topic,
            )
        )
    return tuple(items)
