"""The live monitor of a campaign, from the event store, for its window (warm-up day .. end day).

- participants: distinct persons with a `campaign_participate` event whose property campaign is
  the campaign's key;
- orders, buyers, GMV: rows of the orders table with campaign = key (project currency only);
- funnel: participants -> of them, who added to cart after first participating -> who bought
  (a `purchase` event) after first participating;
- spend: rows of the spend table with campaign = key, by channel, against the budget.

Days are local days of the project time zone; everything is compared with the UTC instants of
the local midnights, as the overview does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import duckdb

from growthloop.analytics.kpis import Period

TARGET_METRICS = ("participants", "orders", "buyers", "gmv")

_PARTICIPANTS_SQL = """
WITH p AS (
  SELECT person_id, min(timestamp) AS first_at FROM events
  WHERE event = 'campaign_participate' AND json_extract_string(properties, '$.campaign') = ?
    AND timestamp >= ? AND timestamp < ?
  GROUP BY person_id
)
SELECT count(*),
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events e WHERE e.person_id = p.person_id
    AND e.event = 'add_to_cart' AND e.timestamp >= p.first_at AND e.timestamp < ?)),
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events e WHERE e.person_id = p.person_id
    AND e.event = 'purchase' AND e.timestamp >= p.first_at AND e.timestamp < ?))
FROM p
"""
_DAILY_SQL = """
SELECT CAST(timezone(?, timestamp::TIMESTAMPTZ) AS DATE) AS day, count(DISTINCT person_id)
FROM events
WHERE event = 'campaign_participate' AND json_extract_string(properties, '$.campaign') = ?
  AND timestamp >= ? AND timestamp < ?
GROUP BY day
"""
_ORDERS_SQL = """
SELECT CAST(timezone(?, timestamp::TIMESTAMPTZ) AS DATE) AS day, count(*), sum(amount),
  list(DISTINCT person_id)
FROM orders WHERE campaign = ? AND currency = ? AND timestamp >= ? AND timestamp < ?
GROUP BY day
"""
_SPEND_SQL = """
SELECT channel, sum(spend) FROM spend
WHERE campaign = ? AND date >= ? AND date <= ? GROUP BY channel ORDER BY channel
"""


@dataclass(frozen=True)
class DayRow:
    """One local day of the window."""

    day: date
    participants: int
    orders: int
    gmv: float


@dataclass(frozen=True)
class ChannelSpend:
    """Spend of one channel against its budget (None: no budget for it)."""

    channel: str
    spend: float
    budget: float | None


@dataclass(frozen=True)
class Monitor:
    """A campaign's numbers for its window, and each target's achievement."""

    first_day: date
    last_day: date
    participants: int
    carted: int
    purchased: int
    orders: int
    buyers: int
    gmv: float
    spend: float
    budget: float
    channels: tuple[ChannelSpend, ...]
    days: tuple[DayRow, ...]
    achieved: dict[str, float | None]

    def value(self, metric: str) -> float:
        """The actual of a target metric (participants, orders, buyers, gmv)."""
        return float(getattr(self, metric))


def monitor(
    cursor: duckdb.DuckDBPyConnection,
    key: str,
    first_day: date,
    last_day: date,
    targets: dict[str, float],
    budget: dict[str, float],
    tz: ZoneInfo,
    currency: str,
) -> Monitor:
    """The campaign `key`'s numbers over local days [first_day, last_day]."""
    lo, hi = Period(first_day, last_day).utc_bounds(tz)
    [(participants, carted, purchased)] = cursor.execute(
        _PARTICIPANTS_SQL, [key, lo, hi, hi, hi]
    ).fetchall()
    daily_people = dict(cursor.execute(_DAILY_SQL, [tz.key, key, lo, hi]).fetchall())
    order_rows = cursor.execute(_ORDERS_SQL, [tz.key, key, currency, lo, hi]).fetchall()
    by_day = {r[0]: (int(r[1]), float(r[2])) for r in order_rows}
    buyers = len({p for r in order_rows for p in r[3]})
    spend_rows = cursor.execute(_SPEND_SQL, [key, first_day, last_day]).fetchall()
    spent = {str(c): float(s) for c, s in spend_rows}
    channels = tuple(
        ChannelSpend(c, spent.get(c, 0.0), budget.get(c)) for c in sorted(set(spent) | set(budget))
    )
    days = tuple(
        DayRow(d, int(daily_people.get(d, 0)), *by_day.get(d, (0, 0.0)))
        for d in Period(first_day, last_day).dates()
    )
    result = Monitor(
        first_day,
        last_day,
        int(participants),
        int(carted),
        int(purchased),
        sum(r.orders for r in days),
        buyers,
        sum(r.gmv for r in days),
        sum(spent.values()),
        sum(budget.values()),
        channels,
        days,
        {},
    )
    for metric, target in targets.items():
        result.achieved[metric] = result.value(metric) / target if target else None
    return result
