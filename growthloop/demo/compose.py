"""Turn a chunk of laid-out events into the import tables (events, orders) with DuckDB SQL."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from growthloop.demo import business as b
from growthloop.demo.events import PART, PARTS, PRODUCT_VIEW_PART

_COMMON = (
    "'platform', s.platform, '$current_url', url, '$os', s.os, '$browser', s.browser,"
    " '$device_type', s.device_type, '$session_id', s.session_id,"
    " '$referrer', coalesce(s.referrer, '$direct')"
)
_PERSON_SET = (
    "json_object('city', s.city, 'gender', s.gender, 'age_group', s.age_group,"
    " 'signup_channel', s.signup_channel, 'platform', s.platform)"
)
_PRODUCT = "'product_id', p.product_id, 'category', p.category, 'price', p.price"
# Event properties per part beyond the common ones, as json_object key/value pairs. One
# json_object per event (no merging) keeps this the cheap part of generating the demo.
_PROPERTIES = {
    "content_view": "'content_id', s.content_id, 'content_channel', s.content_channel",
    "campaign": "'campaign', $campaign",
    "identify": f"'$anon_distinct_id', s.anon_id, '$set', {_PERSON_SET}",
    "signup": f"'method', s.signup_method, '$set', {_PERSON_SET}",
    "referral_signup": "'inviter', s.inviter, 'invite_code', s.inviter_code",
    "signup_points": "'points', 100, 'rule', 'signup'",
    "checkin_points": "'points', 5, 'rule', 'daily_checkin'",
    "add_to_cart": f"{_PRODUCT}, 'quantity', e.quantity",
    "exposure": "'experiment', $experiment, 'variant', s.variant",
    "redeem": "'points', s.redeem_points",
    "checkout": "'cart_value', s.subtotal, 'items', s.lines",
    "purchase_points": "'points', CAST(floor(s.amount) AS INTEGER), 'rule', 'purchase'",
    "invite_sent": "'invite_code', s.invite_code",
}
for _early in ("identify", "signup", "referral_signup", "signup_points"):
    _PROPERTIES["late_" + _early] = _PROPERTIES[_early]
# Optional keys: present only when the session has them.
_UTM = "'utm_source', s.utm_source, 'utm_medium', s.utm_medium, 'utm_campaign', s.utm_campaign"
_ORDER = "'order_id', s.order_id, 'revenue', s.amount, 'currency', 'CNY'"
_ORDER_COUPON = _ORDER + ", 'coupon', s.coupon"


def _object(pairs: str) -> str:
    return f"json_object({_COMMON}, {pairs})" if pairs else f"json_object({_COMMON})"


def _properties_sql() -> str:
    cases = [f"WHEN {PART[name]} THEN {_object(sql)}" for name, sql in _PROPERTIES.items()]
    cases += [
        f"WHEN {PRODUCT_VIEW_PART} THEN {_object(_PRODUCT)}",
        f"WHEN {PART['landing']} THEN CASE WHEN s.utm_source IS NULL THEN {_object('')}"
        f" ELSE {_object(_UTM)} END",
        f"WHEN {PART['purchase']} THEN CASE WHEN s.coupon IS NULL THEN {_object(_ORDER)}"
        f" ELSE {_object(_ORDER_COUPON)} END",
    ]
    return "CASE e.part " + " ".join(cases) + f" ELSE {_object('')} END"


_URL = """$shop || CASE e.page
    WHEN 0 THEN '/'
    WHEN 1 THEN '/category/' || p.category
    WHEN 2 THEN '/product/' || p.product_id
    WHEN 3 THEN '/cart'
    WHEN 4 THEN '/checkout'
    WHEN 5 THEN '/order/success'
    WHEN 6 THEN '/promo/' || $campaign
    WHEN 7 THEN '/topic/' || s.content_id
    WHEN 8 THEN '/invite?code=' || s.inviter_code
    WHEN 9 THEN '/signup'
    WHEN 10 THEN '/points'
    ELSE '/invite/share' END
  || CASE WHEN e.part = 0 AND s.utm_source IS NOT NULL
       THEN '?utm_source=' || s.utm_source || '&utm_medium=' || s.utm_medium
            || '&utm_campaign=' || s.utm_campaign
       ELSE '' END"""

EVENTS_SQL = f"""
SELECT e.uuid, parts.event,
  CASE WHEN e.logged_in THEN s.user_id ELSE s.anon_id END AS distinct_id,
  e.ts AS timestamp,
  {_URL} AS url,
  {_properties_sql()} AS properties,
  s.referrer, s.utm_source, s.utm_medium, s.utm_campaign, s.os, s.browser, s.device_type,
  'CN' AS country, s.city,
  CASE WHEN e.part = {PART["purchase"]} THEN s.amount END AS revenue,
  s.session_id, e.seq
FROM e JOIN s ON e.session = s.sess JOIN parts ON e.part = parts.part
LEFT JOIN p ON e.product = p.pid
"""

ORDERS_SQL = """
SELECT s.order_id, s.user_id AS distinct_id, s.order_ts AS timestamp, s.amount,
       'CNY' AS currency,
       to_json(list({'product_id': p.product_id, 'category': p.category, 'price': p.price,
                     'quantity': l.quantity} ORDER BY l.line)) AS items,
       s.coupon, s.order_channel AS channel, s.order_campaign AS campaign
FROM s JOIN l ON l.session = s.sess JOIN p ON l.product = p.pid
WHERE s.order_id IS NOT NULL
GROUP BY ALL ORDER BY s.order_id
"""


def parts_table() -> pa.Table:
    """The part number -> event name dimension."""
    names = [p.event for p in PARTS] + ["product_view"]
    return pa.table({"part": pa.array(range(len(names)), pa.int64()), "event": names})


def compose(
    con: duckdb.DuckDBPyConnection, e: pa.Table, s: pa.Table, p: pa.Table, lines: pa.Table
) -> tuple[pa.Table, pa.Table]:
    """(events, orders) of one chunk, with timestamps as UTC-aware microseconds."""
    con.register("e", e)
    con.register("s", s)
    con.register("p", p)
    con.register("l", lines)
    con.register("parts", parts_table())
    params = {"shop": b.SHOP, "campaign": b.CAMPAIGN, "experiment": b.EXPERIMENT}
    unordered = con.sql(EVENTS_SQL, params=params).to_arrow_table()
    # Sorting in Arrow is cheaper than a DuckDB ORDER BY that moves every wide row.
    events = unordered.take(pc.sort_indices(unordered.column("seq"))).drop_columns(["seq"])
    orders = con.sql(ORDERS_SQL).to_arrow_table()
    for name in ("e", "s", "p", "l", "parts"):
        con.unregister(name)
    return _utc(events), _utc(orders)


def _utc(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("timestamp")
    ts = table.column(index).cast(pa.timestamp("us", tz="UTC"))
    return table.set_column(index, "timestamp", ts)
