"""Build attribution paths from the store: each order's touches, and the paths that did not convert.

A touch is a session; its channel is the traffic source of the session's first event (utm_source,
or the default channel group when there is none). An order's path is the buyer's sessions that
started within `lookback_days` before it and after their previous order. People with sessions in
the period but no order in it give the non-converting paths the Markov model needs.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from growthloop.analytics.kpis import Period
from growthloop.models.attribution import TouchPath
from growthloop.models.errors import BAD_PARAMETER, ModelInputError

DEFAULT_LOOKBACK_DAYS = 30
DAY_SECONDS = 86400.0

TOUCHES_SQL = """
SELECT person_id, min(timestamp) AS started,
       arg_min(coalesce(utm_source, channel, '(unknown)'), timestamp) AS channel
FROM events WHERE session_id IS NOT NULL AND timestamp >= ? AND timestamp < ?
GROUP BY person_id, session_id
ORDER BY person_id, started
"""
ORDERS_SQL = """
SELECT person_id, timestamp, amount::DOUBLE FROM orders
WHERE timestamp >= ? AND timestamp < ? ORDER BY person_id, timestamp
"""


@dataclass(frozen=True)
class PathSet:
    paths: tuple[TouchPath, ...]
    orders_without_touches: int


def _path(
    touches: list[tuple[datetime, str]], at: datetime, converted: bool, value: float
) -> TouchPath:
    return TouchPath(
        tuple(c for _, c in touches),
        tuple((at - t).total_seconds() / DAY_SECONDS for t, _ in touches),
        converted,
        value,
    )


def fetch_paths(
    con: duckdb.DuckDBPyConnection,
    tz: ZoneInfo,
    start: date,
    end: date,
    *,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
) -> PathSet:
    """Converting paths for the orders in [start, end] and non-converting paths of the others."""
    if end < start or lookback_days < 1:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="period / lookback_days",
                rule="end on or after start / at least 1 day",
                value=(start, end, lookback_days),
            )
        )
    lo, hi = Period(start, end).utc_bounds(tz)
    lookback = timedelta(days=lookback_days)
    touches: dict[str, list[tuple[datetime, str]]] = {}
    for person, at, channel in con.execute(TOUCHES_SQL, [lo - lookback, hi]).fetchall():
        touches.setdefault(person, []).append((at, channel))
    orders: dict[str, list[tuple[datetime, float]]] = {}
    for person, at, amount in con.execute(ORDERS_SQL, [lo, hi]).fetchall():
        orders.setdefault(person, []).append((at, amount))
    paths = []
    untouched = 0
    for person, mine in orders.items():
        seen = touches.get(person, [])
        times = [t for t, _ in seen]
        previous = None
        for at, amount in mine:
            since = at - lookback if previous is None else max(previous, at - lookback)
            # Touches in (since, at]; the session of the purchase itself counts.
            window = seen[bisect.bisect_right(times, since) : bisect.bisect_right(times, at)]
            previous = at
            if not window:
                untouched += 1
                continue
            paths.append(_path(window, at, True, amount))
    for person, seen in touches.items():
        if person in orders:
            continue
        recent = [(t, c) for t, c in seen if t >= lo]
        if recent:
            paths.append(_path(recent, hi, False, 0.0))
    return PathSet(tuple(paths), untouched)
