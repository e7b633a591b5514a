"""Fill the materialised event columns from what the source gave: URL parts, UTM, referrer
domain, channel group, device, revenue. Columns the source gave explicitly always win.

URL parsing and the channel rules are costly per row, but (url, referrer, utm) tuples repeat a
lot, so they are computed once per distinct tuple (`attribution`) and joined back when stored.
"""

from __future__ import annotations

import duckdb

from growthloop.ingest.channels import channel_sql
from growthloop.ingest.urls import host_sql, path_sql, query_param_sql

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# Well-known property keys (PostHog's), read in one JSON parse per row.
PROPERTY_KEYS = (
    "$current_url",
    "$screen_name",
    "$referrer",
    "$os",
    "$browser",
    "$device_type",
    "$geoip_country_name",
    "$geoip_city_name",
    "revenue",
    "$revenue",
    *UTM,
)
_PATHS = "[" + ", ".join(f"'$.\"{k}\"'" for k in PROPERTY_KEYS) + "]"
ATTRIBUTION_KEY = ("url", "referrer", *(f"p_{u}" for u in UTM))


def _p(key: str) -> str:
    return f"_pv[{PROPERTY_KEYS.index(key) + 1}]"


def create_base_view(con: duckdb.DuckDBPyConnection, typed: str, out: str) -> None:
    """View `out` over the typed import rows: ids, properties and the per-row attributes."""
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {out} AS
        SELECT
          CASE WHEN t_uuid IS NOT NULL THEN t_uuid
               ELSE md5(concat_ws(chr(31), t_event, t_distinct_id,
                        CAST(epoch_us(t_timestamp) AS VARCHAR), CAST(properties AS VARCHAR)))::UUID
          END AS uuid,
          t_event AS event, t_distinct_id AS distinct_id, t_timestamp AS timestamp,
          t_session_id AS session_id, properties, t_user_id AS user_id, t_channel,
          coalesce(t_url, {_p("$current_url")}, {_p("$screen_name")}) AS url,
          coalesce(t_referrer, {_p("$referrer")}) AS referrer,
          {", ".join(f"coalesce(t_{u}, {_p(u)}) AS p_{u}" for u in UTM)},
          coalesce(t_device_type, {_p("$device_type")}) AS device_type,
          coalesce(t_os, {_p("$os")}) AS os,
          coalesce(t_browser, {_p("$browser")}) AS browser,
          coalesce(t_country, {_p("$geoip_country_name")}) AS country,
          coalesce(t_city, {_p("$geoip_city_name")}) AS city,
          coalesce(t_revenue, TRY_CAST({_p("revenue")} AS DECIMAL(18,2)),
                   TRY_CAST({_p("$revenue")} AS DECIMAL(18,2))) AS revenue,
          _file, _row
        FROM (
          SELECT *, CASE WHEN properties = '{{}}' THEN NULL
                         ELSE json_extract_string(properties, {_PATHS}) END AS _pv
          FROM (SELECT * EXCLUDE (_extra), CASE
                  WHEN _extra IS NULL THEN coalesce(t_properties, '{{}}'::JSON)
                  WHEN t_properties IS NULL THEN _extra
                  ELSE json_merge_patch(_extra, t_properties) END AS properties
                FROM {typed}))"""
    )


def create_attribution(con: duckdb.DuckDBPyConnection, base: str, out: str) -> None:
    """Table `out`: path, referrer domain, UTM and channel per distinct attribution key."""
    key = ", ".join(ATTRIBUTION_KEY)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _tuples AS
        SELECT {key}, bool_or(t_channel IS NULL) AS needs_channel
        FROM {base} GROUP BY ALL"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _parts AS
        SELECT {key}, needs_channel,
               CASE WHEN url IS NOT NULL THEN {path_sql("url")} END AS path,
               CASE WHEN referrer IS NOT NULL THEN {host_sql("referrer")} END AS ref_host,
               {", ".join(f"coalesce(p_{u}, {query_param_sql('url', u)}) AS {u}" for u in UTM)}
        FROM _tuples"""
    )
    # Inputs under names of their own, so the rule SQL cannot capture an output column's name.
    channel = channel_sql("c_source", "c_medium", "c_referrer", "c_campaign")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT * EXCLUDE (needs_channel, c_source, c_medium, c_referrer, c_campaign),
               {attribution_hash("_parts")} AS _h,
               CASE WHEN needs_channel THEN {channel} END AS channel
        FROM (SELECT *, utm_source AS c_source, utm_medium AS c_medium,
                     ref_host AS c_referrer, utm_campaign AS c_campaign FROM _parts) _parts"""
    )
    con.execute("DROP TABLE _tuples")
    con.execute("DROP TABLE _parts")


def attribution_hash(alias: str) -> str:
    return f"hash({', '.join(f'{alias}.{k}' for k in ATTRIBUTION_KEY)})"


def attribution_join(base_alias: str, attribution_alias: str) -> str:
    """The join condition between base rows and the attribution table (NULLs match).

    Equality on the tuple's hash lets DuckDB use a hash join; the column comparisons after it
    keep a hash collision from joining the wrong tuple."""
    same = " AND ".join(
        f"{attribution_alias}.{k} IS NOT DISTINCT FROM {base_alias}.{k}" for k in ATTRIBUTION_KEY
    )
    return f"{attribution_alias}._h = {attribution_hash(base_alias)} AND {same}"
