"""Fetch channel ROI inputs: spend per channel and the outcomes of the new users it brought.

A person's acquisition channel is the traffic source of their first event ever: its utm_source
(which is what spend.channel holds for paid sources) or, without one, its default channel group
(Organic Search, Direct, ...). With `by_campaign`, the first event's utm_campaign splits it further,
matching spend.campaign.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import duckdb
import numpy as np

from growthloop.analytics.kpis import Period
from growthloop.models.channel_roi import ChannelCounts
from growthloop.models.errors import BAD_PARAMETER, ModelInputError

UNKNOWN_SOURCE = "(unknown)"
NO_DATA = "no new users and no spend between {start} and {end}: there is no channel to measure"

_COHORT = """
WITH firsts AS (
    SELECT person_id, min(timestamp) AS first_at,
           arg_min(coalesce(utm_source, channel, ?), timestamp) AS source,
           arg_min(coalesce(utm_campaign, ''), timestamp) AS campaign
    FROM events GROUP BY person_id
), cohort AS (
    SELECT person_id, first_at, source, CASE WHEN ? THEN campaign ELSE '' END AS campaign
    FROM firsts WHERE first_at >= ? AND first_at < ?
)
"""

USERS_SQL = (
    _COHORT
    + """
, behaviour AS (
    SELECT c.person_id, count(DISTINCT e.session_id) AS sessions, bool_or(e.event = ?) AS activated
    FROM cohort c JOIN events e ON e.person_id = c.person_id AND e.timestamp < ?
    GROUP BY c.person_id
), buyers AS (
    SELECT DISTINCT c.person_id FROM cohort c
    JOIN orders o ON o.person_id = c.person_id AND o.timestamp >= c.first_at AND o.timestamp < ?
)
SELECT c.source, c.campaign, count(*),
       count(*) FILTER (WHERE b.activated),
       count(*) FILTER (WHERE b.activated OR b.sessions >= 2),
       count(p.person_id)
FROM cohort c JOIN behaviour b USING (person_id) LEFT JOIN buyers p USING (person_id)
GROUP BY ALL
"""
)

REVENUE_SQL = (
    _COHORT
    + """
SELECT c.source, c.campaign,
       CAST(floor(date_diff('second', c.first_at, o.timestamp) / 86400) AS INTEGER) AS age,
       sum(o.amount)::DOUBLE
FROM cohort c JOIN orders o
  ON o.person_id = c.person_id AND o.timestamp >= c.first_at AND o.timestamp < ?
GROUP BY ALL
"""
)

SPEND_SQL = """
SELECT channel, CASE WHEN ? THEN campaign ELSE '' END AS campaign, sum(spend)::DOUBLE
FROM spend WHERE date >= ? AND date <= ? GROUP BY ALL
"""


def fetch_channel_counts(
    con: duckdb.DuckDBPyConnection,
    tz: ZoneInfo,
    start: date,
    end: date,
    *,
    by_campaign: bool = False,
    activation_event: str = "signup",
) -> tuple[ChannelCounts, ...]:
    """Spend and cohort outcomes per acquisition channel (and campaign) for [start, end].

    Outcomes count to the end of the period; the cumulative revenue runs over its days.
    """
    if end < start:
        raise ModelInputError(
            BAD_PARAMETER.format(name="end", rule=f"on or after the start {start}", value=end)
        )
    period = Period(start, end)
    lo, hi = period.utc_bounds(tz)
    cohort = [UNKNOWN_SOURCE, by_campaign, lo, hi]
    users = con.execute(USERS_SQL, [*cohort, activation_event, hi, hi]).fetchall()
    revenue = con.execute(REVENUE_SQL, [*cohort, hi]).fetchall()
    spend = con.execute(SPEND_SQL, [by_campaign, start, end]).fetchall()
    days = period.days
    keys = {(r[0], r[1]) for r in users} | {(r[0], r[1]) for r in spend}
    if not keys:
        raise ModelInputError(NO_DATA.format(start=start, end=end))
    by_age = {k: np.zeros(days) for k in keys}
    for source, campaign, age, amount in revenue:
        by_age[(source, campaign)][age] += amount
    spent = {(r[0], r[1]): float(r[2]) for r in spend}
    counted = {(r[0], r[1]): tuple(int(x) for x in r[2:]) for r in users}
    out = []
    for key in keys:
        new, activated, effective, paying = counted.get(key, (0, 0, 0, 0))
        cumulative = np.cumsum(by_age[key])
        out.append(
            ChannelCounts(
                key[0],
                key[1],
                spent.get(key, 0.0),
                new,
                activated,
                effective,
                paying,
                float(cumulative[-1]),
                tuple(float(x) for x in cumulative),
            )
        )
    return tuple(sorted(out, key=lambda c: (-c.spend, -c.new_users, c.channel, c.campaign)))
