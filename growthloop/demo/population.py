"""Visitors and their sessions, simulated per session with numpy (no per-event Python).

A visitor arrives on a day, from a source, on one platform, and comes back with a power-law
activity rate. Sessions sit in 4-hour slots of the local day, at most one per slot and visitor,
start in the first 2h50m of the slot and last under 30 minutes: so two sessions of one visitor are
always more than 30 minutes apart and a 30-minute sessioniser recovers exactly these sessions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from growthloop.demo import business as b
from growthloop.demo.content import ContentPlan

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

SLOT_US = 4 * 3600 * 1_000_000
START_SPAN_US = (2 * 3600 + 50 * 60) * 1_000_000
NO = np.iinfo(np.int64).max


@dataclass
class Visitors:
    """One row per visitor (index = visitor number)."""

    first_day: IntArray
    source: IntArray  # index into business.SOURCES of the first session
    platform: IntArray
    city: IntArray
    gender: IntArray
    age: IntArray
    vip: BoolArray
    dormant: BoolArray
    test_variant: BoolArray
    rate: FloatArray  # returning sessions per day


@dataclass
class Sessions:
    """One row per session, sorted by (visitor, start)."""

    visitor: IntArray
    day: IntArray
    start_us: IntArray
    first: BoolArray
    source: IntArray
    campaign: BoolArray  # arrived through the campaign's ads or joined it
    content_item: IntArray  # index into ContentPlan items, -1 for none
    pages: IntArray  # extra non-product pageviews
    product_views: IntArray
    items: IntArray  # cart lines, 0 = no cart
    checkout: BoolArray
    exposure: BoolArray
    purchase: BoolArray
    signup: BoolArray  # this session signs the visitor up
    signed_in: BoolArray  # the visitor is signed up at the end of this session
    checkin: BoolArray
    invite: BoolArray  # sends an invitation
    redeem: BoolArray  # redeems points at checkout

    def __len__(self) -> int:
        return len(self.visitor)


def _choice(rng: np.random.Generator, weights: tuple[float, ...] | FloatArray, n: int) -> IntArray:
    p = np.asarray(weights, dtype=np.float64)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def day_weight() -> FloatArray:
    """Relative traffic per day: slow growth, weekends, the campaign (weekday of day 0 applied later)."""
    days = np.arange(b.DAYS)
    weight = 1.0 + 0.25 * days / (b.DAYS - 1)
    for day, boost in b.CAMPAIGN_BOOST.items():
        weight[day] *= boost
    return weight


def make_visitors(
    rng: np.random.Generator, n: int, weekday0: int, content: ContentPlan
) -> Visitors:
    """Draw every visitor's arrival, source, platform, demographics and activity."""
    weekday = (weekday0 + np.arange(b.DAYS)) % 7
    base = day_weight() * np.asarray(b.WEEKDAY_WEIGHT)[weekday]
    source = _choice(rng, tuple(s.acquisition for s in b.SOURCES), n)
    first_day = _choice(rng, base, n)
    # Visitors from content posts arrive when the posts are read: hits make visible spikes.
    for index, src in enumerate(b.SOURCES):
        if src.content_channel:
            mask = source == index
            first_day[mask] = _choice(rng, content.intensity(src.content_channel), int(mask.sum()))
    vip = rng.random(n) < b.VIP_SHARE
    first_day[vip] = rng.integers(0, 15, int(vip.sum()))
    # Power-law activity: 40% never return, the rest return at a Lomax-distributed daily rate.
    rate = np.minimum(0.025 * (1.0 + rng.pareto(1.4, n)), 1.2)
    rate[rng.random(n) < 0.4] = 0.0
    rate[vip] = rng.uniform(0.2, 0.3, int(vip.sum()))
    return Visitors(
        first_day=first_day,
        source=source,
        platform=_choice(rng, b.PLATFORM_SHARE, n),
        city=_choice(rng, b.CITY_SHARE, n),
        gender=_choice(rng, b.GENDER_SHARE, n),
        age=_choice(rng, b.AGE_SHARE, n),
        vip=vip,
        dormant=vip & (rng.random(n) < b.DORMANT_SHARE),
        test_variant=rng.random(n) < 0.5,
        rate=rate,
    )


