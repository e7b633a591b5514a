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
# Materialised column <- the property keys it falls back to, in order.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "url": ("$current_url", "$screen_name"),
    "referrer": ("$referrer",),
    **{u: (u,) for u in UTM},
    "device_type": ("$device_type",),
    "os": ("$os",),
    "browser": ("$browser",),
    "country": ("$geoip_country_name",),
    "city": ("$geoip_city_name",),
    "revenue": ("revenue", "$revenue"),
}
ATTRIBUTION_KEY = ("url", "referrer", *(f"p_{u}" for u in UTM))


def create_base_view(
    con: duckdb.DuckDBPyConnection,
    typed: str,
    out: str,
    provided: frozenset[str] = frozenset(),
    *,
    uuids_given: bool = False,
) -> None:
    """View `out` over the typed import rows: ids, properties and the per-row attributes.

    Columns in `provided` came from every source file, so their property fallbacks (and, when
    nothing needs one, the JSON parse of properties) are skipped. With `uuids_given` no row
    needs a derived uuid, so passes over uuids never read the properties."""
    keys = [k for col, ks in FALLBACKS.items() if col not in provided for k in ks]

    def value(col: str) -> str:
        if col in provided:
            return f"t_{col}"
        found = [f"_pv[{keys.index(k) + 1}]" for k in FALLBACKS[col]]
        if col == "revenue":
            found = [f"TRY_CAST({f} AS DECIMAL(18,2))" for f in found]
        return f"coalesce(t_{col}, {', '.join(found)})"

    paths = "[" + ", ".join(f"'$.\"{k}\"'" for k in keys) + "]"
    parse = (
        f"CASE WHEN properties = '{{}}' THEN NULL ELSE json_extract_string(properties, {paths}) END"
        if keys
        else "NULL"
    )
    columns = [f"{value(c)} AS {'p_' + c if c in UTM else c}" for c in FALLBACKS]
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW {out} AS
        SELECT
          CASE WHEN {"true" if uuids_given else "t_uuid IS NOT NULL"} THEN t_uuid
               ELSE md5(concat_ws(chr(31), t_event, t_distinct_id,
                        CAST(epoch_us(t_timestamp) AS VARCHAR), CAST(properties AS VARCHAR)))::UUID
          END AS uuid,
          t_event AS event, t_distinct_id AS distinct_id, t_timestamp AS timestamp,
          t_session_id AS session_id, properties, t_user_id AS user_id, t_channel,
          {", ".join(columns)},
          _file, _row
        FROM (
          SELECT *, {parse} AS _pv
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
               CASE WHEN url IS NOT NULL THEN {host_sql("url")} END AS page_host,
               {", ".join(f"coalesce(p_{u}, {query_param_sql('url', u)}) AS {u}" for u in UTM)}
        FROM _tuples"""
    )
    # Inputs under names of their own, so the rule SQL cannot capture an output column's name.
    # A referrer on the page's own host is navigation inside the site, not a referral.
    channel = channel_sql("c_source", "c_medium", "c_referrer", "c_campaign")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT * EXCLUDE (needs_channel, page_host, c_source, c_medium, c_referrer, c_campaign),
               {attribution_hash("_parts")} AS _h,
               CASE WHEN needs_channel THEN {channel} END AS channel
        FROM (SELECT *, utm_source AS c_source, utm_medium AS c_medium,
                     CASE WHEN ref_host IS DISTINCT FROM page_host THEN ref_host END AS c_referrer,
                     utm_campaign AS c_campaign FROM _parts) _parts"""
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
