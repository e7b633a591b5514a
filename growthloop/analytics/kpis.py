"""The overview KPIs (运营概览) over one project's event store.

A period is a range of whole days [start, end] in the project time zone; the previous period is
the same number of days just before it. Event and order timestamps are stored in UTC and are
compared with the UTC instants of the local midnights, and grouped into local days.

Definitions (docs/web.md repeats them for users):

- visitors (访客数): distinct persons (events.person_id) with at least one event in the period.
- new users (新增用户): distinct persons with a `signup` event in the period.
- active users (活跃用户): distinct *identified* persons (persons.is_identified: signed up or
  logged in at some time) with at least one event in the period.
- orders (订单数): rows of the orders table whose timestamp falls in the period.
- GMV (成交额): sum of orders.amount over those orders. Only orders in the project currency are
  counted, in orders, GMV, buyers and AOV alike.
- conversion rate (支付转化率): paying buyers / visitors, where paying buyers are the distinct
  orders.person_id of the period's orders.
- AOV (客单价): GMV / orders.

Change is (current - previous) / previous, absent when the previous value is 0 or absent.
Daily values (the sparklines) apply the same definitions to each local day.

Traffic by channel counts sessions in the period: a session (events.session_id) belongs to the
channel of its earliest event in the period that has a channel; sessions without any channel are
left out.

A KPI is returned only when its data exists: visitors when there are events, new users when there
are signups, active users when there are identified persons, order KPIs when there are orders in
the current or the previous period; conversion rate and AOV only when they are defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb

KPI_NAMES = (
    "visitors",
    "new_users",
    "active_users",
    "orders",
    "gmv",
    "conversion_rate",
    "aov",
)
MONEY_KPIS = frozenset({"gmv", "aov"})
RATIO_KPIS = frozenset({"conversion_rate"})


@dataclass(frozen=True)
class Period:
    """Whole days [start, end], both included, in the project time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def last_days(cls, end: date, days: int) -> Period:
        """The `days` days ending on `end`."""
        return cls(end - timedelta(days=days - 1), end)

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def dates(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The UTC instants (naive, as stored) of the first midnight and the midnight after."""
        lo = datetime.combine(self.start, time(), tz).astimezone(UTC).replace(tzinfo=None)
        end = self.end + timedelta(days=1)
        hi = datetime.combine(end, time(), tz).astimezone(UTC).replace(tzinfo=None)
        return lo, hi


@dataclass(frozen=True)
class Kpi:
    """One KPI: its value, the previous period's, the relative change and daily values."""

    name: str
    value: float
    previous: float | None
    change: float | None
    daily: tuple[float | None, ...]


@dataclass(frozen=True)
class ChannelRow:
    """Sessions of one channel in the period and their share of all sessions."""

    channel: str
    sessions: int
    share: float


@dataclass(frozen=True)
class Overview:
    """Everything the overview shows for one period."""

    period: Period
    previous: Period
    currency: str
    kpis: tuple[Kpi, ...]
    channels: tuple[ChannelRow, ...]
    dates: tuple[date, ...]

    def kpi(self, name: str) -> Kpi | None:
        """The KPI named `name`, or None when it has no data."""
        return next((k for k in self.kpis if k.name == name), None)


# {day} is a local-day expression from _local_day(); every ? is bound by compute_overview.
_EVENT_SQL = """
WITH visits AS (
  SELECT DISTINCT person_id, {day} AS day FROM events WHERE timestamp >= ? AND timestamp < ?
), signups AS (
  SELECT DISTINCT person_id, {day} AS day FROM events
  WHERE event = 'signup' AND timestamp >= ? AND timestamp < ?
), marked AS (
  SELECT person_id, day, day >= ? AS cur,
    person_id IN (SELECT person_id FROM persons WHERE is_identified) AS known
  FROM visits
), new_marked AS (SELECT person_id, day, day >= ? AS cur FROM signups)
SELECT NULL::BOOLEAN AS cur, day, count(*) AS visitors, 0 AS new_users,
  count(*) FILTER (WHERE known) AS active_users
FROM marked GROUP BY day
UNION ALL
SELECT cur, NULL::DATE, count(DISTINCT person_id), 0,
  count(DISTINCT person_id) FILTER (WHERE known)
FROM marked GROUP BY cur
UNION ALL
SELECT NULL::BOOLEAN, day, 0, count(*), 0 FROM new_marked GROUP BY day
UNION ALL
SELECT cur, NULL::DATE, 0, count(DISTINCT person_id), 0 FROM new_marked GROUP BY cur
"""

_ORDER_SQL = """
WITH o AS (
  SELECT person_id, amount, {day} AS day
  FROM orders WHERE timestamp >= ? AND timestamp < ? AND currency = ?
), marked AS (SELECT *, day >= ? AS cur FROM o)
SELECT NULL::BOOLEAN AS cur, day, count(*) AS orders, sum(amount) AS gmv,
  count(DISTINCT person_id) AS buyers
FROM marked GROUP BY day
UNION ALL
SELECT cur, NULL::DATE, count(*), sum(amount), count(DISTINCT person_id)
FROM marked GROUP BY cur
"""

_CHANNEL_SQL = """
SELECT channel, count(*) AS sessions FROM (
  SELECT session_id, arg_min(channel, timestamp) AS channel
  FROM events
  WHERE timestamp >= ? AND timestamp < ? AND session_id IS NOT NULL AND channel IS NOT NULL
  GROUP BY session_id
) GROUP BY channel ORDER BY sessions DESC, channel
"""

_Row = dict[str, float]


def _local_day(tz: ZoneInfo, first: date, last: date) -> tuple[str, list[object]]:
    """SQL for the local day of `timestamp` (UTC) over [first, last], and its parameters.

    When the zone keeps one UTC offset over the whole range (no daylight-saving change, as in
    China), adding the offset is 10x faster than ICU's per-row conversion and gives the same day.
    """
    offsets = {
        datetime.combine(first + timedelta(days=i), time(), tz).utcoffset()
        for i in range((last - first).days + 2)
    }
    if len(offsets) == 1:
        offset = offsets.pop() or timedelta()
        return "CAST(timestamp + to_seconds(?) AS DATE)", [int(offset.total_seconds())]
    return "CAST(timezone(?, timestamp AT TIME ZONE 'UTC') AS DATE)", [tz.key]


def _grouped(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object]
) -> tuple[dict[bool, _Row], dict[date, _Row]]:
    """Split GROUPING SETS output into per-period totals and per-day rows."""
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description or []]
    totals: dict[bool, _Row] = {}
    daily: dict[date, _Row] = {}
    for row in cursor.fetchall():
        # One key may come in several rows (visits and signups); each adds its own columns.
        target = (
            totals.setdefault(bool(row[0]), {}) if row[1] is None else daily.setdefault(row[1], {})
        )
        for name, value in zip(names[2:], row[2:], strict=True):
            target[name] = target.get(name, 0.0) + float(value or 0)
    return totals, daily


