"""Daily KPI series for pacing and anomaly checks, read through the overview KPIs of the analytics layer.

The definitions (visitors, new users, orders, GMV, ...) are those of
`growthloop.analytics.kpis`, so a model's numbers match the overview page's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from growthloop.analytics.kpis import KPI_NAMES, Period, compute_overview
from growthloop.models.errors import BAD_PARAMETER, FloatArray, ModelInputError
from growthloop.models.rfm_data import LOCAL_DAY

# KPIs whose daily values add up to the period's value: the ones a target can be paced on.
ADDITIVE_KPIS = ("orders", "gmv", "new_users")
NO_DATA = "there is no {kpi} data between {start} and {end}"
UNDEFINED_DAY = "{kpi} is undefined on {day} (nothing to divide by that day)"


@dataclass(frozen=True)
class DailySeries:
    """A KPI's value on each local day from `dates[0]` to `dates[-1]`."""

    kpi: str
    dates: tuple[date, ...]
    values: FloatArray


def fetch_daily_kpi(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, currency: str, kpi: str, start: date, end: date
) -> DailySeries:
    """The KPI's daily values over [start, end] (local days, both included)."""
    if kpi not in KPI_NAMES:
        raise ModelInputError(
            BAD_PARAMETER.format(name="kpi", rule=f"one of {list(KPI_NAMES)}", value=repr(kpi))
        )
    if end < start:
        raise ModelInputError(
            BAD_PARAMETER.format(name="end", rule=f"on or after the start {start}", value=end)
        )
    overview = compute_overview(con, Period(start, end), tz, currency)
    found = overview.kpi(kpi)
    if found is None:
        raise ModelInputError(NO_DATA.format(kpi=kpi, start=start, end=end))
    for day, value in zip(overview.dates, found.daily, strict=True):
        if value is None:
            raise ModelInputError(UNDEFINED_DAY.format(kpi=kpi, day=day))
    values = np.asarray(found.daily, dtype=np.float64)
    return DailySeries(kpi, tuple(overview.dates), values)


def fetch_pacing_actuals(
    con: duckdb.DuckDBPyConnection,
    tz: ZoneInfo,
    currency: str,
    kpi: str,
    period: tuple[date, date],
    as_of: date,
) -> tuple[DailySeries, int]:
    """The daily values from the period's first day to `as_of`, and the period's length in days."""
    start, end = period
    if kpi not in ADDITIVE_KPIS:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="kpi",
                rule=f"a KPI that adds up over days ({', '.join(ADDITIVE_KPIS)})",
                value=repr(kpi),
            )
        )
    if not start <= as_of <= end:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="as_of", rule=f"a day within the period {start} .. {end}", value=as_of
            )
        )
    return fetch_daily_kpi(con, tz, currency, kpi, start, as_of), (end - start).days + 1


def fetch_daily_events(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, start: date, end: date, event: str | None = None
) -> DailySeries:
    """Tracked events per local day over [start, end] (all events, or one event name); 0 on empty days.

    Event volume is what a tracking outage shows first: the SDK stops sending while the backend's
    orders carry on.
    """
    if end < start:
        raise ModelInputError(
            BAD_PARAMETER.format(name="end", rule=f"on or after the start {start}", value=end)
        )
    lo, hi = Period(start, end).utc_bounds(tz)
    sql = f"""
        SELECT {LOCAL_DAY} AS day, count(*) FROM events
        WHERE timestamp >= ? AND timestamp < ? AND (CAST(? AS VARCHAR) IS NULL OR event = ?)
        GROUP BY day
    """
    counts = dict(con.execute(sql, [tz.key, lo, hi, event, event]).fetchall())
    days = tuple(Period(start, end).dates())
    if not counts:
        raise ModelInputError(
            NO_DATA.format(kpi=f"{event or 'event'} tracking", start=start, end=end)
        )
    return DailySeries(event or "events", days, np.asarray([float(counts.get(d, 0)) for d in days]))
