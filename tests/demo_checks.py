"""Recover each planted pattern of the demo business with plain SQL + numpy/scipy.

Every check takes a DuckDB connection that has the store's table names (events, orders, spend,
content_items, content_metrics) — views over the Parquet import files or the imported event
store — and the facts of demo-source/manifest.json. Days are local days in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
from scipy import stats

TZ = "Asia/Shanghai"


def day(text: object) -> date:
    return date.fromisoformat(str(text))


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> list[tuple]:  # type: ignore[type-arg]
    return con.execute(sql, params or []).fetchall()


def local_day_sql(column: str = "timestamp") -> str:
    return f"CAST(timezone('{TZ}', {column}) AS DATE)"


def android_leak(con: duckdb.DuckDBPyConnection, facts: dict) -> dict[str, tuple[float, float]]:  # type: ignore[type-arg]
    """checkout -> purchase rate per platform, (before, after) the leak start (session level)."""
    leak = day(facts["android_leak_start"])
    rows = _rows(
        con,
        f"""
        SELECT json_extract_string(properties, '$.platform') AS platform,
               {local_day_sql()} >= ? AS after,
               count(DISTINCT session_id) FILTER (WHERE event = 'checkout') AS checkouts,
               count(DISTINCT session_id) FILTER (WHERE event = 'purchase') AS purchases
        FROM events WHERE event IN ('checkout', 'purchase') GROUP BY ALL
        """,
        [leak],
    )
    rate: dict[str, dict[bool, float]] = {}
    for platform, after, checkouts, purchases in rows:
        rate.setdefault(platform, {})[after] = purchases / checkouts
    return {p: (r[False], r[True]) for p, r in rate.items()}


def roas(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Last-touch revenue / spend per paid source (orders.channel = spend.channel)."""
    rows = _rows(
        con,
        """
        SELECT s.channel, CAST(o.revenue AS DOUBLE) / s.cost
        FROM (SELECT channel, sum(spend) AS cost FROM spend GROUP BY 1) s
        JOIN (SELECT channel, sum(amount) AS revenue FROM orders GROUP BY 1) o USING (channel)
        """,
    )
    return {c: float(r) for c, r in rows}


def dormant_share(
    con: duckdb.DuckDBPyConnection,
    facts: dict,
    min_orders: int = 4,  # type: ignore[type-arg]
) -> tuple[int, float]:
    """(customers with >= min_orders before the dormant date, share of them with none after)."""
    cut = day(facts["dormant_from"])
    (row,) = _rows(
        con,
        f"""
        SELECT count(*), avg(CASE WHEN after = 0 THEN 1.0 ELSE 0.0 END)
        FROM (SELECT distinct_id,
                     count(*) FILTER (WHERE {local_day_sql()} < ?) AS before,
                     count(*) FILTER (WHERE {local_day_sql()} >= ?) AS after
              FROM orders GROUP BY 1)
        WHERE before >= ?
        """,
        [cut, cut, min_orders],
    )
    return int(row[0]), float(row[1])


def experiment(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per variant: (exposed users, users who purchased at or after their first exposure)."""
    rows = _rows(
        con,
        """
        WITH first_exposure AS (
          SELECT distinct_id, arg_min(json_extract_string(properties, '$.variant'), timestamp)
                   AS variant, min(timestamp) AS at
          FROM events WHERE event = 'experiment_exposure' GROUP BY 1)
        SELECT variant, count(*),
               count(*) FILTER (WHERE EXISTS (
                 SELECT 1 FROM events p WHERE p.event = 'purchase'
                   AND p.distinct_id = f.distinct_id AND p.timestamp >= f.at))
        FROM first_exposure f GROUP BY 1
        """,
    )
    return {v: (int(n), int(k)) for v, n, k in rows}


def two_proportion_p(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Two-sided two-proportion z-test p value (chi-square on the 2x2 table, no correction)."""
    table = np.array([[a[1], a[0] - a[1]], [b[1], b[0] - b[1]]])
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def daily(con: duckdb.DuckDBPyConnection, table: str) -> dict[date, int]:
    """Rows per local day of a table with a timestamp column (events or orders)."""
    rows = _rows(con, f"SELECT {local_day_sql()} AS d, count(*) FROM {table} GROUP BY 1")
    return {d: int(n) for d, n in rows}


def content_top_share(con: duckdb.DuckDBPyConnection) -> tuple[list[str], float]:
    """(the 3 items with most views, their share of all views)."""
    rows = _rows(
        con, "SELECT item_id, sum(views) AS v FROM content_metrics GROUP BY 1 ORDER BY v DESC"
    )
    total = sum(int(v) for _, v in rows)
    return [i for i, _ in rows[:3]], sum(int(v) for _, v in rows[:3]) / total


def campaign_lift(
    con: duckdb.DuckDBPyConnection,
    facts: dict,  # type: ignore[type-arg]
) -> tuple[float, float]:
    """(spend, orders) per campaign day relative to the 14 days before the campaign."""
    days = [day(d) for d in facts["campaign"]["days"]]
    first = days[0]
    before = [first - timedelta(days=k) for k in range(1, 15)]
    spend = dict(_rows(con, "SELECT date, sum(spend) FROM spend GROUP BY 1"))
    orders = daily(con, "orders")

    def lift(series: dict[date, object]) -> float:
        during = np.mean([float(series.get(d, 0)) for d in days])  # type: ignore[arg-type]
        base = np.mean([float(series.get(d, 0)) for d in before])  # type: ignore[arg-type]
        return float(during / base)

    return lift(spend), lift(orders)  # type: ignore[arg-type]


def referral_consistency(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(referral signups, how many have an earlier invite_sent by the inviter with that code)."""
    (row,) = _rows(
        con,
        """
        WITH r AS (
          SELECT distinct_id, timestamp,
                 json_extract_string(properties, '$.inviter') AS inviter,
                 json_extract_string(properties, '$.invite_code') AS code
          FROM events WHERE event = 'referral_signup')
        SELECT count(*),
               count(*) FILTER (WHERE inviter <> r.distinct_id AND EXISTS (
                 SELECT 1 FROM events i WHERE i.event = 'invite_sent'
                   AND i.distinct_id = r.inviter
                   AND json_extract_string(i.properties, '$.invite_code') = r.code
                   AND i.timestamp < r.timestamp))
        FROM r
        """,
    )
    return int(row[0]), int(row[1])
