"""Paid sources' spend and returns for a period: the weekly report's ROI section.

Spend is the spend table's rows (spend.channel = the paid source, as events.utm_source); orders
and GMV are the orders table's rows whose channel is that source (last touch), in the project
currency. ROI = GMV / spend. Sources without spend in the period are left out.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import duckdb

from growthloop.analytics.kpis import Period
from growthloop.reports.document import Finding, Section, Table, Value
from growthloop.reports.weekly_specs import Week

SPEND_SQL = """
WITH s AS (SELECT channel, sum(spend)::DOUBLE AS spend FROM spend
           WHERE date >= ? AND date <= ? GROUP BY channel),
     o AS (SELECT channel, count(*) AS orders, sum(amount)::DOUBLE AS gmv FROM orders
           WHERE timestamp >= ? AND timestamp < ? AND currency = ? GROUP BY channel)
SELECT s.channel, s.spend, coalesce(o.orders, 0), coalesce(o.gmv, 0.0)
FROM s LEFT JOIN o USING (channel) ORDER BY s.spend DESC, s.channel
"""
"""Query of every paid source's spend, orders and GMV over local days [first, last]."""


def spend_and_returns(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, currency: str, first: date, last: date
) -> list[tuple[str, float, int, float]]:
    """(source, spend, orders, GMV) per paid source with spend in [first, last]."""
    lo, hi = Period(first, last).utc_bounds(tz)
    rows = con.execute(SPEND_SQL, [first, last, lo, hi, currency]).fetchall()
    return [(str(c), float(s), int(n), float(g)) for c, s, n, g in rows]


TRAILING_DAYS = 28
"""One week of a small business's orders per source is noise; the finding reads four weeks."""


def roi_section(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, currency: str, week: Week
) -> Section | None:
    """Spend, orders, GMV and ROI per paid source this week, and ROI over the four weeks up to
    its Sunday (the finding's basis); None without spend this week."""
    now = spend_and_returns(con, tz, currency, week.start, week.end)
    if not now:
        return None
    first = week.end - timedelta(days=TRAILING_DAYS - 1)
    trailing = {r[0]: r for r in spend_and_returns(con, tz, currency, first, week.end)}
    rows = []
    for source, spend, orders, gmv in now:
        long = trailing.get(source)
        long_roi = long[3] / long[1] if long and long[1] else None
        rows.append((source, spend, orders, gmv, gmv / spend if spend else None, long_roi))
    rated = [r for r in rows if r[5] is not None]
    findings = []
    if rated:
        worst = min(rated, key=lambda r: r[5] or 0.0)
        best = max(rated, key=lambda r: r[5] or 0.0)
        findings.append(
            Finding(
                "roi_worst",
                {
                    "source": Value("text", worst[0]),
                    "roi": Value("ratio", worst[5]),
                    "week_roi": Value("ratio", worst[4]),
                    "spend": Value("money", trailing[worst[0]][1]),
                    "best": Value("text", best[0]),
                    "best_roi": Value("ratio", best[5]),
                },
            )
        )
    table = Table(
        ("source", "spend", "orders", "gmv", "roi", "roi_4_weeks"),
        ("text", "money", "int", "money", "ratio", "ratio"),
        tuple(rows),
    )
    return Section("roi", tuple(findings), table, ("spend_by_source",))