def _session_slots(
    rng: np.random.Generator, v: Visitors, weekday0: int
) -> tuple[IntArray, IntArray]:
    """(visitor, slot) of every session, sorted; slot = day * SLOTS_PER_DAY + slot of the day."""
    n = len(v.first_day)
    total_slots = b.DAYS * b.SLOTS_PER_DAY
    first_slot = v.first_day * b.SLOTS_PER_DAY + _choice(rng, b.SLOT_WEIGHT, n)
    remaining_days = (total_slots - 1 - first_slot) / b.SLOTS_PER_DAY
    extra = rng.poisson(v.rate * remaining_days * 1.6)
    owner = np.repeat(np.arange(n), extra)
    # Returns thin out with time since the first visit (u ** 1.5 piles them up early).
    span = (total_slots - 1 - first_slot)[owner]
    slot = first_slot[owner] + 1 + np.floor(span * rng.random(len(owner)) ** 1.5).astype(np.int64)
    slot = np.minimum(slot, total_slots - 1)
    # Keep returns in proportion to weekday and time-of-day traffic (thinning).
    weekday = (weekday0 + slot // b.SLOTS_PER_DAY) % 7
    weight = (
        np.asarray(b.WEEKDAY_WEIGHT)[weekday] * np.asarray(b.SLOT_WEIGHT)[slot % b.SLOTS_PER_DAY]
    )
    keep = rng.random(len(slot)) < weight / (max(b.WEEKDAY_WEIGHT) * max(b.SLOT_WEIGHT))
    owner, slot = owner[keep], slot[keep]
    # The campaign pulls known visitors back on its days.
    for day, boost in b.CAMPAIGN_BOOST.items():
        back = (v.first_day < day) & (rng.random(n) < np.minimum(0.9, v.rate * (boost - 1.0) * 1.5))
        who = np.flatnonzero(back)
        owner = np.concatenate([owner, who])
        slot = np.concatenate([slot, day * b.SLOTS_PER_DAY + _choice(rng, b.SLOT_WEIGHT, len(who))])
    owner = np.concatenate([np.arange(n), owner])
    slot = np.concatenate([first_slot, slot])
    dormant = (
        v.dormant[owner] & (slot >= b.DORMANT_DAY * b.SLOTS_PER_DAY) & (slot != first_slot[owner])
    )
    key = np.unique(owner[~dormant] * total_slots + slot[~dormant])
    return key // total_slots, key % total_slots


def _first_per_visitor(visitor: IntArray, flag: BoolArray, n_visitors: int) -> IntArray:
    """Index of each visitor's first flagged session (NO when none); sessions sorted by visitor."""
    index = np.where(flag, np.arange(len(flag)), NO)
    out = np.full(n_visitors, NO, dtype=np.int64)
    np.minimum.at(out, visitor, index)
    return out


def make_sessions(
    rng: np.random.Generator,
    v: Visitors,
    day_start_us: IntArray,
    weekday0: int,
    content: ContentPlan,
) -> Sessions:
    """Every session with its source and how far down the funnel it goes."""
    visitor, slot = _session_slots(rng, v, weekday0)
    m = len(visitor)
    day = slot // b.SLOTS_PER_DAY
    start = (
        day_start_us[day] + (slot % b.SLOTS_PER_DAY) * SLOT_US + rng.integers(0, START_SPAN_US, m)
    )
    first = np.r_[True, visitor[1:] != visitor[:-1]]

    returning = _choice(rng, tuple(s.returning for s in b.SOURCES), m)
    again = rng.random(m) < 0.15  # came back through the same source (retargeting, bookmarks)
    source = np.where(first | again, v.source[visitor], returning)
    source[(~first) & (source == b.SOURCE_INDEX["invite"])] = b.SOURCE_INDEX["direct"]

    campaign_day = np.isin(day, b.CAMPAIGN_DAYS)
    paid = np.isin(source, [b.SOURCE_INDEX[k] for k in b.PAID_SOURCES])
    campaign = campaign_day & ((paid & (rng.random(m) < 0.7)) | (rng.random(m) < 0.45))

    content_item = content.assign(rng, source, day)

    vip = v.vip[visitor]
    quality = np.asarray([s.quality for s in b.SOURCES])[source]
    viewed = rng.random(m) < np.where(vip, 0.95, b.P_PRODUCT_VIEW)
    product_views = np.where(viewed, np.minimum(rng.geometric(0.45, m), 8), 0)
    pages = np.minimum(rng.geometric(0.5, m) - 1, 6)
    p_cart = b.P_CART * quality * np.where(campaign_day, 1.4, 1.0) * np.where(vip, 4.0, 1.0)
    cart = viewed & (rng.random(m) < np.minimum(p_cart, 0.95))
    lines = 1 + (rng.random(m) < 0.25) + (rng.random(m) < 0.08) + vip
    items = np.where(cart, lines, 0)
    product_views = np.maximum(product_views, items)
    checkout = cart & (rng.random(m) < np.where(vip, 0.88, b.P_CHECKOUT))

    # Checkout needs an account: a visitor signs up in the first session that checks out (or
    # browses into a signup); invited visitors sign up at once.
    invited = first & (source == b.SOURCE_INDEX["invite"])
    wants = checkout | (rng.random(m) < b.P_SIGNUP_BROWSING) | invited
    signup_at = _first_per_visitor(visitor, wants, len(v.first_day))[visitor]
    index = np.arange(m)
    signup = index == signup_at
    signed_in = index >= signup_at
    # Email and push reach only customers with an account.
    reach = np.isin(source, [b.SOURCE_INDEX["edm"], b.SOURCE_INDEX["push"]])
    source[reach & ~signed_in] = b.SOURCE_INDEX["direct"]
    source[reach & signup] = b.SOURCE_INDEX["direct"]

    exposure = checkout & (day >= b.EXPERIMENT_START)
    platform = v.platform[visitor]
    p_buy = np.asarray(b.PURCHASE_RATE)[platform] + np.where(
        exposure & v.test_variant[visitor], b.EXPERIMENT_LIFT, 0.0
    )
    leak = (platform == b.PLATFORMS.index("Android")) & (day >= b.LEAK_START)
    p_buy = np.where(leak, p_buy * b.LEAK_FACTOR, p_buy)
    purchase = checkout & (rng.random(m) < p_buy)

    app = platform <= b.PLATFORMS.index("Android")
    return Sessions(
        visitor=visitor,
        day=day,
        start_us=start,
        first=first,
        source=source,
        campaign=campaign,
        content_item=content_item,
        pages=pages,
        product_views=product_views,
        items=items,
        checkout=checkout,
        exposure=exposure,
        purchase=purchase,
        signup=signup,
        signed_in=signed_in,
        checkin=signed_in & app & (rng.random(m) < 0.2),
        invite=signed_in & (rng.random(m) < 0.04),
        redeem=purchase & ~campaign & (rng.random(m) < 0.12),
    )
