"""Paid sources' spend and returns for a period: the weekly report's ROI section.

The numbers are the channel ROI model's (growthloop.models.channel_roi, as on /models/channels
and GET /api/models/channel-roi): a source's new users are the people first seen in the period
through it, its revenue is what those new users bought in the period (a cohort view), ROAS =
revenue / spend, ROI = (revenue - spend) / spend, CAC = spend / paying new users. Sources
without spend this week are left out.

The finding names the source with the lowest ROAS over the eight weeks up to the week's Sunday,
among sources that brought at least `MIN_COHORT` new users there (the API's "lowest ROAS" rule;
retention channels such as EDM and push acquire nobody and are judged by attribution instead).
Eight weeks, not one: a week's cohort has had days, not weeks, to buy.
"""

from __future__ import annotations

from datetime import date as date_t
from datetime import timedelta
from zoneinfo import ZoneInfo

import duckdb

from growthloop.analytics.kpis import Period
from growthloop.models.channel_roi import ChannelRoi, channel_roi
from growthloop.models.channel_roi_data import fetch_channel_counts
from growthloop.models.errors import ModelInputError
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
"""Query of every paid source's spend, and its orders and GMV by last touch (the orders' channel)."""


def spend_and_returns(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, currency: str, first: date_t, last: date_t
) -> list[tuple[str, float, int, float]]:
    """(source, spend, orders, GMV) per paid source with spend in [first, last], orders credited
    by last touch (the monthly review's channel-mix table reads this; the weekly section uses
    the channel ROI model instead)."""
    lo, hi = Period(first, last).utc_bounds(tz)
    rows = con.execute(SPEND_SQL, [first, last, lo, hi, currency]).fetchall()
    return [(str(c), float(s), int(n), float(g)) for c, s, n, g in rows]


TRAILING_DAYS = 56
"""The finding's basis: eight weeks of cohorts up to the week's Sunday."""
MIN_COHORT = 30
"""The smallest cohort of new users whose ROAS the finding trusts (as GET /api/models/channel-roi)."""


def paid_roi(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, start: date_t, end: date_t
) -> dict[str, ChannelRoi]:
    """The channel ROI model per source with spend in [start, end]; empty without any data."""
    try:
        counts = fetch_channel_counts(con, tz, start, end)
    except ModelInputError:
        return {}
    return {c.channel: channel_roi(c) for c in counts if c.spend > 0}


def roi_section(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, currency: str, week: Week
) -> Section | None:
    """Spend, new and paying users, cohort revenue, CAC, ROAS and ROI per paid source this week,
    and ROAS over the eight weeks up to its Sunday (the finding's basis); None without spend
    this week. `currency` is the project's (the spend and orders tables hold it)."""
    del currency  # amounts are in the project currency already
    now = paid_roi(con, tz, week.start, week.end)
    if not now:
        return None
    first = week.end - timedelta(days=TRAILING_DAYS - 1)
    trailing = paid_roi(con, tz, first, week.end)
    rows = []
    for source, r in sorted(now.items(), key=lambda kv: (-kv[1].counts.spend, kv[0])):
        c = r.counts
        long = trailing.get(source)
        rows.append(
            (source, c.spend, c.new_users, c.paying_users, c.revenue, r.cac, r.roas, r.roi,
             long.roas if long else None)
        )  # fmt: skip
    rated = {
        s: r
        for s, r in trailing.items()
        if r.roas is not None and r.counts.new_users >= MIN_COHORT and s in now
    }
    findings = []
    if rated:
        worst = min(rated, key=lambda s: (rated[s].roas or 0.0, s))
        best = max(rated, key=lambda s: (rated[s].roas or 0.0, s))
        findings.append(
            Finding(
                "roi_lowest_roas",
                {
                    "source": Value("text", worst),
                    "roas": Value("ratio", rated[worst].roas),
                    "new_users": Value("int", rated[worst].counts.new_users),
                    "spend": Value("money", rated[worst].counts.spend),
                    "week_roas": Value("ratio", now[worst].roas),
                    "best": Value("text", best),
                    "best_roas": Value("ratio", rated[best].roas),
                },
            )
        )
    table = Table(
        ("source", "spend", "new_users", "paying_users", "cohort_revenue", "cac", "roas", "roi",
         "roas_8_weeks"),
        ("text", "money", "int", "int", "money", "money", "ratio", "ratio", "ratio"),
        tuple(rows),
    )  # fmt: skip
    return Section("roi", tuple(findings), table, ("spend_by_source",))