def _derive(row: _Row) -> dict[str, float | None]:
    """All KPI values of one period or day from its counted rows."""
    visitors = row.get("visitors", 0.0)
    orders = row.get("orders", 0.0)
    gmv = row.get("gmv", 0.0)
    return {
        "visitors": visitors,
        "new_users": row.get("new_users", 0.0),
        "active_users": row.get("active_users", 0.0),
        "orders": orders,
        "gmv": gmv,
        "conversion_rate": row.get("buyers", 0.0) / visitors if visitors else None,
        "aov": gmv / orders if orders else None,
    }


def _available(con: duckdb.DuckDBPyConnection, totals: dict[bool, _Row]) -> set[str]:
    """KPIs that have data behind them (see the module docstring)."""
    both = [totals.get(True, {}), totals.get(False, {})]
    have: set[str] = set()
    if any(t.get("visitors") for t in both):
        have |= {"visitors", "conversion_rate"}
    if any(t.get("new_users") for t in both):
        have.add("new_users")
    # fetchall, not fetchone: DuckDB refuses some later work while a result is unfinished.
    [(identified,)] = con.execute("SELECT count(*) FROM persons WHERE is_identified").fetchall()
    if identified and "visitors" in have:
        have.add("active_users")
    if any(t.get("orders") for t in both):
        have |= {"orders", "gmv", "aov"}
    else:
        have.discard("conversion_rate")
    return have


def compute_overview(
    con: duckdb.DuckDBPyConnection, period: Period, tz: ZoneInfo, currency: str
) -> Overview:
    """KPIs for `period` with change against the previous period, daily values and channels."""
    previous = period.previous()
    lo, _ = previous.utc_bounds(tz)
    cur_lo, hi = period.utc_bounds(tz)
    day_sql, day_params = _local_day(tz, previous.start, period.end)
    ev_params = [*day_params, lo, hi, *day_params, lo, hi, period.start, period.start]
    ev_totals, ev_daily = _grouped(con, _EVENT_SQL.format(day=day_sql), ev_params)
    or_params = [*day_params, lo, hi, currency, period.start]
    or_totals, or_daily = _grouped(con, _ORDER_SQL.format(day=day_sql), or_params)
    totals = {k: {**ev_totals.get(k, {}), **or_totals.get(k, {})} for k in (True, False)}
    have = _available(con, totals)
    current, before = _derive(totals[True]), _derive(totals[False])
    days = period.dates()
    per_day = [_derive({**ev_daily.get(d, {}), **or_daily.get(d, {})}) for d in days]
    kpis = []
    for name in KPI_NAMES:
        value = current[name]
        if name not in have or value is None:
            continue
        prev = before[name]
        change = (value - prev) / prev if prev else None
        kpis.append(Kpi(name, value, prev, change, tuple(d[name] for d in per_day)))
    rows = con.execute(_CHANNEL_SQL, [cur_lo, hi]).fetchall()
    total_sessions = sum(int(r[1]) for r in rows)
    channels = tuple(ChannelRow(str(r[0]), int(r[1]), int(r[1]) / total_sessions) for r in rows)
    return Overview(period, previous, currency, tuple(kpis), channels, tuple(days))


def last_data_day(con: duckdb.DuckDBPyConnection, tz: ZoneInfo) -> date | None:
    """The latest local day with an event or order, or None for an empty store."""
    [(stamp,)] = con.execute(
        "SELECT greatest((SELECT max(timestamp) FROM events), (SELECT max(timestamp) FROM orders))"
    ).fetchall()
    if not isinstance(stamp, datetime):
        return None
    return stamp.replace(tzinfo=UTC).astimezone(tz).date()
