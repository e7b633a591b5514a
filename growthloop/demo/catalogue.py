"""The shop's products and what each cart holds: lines, quantities, coupons and amounts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from growthloop.demo import business as b
from growthloop.demo.population import Sessions, Visitors

MAX_LINES = 4
CAMPAIGN_THRESHOLD, CAMPAIGN_DISCOUNT = 19_900, 3_000  # cents: 30 off 199
NEW_THRESHOLD, NEW_DISCOUNT = 9_900, 2_000  # cents: 20 off 99 on a new customer's order
NEW_COUPON = "NEW20"


@dataclass(frozen=True)
class Catalogue:
    """Products: category, price in cents, popularity (sums to 1)."""

    category: NDArray[np.int64]
    price_cents: NDArray[np.int64]
    popularity: NDArray[np.float64]

    @property
    def product_ids(self) -> list[str]:
        return [f"p{i + 1:04d}" for i in range(len(self.category))]

    def draw(self, rng: np.random.Generator, n: int) -> NDArray[np.int64]:
        """n products drawn by popularity."""
        pos = np.searchsorted(np.cumsum(self.popularity), rng.random(n), side="right")
        return np.minimum(pos, len(self.popularity) - 1)


def make_catalogue(rng: np.random.Generator) -> Catalogue:
    """b.PRODUCTS products; prices end in 9 (a ¥...9 shelf price) and popularity is Zipf-like."""
    category = rng.permutation(np.arange(b.PRODUCTS) % len(b.CATEGORIES))
    raw = np.asarray(b.CATEGORY_PRICE)[category] * rng.lognormal(0.0, 0.35, b.PRODUCTS)
    price = (np.maximum(np.round(raw / 10.0), 1.0) * 10.0 - 1.0) * 100.0
    popularity = 1.0 / (1.0 + rng.permutation(b.PRODUCTS)) ** 0.9
    return Catalogue(category, price.astype(np.int64), popularity / popularity.sum())


@dataclass(frozen=True)
class Baskets:
    """Per session: cart line products and quantities (-1 / 0 past the session's lines)."""

    product: NDArray[np.int64]  # (sessions, MAX_LINES)
    quantity: NDArray[np.int64]
    subtotal_cents: NDArray[np.int64]
    amount_cents: NDArray[np.int64]  # what a purchase pays after the coupon
    coupon: NDArray[np.int64]  # 0 none, 1 campaign coupon, 2 new-customer coupon


def make_baskets(rng: np.random.Generator, cat: Catalogue, s: Sessions, v: Visitors) -> Baskets:
    """Fill every cart; the campaign coupon applies on campaign days, NEW20 on some first orders."""
    m = len(s)
    product = cat.draw(rng, m * MAX_LINES).reshape(m, MAX_LINES)
    vip = v.vip[s.visitor][:, None]
    quantity = np.where(
        vip, rng.integers(1, 4, (m, MAX_LINES)), 1 + (rng.random((m, MAX_LINES)) < 0.18)
    )
    used = np.arange(MAX_LINES)[None, :] < s.items[:, None]
    product = np.where(used, product, -1)
    quantity = np.where(used, quantity, 0)
    subtotal = (cat.price_cents[np.maximum(product, 0)] * quantity).sum(axis=1)
    campaign = s.campaign & (subtotal >= CAMPAIGN_THRESHOLD)
    new = ~campaign & s.signup & (subtotal >= NEW_THRESHOLD) & (rng.random(m) < b.P_COUPON * 4)
    coupon = np.where(campaign, 1, np.where(new, 2, 0))
    discount = np.where(campaign, CAMPAIGN_DISCOUNT, np.where(new, NEW_DISCOUNT, 0))
    return Baskets(product, quantity, subtotal, subtotal - discount, coupon)
