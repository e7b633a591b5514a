"""Session-level attributes as an Arrow table, and the per-chunk event and order tables."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from growthloop.demo import business as b
from growthloop.demo.accounts import Accounts
from growthloop.demo.catalogue import MAX_LINES, Baskets, Catalogue
from growthloop.demo.compose import compose
from growthloop.demo.content import ContentPlan
from growthloop.demo.events import (
    CATEGORY,
    HOME,
    INVITE,
    LANDING,
    PART,
    PARTS,
    PRODUCT,
    PRODUCT_VIEW_PART,
    PROMO,
    TOPIC,
    lay_out,
)
from growthloop.demo.identifiers import numbered_ids, random_hex_ids, random_uuids
from growthloop.demo.population import Sessions, Visitors

OS = ("iOS", "Android", "Windows", "macOS")
BROWSERS = ("App", "Mobile Safari", "Chrome", "Edge", "Safari", "Chrome Mobile", "WeChat")
DEVICES = ("Mobile", "Tablet", "Desktop")
COUPONS = (None, b.CAMPAIGN_COUPON, "NEW20")


@dataclass(frozen=True)
class World:
    """Everything simulated above the level of single events."""

    cal: b.Calendar
    tz: ZoneInfo
    day_start_us: NDArray[np.int64]
    content: ContentPlan
    visitors: Visitors
    sessions: Sessions
    accounts: Accounts
    catalogue: Catalogue
    baskets: Baskets


def user_digits(world: World) -> int:
    return max(6, len(str(int(world.accounts.user_number.max()))))


def _names(names: tuple[str | None, ...], codes: NDArray[np.int64]) -> pa.Array:
    """names[code] per code; a negative code gives null."""
    return pa.array(names, pa.string()).take(pa.array(codes, mask=codes < 0))


def _devices(
    rng: np.random.Generator, platform: NDArray[np.int64]
) -> tuple[NDArray[np.int64], ...]:
    """(os, browser, device) codes per visitor, consistent with the platform."""
    n = len(platform)
    u = rng.random(n)
    ios, android, web, mini = (platform == i for i in range(4))
    mobile_web = web & (u < 0.4)
    phone_android = android | (mini & (u < 0.6)) | (mobile_web & (u < 0.22))
    os = np.where(phone_android, 1, 0)
    desktop = web & ~mobile_web
    os = np.where(desktop, np.where(u < 0.82, 2, 3), os)
    browser = np.where(ios | android, 0, 6)
    browser = np.where(mobile_web, np.where(os == 0, 1, 5), browser)
    browser = np.where(desktop, np.where(os == 3, 4, np.where(u < 0.62, 2, 3)), browser)
    device = np.where(desktop, 2, np.where(ios & (rng.random(n) < 0.1), 1, 0))
    return os, browser, device


def _landing(
    rng: np.random.Generator, s: Sessions, invited: NDArray[np.bool_]
) -> NDArray[np.int64]:
    m = len(s)
    u = rng.random(m)
    src = s.source
    idx = b.SOURCE_INDEX
    paid = np.isin(src, [idx[k] for k in (*b.PAID_SOURCES,)])
    page = np.where(u < 0.8, HOME, PRODUCT)  # direct
    page = np.where(paid, np.where(u < 0.4, HOME, np.where(u < 0.75, PRODUCT, CATEGORY)), page)
    search = src == idx["organic_search"]
    page = np.where(search, np.where(u < 0.5, PRODUCT, np.where(u < 0.8, CATEGORY, HOME)), page)
    page = np.where(src == idx["referral"], np.where(u < 0.7, PRODUCT, HOME), page)
    page = np.where(s.campaign & (paid | (u < 0.5)), PROMO, page)
    page = np.where(s.content_item >= 0, TOPIC, page)
    return np.where(invited, INVITE, page)


def session_table(world: World, rng: np.random.Generator) -> pa.Table:
    """One row per session with every attribute its events need (global session index `sess`)."""
    s, v, a, bk = world.sessions, world.visitors, world.accounts, world.baskets
    m = len(s)
    visitor = s.visitor
    digits = user_digits(world)
    user_ids = numbered_ids(a.user_number, "u_", digits)
    user_ids = pc.if_else(pa.array(a.user_number > 0), user_ids, None)
    invite_codes = pc.if_else(
        pa.array(a.user_number > 0), numbered_ids(a.user_number, "INV", digits), None
    )
    anon = random_hex_ids(rng, len(v.first_day), "anon_", 16)
    os, browser, device = _devices(rng, v.platform)

    src = b.SOURCES
    paid = np.asarray([x.cpc > 0 for x in src])[s.source]
    campaign_name = np.where(s.campaign & paid, len(src), s.source)
    utm_campaigns = (*(x.campaign or None for x in src), b.CAMPAIGN)
    hosts = [h for x in src for h in (x.referrer or "").split("|") if h]
    first_host = np.cumsum(
        [0] + [len((x.referrer or "").split("|")) if x.referrer else 0 for x in src]
    )
    n_hosts = np.diff(first_host)[s.source]
    host = np.where(
        n_hosts > 0,
        first_host[s.source] + (rng.random(m) * np.maximum(n_hosts, 1)).astype(np.int64),
        len(hosts),
    )
    referrers = (*(f"https://{h}/" for h in hosts), None)

    first_source = np.zeros(len(v.first_day), dtype=np.int64)
    first_source[visitor[s.first]] = s.source[s.first]
    invited = a.inviter >= 0
    inviter_number = np.where(invited, a.user_number[np.maximum(a.inviter, 0)], 0)
    inviter_ids = numbered_ids(inviter_number, "u_", digits)
    inviter_codes = numbered_ids(inviter_number, "INV", digits)

    purchases = np.flatnonzero(s.purchase)
    order_number = np.zeros(m, dtype=np.int64)
    order_number[purchases[np.argsort(s.start_us[purchases], kind="stable")]] = np.arange(
        1, len(purchases) + 1
    )
    order_ids = numbered_ids(order_number, "o_", 8)
    order_campaign = np.where(s.campaign, len(src), np.where(paid, s.source, -1))
    content_ids = (*world.content.item_ids, None)
    content_channels = (*(b.CONTENT_CHANNELS[c] for c in world.content.channel), None)
    none = pa.nulls(m, pa.string())
    return pa.table(
        {
            "sess": pa.array(np.arange(m)),
            "session_id": random_uuids(rng, m),
            "anon_id": anon.take(pa.array(visitor)),
            "user_id": user_ids.take(pa.array(visitor)),
            "platform": _names(b.PLATFORMS, v.platform[visitor]),
            "os": _names(OS, os[visitor]),
            "browser": _names(BROWSERS, browser[visitor]),
            "device_type": _names(DEVICES, device[visitor]),
            "city": _names(b.CITIES, v.city[visitor]),
            "gender": _names(b.GENDERS, v.gender[visitor]),
            "age_group": _names(b.AGE_GROUPS, v.age[visitor]),
            "signup_channel": _names(tuple(x.key for x in src), first_source[visitor]),
            "signup_method": _names(("phone", "wechat"), (rng.random(m) < 0.4).astype(np.int64)),
            "utm_source": _names(tuple(x.utm_source for x in src), s.source),
            "utm_medium": _names(tuple(x.utm_medium for x in src), s.source),
            "utm_campaign": _names(utm_campaigns, campaign_name),
            "referrer": _names(referrers, host),
            "landing": pa.array(_landing(rng, s, invited)),
            "landing_product": pa.array(world.catalogue.draw(rng, m)),
            "content_id": _names(content_ids, s.content_item),
            "content_channel": _names(content_channels, s.content_item),
            "inviter": pc.if_else(pa.array(invited), inviter_ids, none),
            "inviter_code": pc.if_else(pa.array(invited), inviter_codes, none),
            "invite_code": invite_codes.take(pa.array(visitor)),
            "variant": _names(("control", "test"), v.test_variant[visitor].astype(np.int64)),
            "redeem_points": pa.array(100 * rng.integers(1, 21, m)),
            "lines": pa.array(s.items),
            "subtotal": pa.array(bk.subtotal_cents / 100.0).cast(pa.decimal128(18, 2)),
            "amount": pa.array(bk.amount_cents / 100.0).cast(pa.decimal128(18, 2)),
            "coupon": _names(COUPONS, bk.coupon),
            "order_id": pc.if_else(pa.array(s.purchase), order_ids, none),
            "order_channel": _names(tuple(x.key for x in src), s.source),
            "order_campaign": _names(
                (*utm_campaigns, None), np.where(order_campaign < 0, len(src) + 1, order_campaign)
            ),
        }
    )


def _products(cat: Catalogue) -> pa.Table:
    return pa.table(
        {
            "pid": pa.array(np.arange(len(cat.category))),
            "product_id": cat.product_ids,
            "category": _names(b.CATEGORIES, cat.category),
            "price": pa.array(cat.price_cents / 100.0),
        }
    )


def chunk_tables(
    con: duckdb.DuckDBPyConnection,
    world: World,
    sessions: pa.Table,
    counts: NDArray[np.int64],
    first: int,
    last: int,
    rng: np.random.Generator,
) -> tuple[pa.Table, pa.Table]:
    """(events, orders) of sessions first..last-1; events of the outage day mostly dropped."""
    s, bk = world.sessions, world.baskets
    sl = slice(first, last)
    signed_before = s.signed_in[sl] & ~s.signup[sl]
    lay = lay_out(rng, counts[:, sl], s.start_us[sl], signed_before, s.signup[sl])
    sess = lay.session + first
    n = len(sess)
    page = np.asarray([p.page for p in PARTS] + [PRODUCT], dtype=np.int64)[lay.part]
    landing = sessions.column("landing").to_numpy()[sess]
    page = np.where(page == LANDING, landing, page)

    # Products: the first product pages show the cart's lines, others are browsed by popularity.
    product = np.full(n, -1, dtype=np.int64)
    quantity = np.zeros(n, dtype=np.int64)
    shows = (lay.part == PART["product"]) | (lay.part == PRODUCT_VIEW_PART)
    cart = lay.part == PART["add_to_cart"]
    line = np.minimum(lay.repeat, MAX_LINES - 1)
    in_cart = (shows & (lay.repeat < s.items[sess])) | cart
    product[in_cart] = bk.product[sess[in_cart], line[in_cart]]
    quantity[cart] = bk.quantity[sess[cart], line[cart]]
    browsed = shows & ~in_cart
    drawn = world.catalogue.draw(rng, n)
    pair_second = lay.part == PRODUCT_VIEW_PART
    # a product_view repeats the product of the $pageview just before it
    drawn[1:] = np.where(pair_second[1:], drawn[:-1], drawn[1:])
    product[browsed] = drawn[browsed]
    category_page = page == CATEGORY
    product[category_page] = drawn[category_page]
    at_landing = (page == PRODUCT) & (lay.part <= PART["campaign"])
    product[at_landing] = sessions.column("landing_product").to_numpy()[sess[at_landing]]

    purchase = lay.part == PART["purchase"]
    order_ts = np.zeros(len(s), dtype=np.int64)
    order_ts[sess[purchase]] = lay.ts_us[purchase]

    local_day = np.searchsorted(world.day_start_us, lay.ts_us, side="right") - 1
    lost = (local_day == b.OUTAGE_DAY) & (rng.random(n) >= b.OUTAGE_KEEP)
    keep = ~lost
    e = pa.table(
        {
            "seq": pa.array(np.arange(n)[keep]),
            "session": pa.array(sess[keep]),
            "part": pa.array(lay.part[keep]),
            "page": pa.array(page[keep]),
            "product": pa.array(product[keep]),
            "quantity": pa.array(quantity[keep]),
            "logged_in": pa.array(lay.logged_in[keep]),
            "ts": pa.array(lay.ts_us[keep]),
            "uuid": random_uuids(rng, n).filter(pa.array(keep)),
        }
    )
    chunk = sessions.slice(first, last - first)
    chunk = chunk.append_column("order_ts", pa.array(order_ts[sl]))
    buyers = np.flatnonzero(s.purchase[sl]) + first
    lines = np.repeat(buyers, s.items[buyers])
    line_no = np.arange(len(lines)) - np.repeat(
        np.cumsum(s.items[buyers]) - s.items[buyers], s.items[buyers]
    )
    order_lines = pa.table(
        {
            "session": pa.array(lines),
            "line": pa.array(line_no),
            "product": pa.array(bk.product[lines, line_no]),
            "quantity": pa.array(bk.quantity[lines, line_no]),
        }
    )
    return compose(con, e, chunk, _products(world.catalogue), order_lines)


def reward_events(
    con: duckdb.DuckDBPyConnection, world: World, rng: np.random.Generator
) -> pa.Table:
    """The inviters' referral points: server-side events, no session or page."""
    a = world.accounts
    keep = a.reward_us < world.day_start_us[-1]
    inviter = a.reward_visitor[keep]
    table = pa.table(
        {
            "uuid": random_uuids(rng, int(keep.sum())),
            "distinct_id": numbered_ids(a.user_number[inviter], "u_", user_digits(world)),
            "ts": a.reward_us[keep],
            "platform": pa.array(b.PLATFORMS).take(pa.array(world.visitors.platform[inviter])),
        }
    )
    con.register("r", table)
    out = con.sql(
        "SELECT uuid, 'points_earned' AS event, distinct_id, ts AS timestamp,"
        " json_object('platform', platform, 'points', $points, 'rule', 'referral') AS properties,"
        " NULL::VARCHAR AS url, NULL::VARCHAR AS referrer, NULL::VARCHAR AS utm_source,"
        " NULL::VARCHAR AS utm_medium, NULL::VARCHAR AS utm_campaign, NULL::VARCHAR AS os,"
        " NULL::VARCHAR AS browser, NULL::VARCHAR AS device_type, NULL::VARCHAR AS country,"
        " NULL::VARCHAR AS city, NULL::DECIMAL(18,2) AS revenue, NULL::VARCHAR AS session_id"
        " FROM r ORDER BY ts, uuid",
        params={"points": 200},
    ).to_arrow_table()
    con.unregister("r")
    index = out.schema.get_field_index("timestamp")
    return out.set_column(index, "timestamp", out.column(index).cast(pa.timestamp("us", tz="UTC")))
