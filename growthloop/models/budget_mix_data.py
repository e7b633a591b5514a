"""Fetch daily spend and conversions per paid channel for the budget mix.

Spend comes from the `spend` table; a channel's conversions are the orders credited to it
(orders.channel, which holds the same source key as spend.channel — last touch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from growthloop.analytics.kpis import Period
from growthloop.models.budget_mix import MODEL
from growthloop.models.errors import BAD_PARAMETER, TOO_FEW, FloatArray, ModelInputError
from growthloop.models.rfm_data import LOCAL_DAY


@dataclass(frozen=True)
class ChannelDays:
    channel: str
    dates: tuple[date, ...]
    spend: FloatArray
    conversions: FloatArray


def fetch_channel_days(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, start: date, end: date
) -> tuple[ChannelDays, ...]:
    """Per channel with spend in [start, end]: spend and orders on every day (0 when none)."""
    if end < start:
        raise ModelInputError(
            BAD_PARAMETER.format(name="end", rule=f"on or after the start {start}", value=end)
        )
    period = Period(start, end)
    lo, hi = period.utc_bounds(tz)
    spend = con.execute(
        "SELECT channel, date, sum(spend)::DOUBLE FROM spend WHERE date BETWEEN ? AND ? GROUP BY ALL",
        [start, end],
    ).fetchall()
    if not spend:
        raise ModelInputError(
            TOO_FEW.format(
                model=MODEL, minimum=1, unit=f"day of spend between {start} and {end}", got=0
            )
        )
    orders = con.execute(
        f"SELECT channel, {LOCAL_DAY} AS day, count(*) FROM orders "
        "WHERE timestamp >= ? AND timestamp < ? AND channel IS NOT NULL GROUP BY ALL",
        [tz.key, lo, hi],
    ).fetchall()
    days = tuple(period.dates())
    index = {d: i for i, d in enumerate(days)}
    channels = sorted({c for c, _, _ in spend})
    spent = {c: np.zeros(len(days)) for c in channels}
    converted = {c: np.zeros(len(days)) for c in channels}
    for c, d, v in spend:
        spent[c][index[d]] += v
    for c, d, n in orders:
        if c in converted:
            converted[c][index[d]] += n
    return tuple(ChannelDays(c, days, spent[c], converted[c]) for c in channels)
