"""The demo business: who its customers are, where they come from and the patterns planted in it.

Every number the generator uses lives here, so docs/demo.md and the tests can quote them.
Days are numbered 0..89 inside the 90-day window that ends on `end` (day 89).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

DAYS = 90
Size = Literal["small", "medium", "large"]
SIZES: tuple[Size, ...] = ("small", "medium", "large")

# Visitors per size, calibrated so the event counts land near ~100k / ~2M / ~20M.
VISITORS: dict[str, int] = {"small": 6_000, "medium": 120_000, "large": 1_200_000}

SHOP = "https://shop.example.cn"

# --- planted patterns (day indexes inside the window) -------------------------------------------
OUTAGE_DAY = 47  # tracking outage: most client events of this local day are lost
OUTAGE_KEEP = 0.08  # share of that day's events that still arrive
EXPERIMENT = "new_checkout"
EXPERIMENT_START = 30  # exposures from this day to the end
EXPERIMENT_LIFT = 0.14  # absolute lift of checkout -> purchase for variant "test"
DORMANT_DAY = 60  # dormant high-value customers have no session from this day on
DORMANT_SHARE = 0.7  # share of the high-value segment that goes dormant
VIP_SHARE = 0.015  # share of visitors in the high-value segment
LEAK_START = 80  # Android checkout -> purchase leak from this day to the end
LEAK_FACTOR = 0.4  # Android checkout -> purchase probability is multiplied by this
CAMPAIGN = "super_brand_day"
CAMPAIGN_DAYS = (66, 67, 68, 69, 70)  # warm-up 66-69, main day 70
CAMPAIGN_BOOST = {66: 1.5, 67: 1.6, 68: 1.8, 69: 2.0, 70: 3.2}  # traffic multiplier
CAMPAIGN_COUPON = "SBD30"  # 30 off orders of 199 or more during the campaign
CAMPAIGN_BUDGET_PER_VISITOR = 0.5  # CNY of campaign budget per demo visitor (scales with size)
POOR_ROI_SOURCE = "douyin"

# Weekly seasonality of a consumer app: more traffic at weekends (Monday = 0).
WEEKDAY_WEIGHT = (0.88, 0.86, 0.88, 0.92, 1.02, 1.28, 1.22)
# Traffic by 4-hour slot of the local day (00-04, 04-08, ..., 20-24): evenings peak.
SLOT_WEIGHT = (0.18, 0.30, 0.95, 1.0, 1.05, 1.6)
SLOTS_PER_DAY = len(SLOT_WEIGHT)

PLATFORMS = ("iOS", "Android", "Web", "MiniProgram")
PLATFORM_SHARE = (0.32, 0.38, 0.12, 0.18)
# checkout -> purchase probability per platform before any planted effect
PURCHASE_RATE = (0.66, 0.64, 0.60, 0.62)

CITIES = (
    "Shanghai",
    "Beijing",
    "Guangzhou",
    "Shenzhen",
    "Hangzhou",
    "Chengdu",
    "Wuhan",
    "Nanjing",
    "Xi'an",
    "Chongqing",
    "Suzhou",
    "Tianjin",
    "Changsha",
    "Xiamen",
    "Qingdao",
)
CITY_SHARE = (
    0.14,
    0.13,
    0.09,
    0.09,
    0.08,
    0.07,
    0.06,
    0.06,
    0.05,
    0.05,
    0.05,
    0.04,
    0.03,
    0.03,
    0.03,
)
GENDERS = ("female", "male")
GENDER_SHARE = (0.62, 0.38)
AGE_GROUPS = ("18-24", "25-29", "30-34", "35-44", "45+")
AGE_SHARE = (0.24, 0.30, 0.22, 0.16, 0.08)


@dataclass(frozen=True)
class Source:
    """A traffic source: how a session arrives and what it costs when paid."""

    key: str
    utm_source: str | None
    utm_medium: str | None
    referrer: str | None  # referrer host(s), '|'-separated alternatives
    acquisition: float  # share of first sessions
    returning: float  # share of later sessions
    quality: float  # multiplier of add-to-cart probability
    cpc: float  # cost per click in CNY (0 = unpaid)
    ctr: float  # clicks per impression (or per send for edm / push)
    campaign: str  # always-on campaign name in utm_campaign ('' = none)
    content_channel: str = ""  # content posts on this platform bring these visits


# fmt: off
# key, utm_source, utm_medium, referrer hosts, acquisition, returning, quality, cpc, ctr, campaign
SOURCES: tuple[Source, ...] = (
    Source("baidu", "baidu", "cpc", "www.baidu.com", 0.13, 0.04, 1.25, 4.6, 0.045, "baidu_sem_brand"),
    Source("wechat", "wechat", "paid_social", "mp.weixin.qq.com", 0.09, 0.03, 1.0, 2.9, 0.012, "wechat_moments_ads"),
    Source("douyin", "douyin", "paid_social", "www.douyin.com", 0.13, 0.03, 0.35, 5.8, 0.015, "douyin_feed_ads"),
    Source("xiaohongshu", "xiaohongshu", "paid_social", "www.xiaohongshu.com", 0.08, 0.02, 1.1, 3.6, 0.02, "xhs_feed_ads"),
    Source("zhihu", "zhihu", "paid_social", "www.zhihu.com", 0.04, 0.01, 1.0, 3.2, 0.018, "zhihu_feed_ads"),
    Source("wechat_post", None, None, "mp.weixin.qq.com", 0.035, 0.02, 0.9, 0.0, 0.0, "", "WeChat"),
    Source("xiaohongshu_post", None, None, "www.xiaohongshu.com", 0.03, 0.015, 0.9, 0.0, 0.0, "", "Xiaohongshu"),
    Source("douyin_post", None, None, "www.douyin.com", 0.025, 0.01, 0.6, 0.0, 0.0, "", "Douyin"),
    Source("zhihu_post", None, None, "www.zhihu.com", 0.015, 0.01, 1.0, 0.0, 0.0, "", "Zhihu"),
    Source("organic_search", None, None, "www.baidu.com|www.sogou.com|www.so.com|m.sm.cn|cn.bing.com", 0.17, 0.12, 1.1, 0.0, 0.0, ""),
    Source("direct", None, None, None, 0.14, 0.42, 1.3, 0.0, 0.0, ""),
    Source("referral", None, None, "www.smzdm.com|www.ithome.com|36kr.com|www.ifanr.com", 0.06, 0.05, 1.0, 0.0, 0.0, ""),
    Source("edm", "edm", "email", None, 0.0, 0.08, 1.3, 0.4, 0.03, "edm_weekly"),
    Source("push", "push", "push", None, 0.0, 0.13, 1.1, 0.12, 0.05, "push_daily"),
    Source("invite", None, None, "servicewechat.com", 0.04, 0.0, 1.1, 0.0, 0.0, ""),
)
# fmt: on
SOURCE_INDEX = {s.key: i for i, s in enumerate(SOURCES)}
PAID_SOURCES = tuple(s.key for s in SOURCES if s.cpc > 0)

# Funnel probabilities per session (before the multipliers above).
P_PRODUCT_VIEW = 0.72
P_CART = 0.16  # given a product view
P_CHECKOUT = 0.62  # given a cart
P_SIGNUP_BROWSING = 0.05  # a session that signs up without going to checkout
P_COUPON = 0.10  # outside the campaign: a new-customer coupon on the order

CATEGORIES = ("skincare", "makeup", "snacks", "home", "apparel", "digital")
CATEGORY_PRICE = (128.0, 99.0, 39.0, 69.0, 159.0, 299.0)  # median price per category, CNY
PRODUCTS = 240

CONTENT_CHANNELS = ("WeChat", "Xiaohongshu", "Douyin", "Zhihu")
CONTENT_FORMAT = {"WeChat": "article", "Xiaohongshu": "post", "Douyin": "video", "Zhihu": "answer"}
CONTENT_PER_CHANNEL = {"WeChat": 12, "Xiaohongshu": 10, "Douyin": 8, "Zhihu": 6}
CONTENT_HITS = (("WeChat", 12), ("Douyin", 38), ("Xiaohongshu", 57))  # (channel, publish day)
CONTENT_HIT_WEIGHT = 30.0  # a hit draws this many times the visits of an ordinary post


@dataclass(frozen=True)
class Calendar:
    """The window's dates and where each planted pattern falls."""

    end: date

    @property
    def start(self) -> date:
        return self.end - timedelta(days=DAYS - 1)

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def facts(self) -> dict[str, object]:
        """The planted patterns with calendar dates, as written to demo-source/manifest.json."""
        return {
            "window": [self.start.isoformat(), self.end.isoformat()],
            "android_leak_start": self.day(LEAK_START).isoformat(),
            "android_leak_factor": LEAK_FACTOR,
            "poor_roi_channel": POOR_ROI_SOURCE,
            "dormant_from": self.day(DORMANT_DAY).isoformat(),
            "experiment": {
                "name": EXPERIMENT,
                "start": self.day(EXPERIMENT_START).isoformat(),
                "variants": ["control", "test"],
                "lift_checkout_to_purchase": EXPERIMENT_LIFT,
            },
            "outage_day": self.day(OUTAGE_DAY).isoformat(),
            "campaign": {
                "id": CAMPAIGN,
                "days": [self.day(d).isoformat() for d in CAMPAIGN_DAYS],
                "main_day": self.day(CAMPAIGN_DAYS[-1]).isoformat(),
                "coupon": CAMPAIGN_COUPON,
            },
            "content_hit_days": [self.day(d).isoformat() for _, d in CONTENT_HITS],
        }
