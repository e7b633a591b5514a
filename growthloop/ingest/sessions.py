"""Sessions: a person's events with gaps of at most `timeout` minutes share a session.

Events that arrive with a session id (from an SDK) keep it. A batch continues the session of the
person's last stored event when its first event comes within the timeout of it, so loading in
batches gives the same sessions as loading at once (for events that arrive in time order).
"""

from __future__ import annotations

import duckdb


def assign(con: duckdb.DuckDBPyConnection, base: str, out: str, timeout_minutes: int) -> None:
    """Table `out` (_file, _row, session_id) for the rows of `base` that came without one."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _unsessioned AS
            SELECT b._file, b._row, b.uuid, pi.person_id, b.timestamp
            FROM {base} b JOIN person_identities pi ON pi.distinct_id = b.distinct_id
            WHERE b.session_id IS NULL"""
    )
    row = con.execute(
        "SELECT count(*), min(timestamp), max(timestamp) FROM _unsessioned"
    ).fetchall()[0]
    if not row or not row[0]:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT _file, _row, CAST(NULL AS VARCHAR) AS session_id FROM _unsessioned"
        )
        con.execute("DROP TABLE _unsessioned")
        return
    gap = f"INTERVAL '{int(timeout_minutes)} minutes'"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _prev AS
            SELECT e.person_id, max(e.timestamp) AS ts, arg_max(e.session_id, e.timestamp) AS sid
            FROM events e
            WHERE e.timestamp >= $lo - {gap} AND e.timestamp <= $hi
              AND e.person_id IN (SELECT DISTINCT person_id FROM _unsessioned)
            GROUP BY e.person_id""",
        {"lo": row[1], "hi": row[2]},
    )
    # Two sorts: one to find where sessions start (lag), one to carry each start forward.
    order = "PARTITION BY person_id ORDER BY timestamp, uuid, _file, _row"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
            WITH ordered AS (
              SELECT *, lag(timestamp) OVER ({order}) AS before
              FROM (SELECT u._file, u._row, u.uuid, u.person_id, u.timestamp, p.sid,
                           p.ts AS prev_ts
                    FROM _unsessioned u LEFT JOIN _prev p ON p.person_id = u.person_id)
            ), starts AS (
              SELECT *, CASE WHEN timestamp - coalesce(before, prev_ts) <= {gap} THEN NULL
                             ELSE timestamp END AS start
              FROM ordered
            )
            SELECT _file, _row, coalesce(
                     CAST(md5(person_id || ':' || CAST(epoch_us(max(start) OVER (
                          {order} ROWS UNBOUNDED PRECEDING)) AS VARCHAR))::UUID AS VARCHAR),
                     sid) AS session_id
            FROM starts"""
    )
    con.execute("DROP TABLE _prev")
    con.execute("DROP TABLE _unsessioned")
