"""Advertising spend and content statistics, both derived from the simulated sessions.

Spend rows are what the ad platforms report: clicks a little above the landings we saw (some
clicks never load the page), impressions from the click-through rate, cost from the CPC. Content
metrics are what the platforms report per post and day: views, engagement, link clicks (= visits
that reached the shop) and conversions (= purchases in those visits).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from growthloop.demo import business as b
from growthloop.demo.content import HALF_LIFE_DAYS, ContentPlan
from growthloop.demo.population import Sessions

CAMPAIGN_CPC_PREMIUM = 1.35  # auctions are dearer during the campaign
CONTENT_CTR = {"WeChat": 0.02, "Xiaohongshu": 0.015, "Douyin": 0.01, "Zhihu": 0.02}
AUTHORS = ("运营小美", "内容组阿杰", "编辑Lily", "主编老王")
CONTENT_URL = {
    "WeChat": "https://mp.weixin.qq.com/s/",
    "Xiaohongshu": "https://www.xiaohongshu.com/explore/",
    "Douyin": "https://www.douyin.com/video/",
    "Zhihu": "https://www.zhihu.com/answer/",
}


def make_spend(rng: np.random.Generator, s: Sessions, cal: b.Calendar) -> tuple[pa.Table, float]:
    """(spend table, campaign spend) per day, paid source and campaign."""
    rows: dict[str, list[object]] = {
        k: [] for k in ("date", "channel", "campaign", "spend", "impressions", "clicks", "currency")
    }
    campaign_total = 0.0
    for key in b.PAID_SOURCES:
        src = b.SOURCES[b.SOURCE_INDEX[key]]
        mine = s.source == b.SOURCE_INDEX[key]
        for in_campaign in (False, True):
            landings = np.bincount(s.day[mine & (s.campaign == in_campaign)], minlength=b.DAYS)
            clicks = np.round(landings * rng.uniform(1.05, 1.2, b.DAYS)).astype(np.int64)
            ctr = src.ctr * rng.uniform(0.85, 1.15, b.DAYS)
            impressions = np.round(clicks / ctr).astype(np.int64)
            cpc = src.cpc * (CAMPAIGN_CPC_PREMIUM if in_campaign else 1.0)
            cost = np.round(clicks * cpc * rng.uniform(0.9, 1.1, b.DAYS), 2)
            for day in np.flatnonzero(landings):
                rows["date"].append(cal.day(int(day)))
                rows["channel"].append(key)
                rows["campaign"].append(b.CAMPAIGN if in_campaign else src.campaign)
                rows["spend"].append(float(cost[day]))
                rows["impressions"].append(int(impressions[day]))
                rows["clicks"].append(int(clicks[day]))
                rows["currency"].append("CNY")
            if in_campaign:
                campaign_total += float(cost.sum())
    table = pa.table(rows).sort_by(
        [("date", "ascending"), ("channel", "ascending"), ("campaign", "ascending")]
    )
    return table, campaign_total


def campaign_budget(campaign_spend: float) -> int:
    """The campaign's budget: its spend plus a little headroom, in whole hundreds."""
    return int(math.ceil(campaign_spend * 1.08 / 100.0) * 100)


def make_content_items(plan: ContentPlan, cal: b.Calendar, tz: ZoneInfo) -> pa.Table:
    """The content_items import table; posts go out at 20:00 local time."""
    ids = plan.item_ids
    published = [
        datetime.combine(cal.day(int(d)), time(20), tz).astimezone(UTC) for d in plan.publish_day
    ]
    channels = [b.CONTENT_CHANNELS[c] for c in plan.channel]
    return pa.table(
        {
            "item_id": ids,
            "title": list(plan.title),
            "channel": channels,
            "format": [b.CONTENT_FORMAT[c] for c in channels],
            "topic": [b.CATEGORIES[t] for t in plan.topic],
            "author": [AUTHORS[i % len(AUTHORS)] for i in range(len(ids))],
            "published_at": pa.array(published, pa.timestamp("us", tz="UTC")),
            "url": [CONTENT_URL[c] + i for c, i in zip(channels, ids, strict=True)],
            "properties": ['{"language":"zh-CN"}'] * len(ids),
        }
    )


def make_content_metrics(
    rng: np.random.Generator, plan: ContentPlan, s: Sessions, cal: b.Calendar
) -> pa.Table:
    """Daily statistics per post from its publish day (or day 0) to the end of the window."""
    n_items = len(plan.channel)
    has = s.content_item >= 0
    cell = s.content_item[has] * b.DAYS + s.day[has]
    clicks = np.bincount(cell, minlength=n_items * b.DAYS).reshape(n_items, b.DAYS)
    conversions = np.bincount(cell, weights=s.purchase[has], minlength=n_items * b.DAYS)
    conversions = conversions.reshape(n_items, b.DAYS).astype(np.int64)
    read = plan.readership()
    # Expected visits per post and day: the channel's visits shared by readership.
    expected = np.zeros_like(read)
    for c in range(len(b.CONTENT_CHANNELS)):
        mine = plan.channel == c
        channel_visits = clicks[mine].sum(axis=0)
        weight = read[mine] / np.maximum(read[mine].sum(axis=0), 1e-12)
        smooth = np.convolve(channel_visits, np.ones(3) / 3.0, mode="same")
        expected[mine] = weight * smooth
    ctr = np.asarray([CONTENT_CTR[b.CONTENT_CHANNELS[c]] for c in plan.channel])[:, None]
    views = rng.poisson(np.maximum(expected, 0.05 * (read > 0)) / ctr)
    views = np.maximum(views, clicks)
    live = (read > 0) & ((views > 0) | (clicks > 0))
    item, day = np.nonzero(live)
    v = views[item, day]
    half = np.asarray([HALF_LIFE_DAYS[b.CONTENT_CHANNELS[c]] for c in plan.channel])[item]
    engaged = 1.0 + 0.5 * (half > 5)  # slow channels gather more considered engagement

    def share(rate: float) -> list[int]:
        drawn: list[int] = rng.binomial(v, np.minimum(rate * engaged, 1.0)).tolist()
        return drawn

    ids = plan.item_ids
    return pa.table(
        {
            "item_id": [ids[i] for i in item],
            "date": [cal.day(int(d)) for d in day],
            "views": v.tolist(),
            "likes": share(0.04),
            "comments": share(0.005),
            "shares": share(0.008),
            "favourites": share(0.02),
            "follows": share(0.002),
            "clicks": clicks[item, day].tolist(),
            "conversions": conversions[item, day].tolist(),
        }
    )
