"""Expand sessions into events: numpy lays out every event, DuckDB writes URLs and properties.

A session is a fixed sequence of parts (landing page, content view, signup, browsing, cart,
checkout, purchase, ...); each part occurs 0..k times per session. Events are placed by offset
arithmetic, so a chunk of 300k sessions turns into ~2M events without a Python loop per event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from growthloop.demo.population import Sessions

# Pages (the path of $current_url); LANDING means the session's landing page.
HOME, CATEGORY, PRODUCT, CART, CHECKOUT, SUCCESS, PROMO, TOPIC, INVITE, SIGNUP, POINTS, SHARE = (
    range(12)
)
LANDING = -1


@dataclass(frozen=True)
class Part:
    """One step of a session: its event, page and (in PROPERTIES) its event properties."""

    name: str
    event: str
    page: int


PARTS: tuple[Part, ...] = (
    Part("landing", "$pageview", LANDING),
    Part("content_view", "content_view", LANDING),
    Part("campaign", "campaign_participate", LANDING),
    Part("signup_page", "$pageview", SIGNUP),
    Part("identify", "$identify", SIGNUP),
    Part("signup", "signup", SIGNUP),
    Part("referral_signup", "referral_signup", SIGNUP),
    Part("signup_points", "points_earned", SIGNUP),
    Part("checkin_page", "$pageview", POINTS),
    Part("checkin_points", "points_earned", POINTS),
    Part("browse", "$pageview", CATEGORY),
    Part("product", "$pageview", PRODUCT),  # with product_view: two events per product
    Part("add_to_cart", "add_to_cart", PRODUCT),
    Part("cart_page", "$pageview", CART),
    Part("late_signup_page", "$pageview", SIGNUP),
    Part("late_identify", "$identify", SIGNUP),
    Part("late_signup", "signup", SIGNUP),
    Part("late_referral_signup", "referral_signup", SIGNUP),
    Part("late_signup_points", "points_earned", SIGNUP),
    Part("checkout_page", "$pageview", CHECKOUT),
    Part("exposure", "experiment_exposure", CHECKOUT),
    Part("redeem", "points_redeemed", CHECKOUT),
    Part("checkout", "checkout", CHECKOUT),
    Part("purchase", "purchase", CHECKOUT),
    Part("success_page", "$pageview", SUCCESS),
    Part("purchase_points", "points_earned", SUCCESS),
    Part("share_page", "$pageview", SHARE),
    Part("invite_sent", "invite_sent", SHARE),
)
PART = {p.name: i for i, p in enumerate(PARTS)}
PRODUCT_VIEW_PART = len(PARTS)  # the second event of each "product" pair
EVENT_NAMES = (*(p.event for p in PARTS), "product_view")


def part_counts(s: Sessions, invited: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(parts, sessions) how often each part occurs in each session."""
    early = s.signup & ~s.checkout
    late = s.signup & s.checkout
    one = np.ones(len(s), dtype=np.int64)
    rows = {
        "landing": one,
        "content_view": s.content_item >= 0,
        "campaign": s.campaign,
        "signup_page": early,
        "identify": early,
        "signup": early,
        "referral_signup": early & invited,
        "signup_points": early,
        "checkin_page": s.checkin,
        "checkin_points": s.checkin,
        "browse": s.pages,
        "product": 2 * s.product_views,
        "add_to_cart": s.items,
        "cart_page": s.items > 0,
        "late_signup_page": late,
        "late_identify": late,
        "late_signup": late,
        "late_referral_signup": late & invited,
        "late_signup_points": late,
        "checkout_page": s.checkout,
        "exposure": s.exposure,
        "redeem": s.redeem,
        "checkout": s.checkout,
        "purchase": s.purchase,
        "success_page": s.purchase,
        "purchase_points": s.purchase,
        "share_page": s.invite,
        "invite_sent": s.invite,
    }
    return np.stack([np.asarray(rows[p.name], dtype=np.int64) for p in PARTS])


@dataclass(frozen=True)
class Layout:
    """Every event of a chunk of sessions, in session order."""

    session: NDArray[np.int64]  # chunk-local session index
    part: NDArray[np.int64]  # index into PARTS, or PRODUCT_VIEW_PART
    repeat: NDArray[np.int64]  # k-th occurrence of the part in its session
    logged_in: NDArray[np.bool_]  # sent with the user id rather than the anonymous id
    ts_us: NDArray[np.int64]


def lay_out(
    rng: np.random.Generator,
    counts: NDArray[np.int64],
    start_us: NDArray[np.int64],
    signed_in_before: NDArray[np.bool_],
    signup: NDArray[np.bool_],
) -> Layout:
    """Place each session's events and time them (gaps of seconds, sessions under 25 minutes)."""
    n_parts, m = counts.shape
    per_session = counts.sum(axis=0)
    session_start = np.concatenate([[0], np.cumsum(per_session)[:-1]])
    part_offset = np.cumsum(counts, axis=0) - counts  # exclusive prefix sum over parts
    total = int(per_session.sum())
    session = np.empty(total, dtype=np.int64)
    part = np.empty(total, dtype=np.int64)
    repeat = np.empty(total, dtype=np.int64)
    for k in range(n_parts):
        c = counts[k]
        owners = np.repeat(np.arange(m), c)
        if len(owners) == 0:
            continue
        first_of = np.cumsum(c) - c
        j = np.arange(len(owners)) - first_of[owners]
        pos = session_start[owners] + part_offset[k, owners] + j
        session[pos] = owners
        part[pos] = k
        repeat[pos] = j
    pair = part == PART["product"]
    part[pair & (repeat % 2 == 1)] = PRODUCT_VIEW_PART
    repeat[pair] //= 2

    # The identify event switches the session to the user id.
    identify = (part == PART["identify"]) | (part == PART["late_identify"])
    index = np.arange(total)
    switch_at = np.full(m, total, dtype=np.int64)
    switch_at[session[identify]] = index[identify]
    logged_in = signed_in_before[session] | (signup[session] & (index >= switch_at[session]))

    gap = np.minimum(rng.exponential(22.0, total) + 1.0, 240.0)
    gap[session_start[session] == index] = 0.0
    elapsed = np.cumsum(gap)
    elapsed -= elapsed[session_start][session]
    length = np.zeros(m)
    np.maximum.at(length, session, elapsed)
    scale = np.minimum(1.0, 1500.0 / np.maximum(length, 1.0))
    ts_us = start_us[session] + np.floor(elapsed * scale[session] * 1e6).astype(np.int64)
    return Layout(session, part, repeat, logged_in, ts_us)
