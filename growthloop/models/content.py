"""Content performance (内容效果): per item and per channel x format, hits, timing and keywords.

Pure functions over per-item rows (`ContentItem`, built by `content_data` from content_items and
content_metrics):
- interactions = likes + comments + shares + favourites; engagement rate (互动率) =
  interactions / views; conversion rate = conversions / clicks;
- hits (爆款): the top decile by views within the item's channel and format — the ceil(n/10)
  items with the most views (at least one per group; ties share a rank);
- best publishing slot: mean first-day views by local weekday x hour, per channel;
- keywords: title tokens (jieba for Chinese, words for Latin script) with the items, views and
  engagement of the titles that contain them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import jieba

from growthloop.models.errors import EMPTY_INPUT, ModelInputError

MODEL = "content performance"
# Tokens that say nothing about a topic; single characters and digits are dropped as well.
STOP_WORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "是",
        "在",
        "也",
        "都",
        "就",
        "这",
        "那",
        "怎么",
        "什么",
        "如何",
        "必看",
        "合集",
        "推荐",
        "全",
        "大",
        "小",
        "篇",
        "个",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "for",
        "in",
        "on",
        "with",
        "how",
        "what",
        "why",
        "is",
        "are",
        "your",
        "you",
    ]
)
_LATIN = re.compile(r"[A-Za-z][A-Za-z'\-]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class ContentItem:
    """One item's totals since publishing and its first-day figures."""

    item_id: str
    title: str
    channel: str
    format: str
    weekday: int
    hour: int
    views: int
    likes: int
    comments: int
    shares: int
    favourites: int
    follows: int
    clicks: int
    conversions: int
    first_day_views: int
    first_day_interactions: int = 0
    first_day_clicks: int = 0
    first_day_conversions: int = 0
    topic: str = ""

    @property
    def interactions(self) -> int:
        return self.likes + self.comments + self.shares + self.favourites

    @property
    def first_day_engagement_rate(self) -> float | None:
        """Interactions / views over the first day (互动率 of the first 24 hours)."""
        return _ratio(self.first_day_interactions, self.first_day_views)


@dataclass(frozen=True)
class Performance:
    """Totals and rates of an item or a group of items."""

    key: tuple[str, ...]
    items: int
    views: int
    interactions: int
    follows: int
    clicks: int
    conversions: int
    engagement_rate: float | None
    click_rate: float | None
    conversion_rate: float | None


@dataclass(frozen=True)
class SlotRow:
    channel: str
    weekday: int
    hour: int
    items: int
    mean_first_day_views: float


@dataclass(frozen=True)
class KeywordRow:
    keyword: str
    items: int
    views: int
    mean_views: float
    engagement_rate: float | None


def _ratio(top: int, bottom: int) -> float | None:
    return top / bottom if bottom else None


def _summarise(key: tuple[str, ...], items: Sequence[ContentItem]) -> Performance:
    views = sum(i.views for i in items)
    interactions = sum(i.interactions for i in items)
    clicks = sum(i.clicks for i in items)
    conversions = sum(i.conversions for i in items)
    return Performance(
        key, len(items), views, interactions, sum(i.follows for i in items), clicks, conversions,
        _ratio(interactions, views), _ratio(clicks, views), _ratio(conversions, clicks),
    )  # fmt: skip


def _need(items: Sequence[ContentItem]) -> None:
    if not items:
        raise ModelInputError(EMPTY_INPUT.format(what="the content list", model=MODEL))


def per_item(items: Sequence[ContentItem]) -> tuple[Performance, ...]:
    """Each item's totals and rates, most viewed first."""
    _need(items)
    rows = [_summarise((i.item_id,), [i]) for i in items]
    return tuple(sorted(rows, key=lambda r: (-r.views, r.key)))


def per_group(items: Sequence[ContentItem]) -> tuple[Performance, ...]:
    """Totals and rates per (channel, format)."""
    _need(items)
    groups: dict[tuple[str, str], list[ContentItem]] = {}
    for i in items:
        groups.setdefault((i.channel, i.format), []).append(i)
    return tuple(_summarise(k, v) for k, v in sorted(groups.items()))


def per_topic(items: Sequence[ContentItem]) -> tuple[Performance, ...]:
    """Totals and rates per topic (content_items.topic; '' for items without one), most viewed first."""
    _need(items)
    groups: dict[str, list[ContentItem]] = {}
    for i in items:
        groups.setdefault(i.topic, []).append(i)
    rows = [_summarise((k,), v) for k, v in groups.items()]
    return tuple(sorted(rows, key=lambda r: (-r.views, r.key)))


def hits(items: Sequence[ContentItem]) -> tuple[str, ...]:
    """Item ids in the top decile by views of their channel x format (ceil(n/10) per group)."""
    _need(items)
    groups: dict[tuple[str, str], list[ContentItem]] = {}
    for i in items:
        groups.setdefault((i.channel, i.format), []).append(i)
    out: list[str] = []
    for members in groups.values():
        keep = math.ceil(len(members) / 10)
        ranked = sorted(members, key=lambda i: -i.views)
        cutoff = ranked[keep - 1].views
        # Ties with the last kept item are hits too: the same views cannot be split.
        out.extend(i.item_id for i in ranked if i.views >= cutoff and i.views > 0)
    return tuple(sorted(out))


def best_slots(items: Sequence[ContentItem]) -> tuple[SlotRow, ...]:
    """Mean first-day views per channel x publishing weekday x hour, best first within channel."""
    _need(items)
    slots: dict[tuple[str, int, int], list[int]] = {}
    for i in items:
        slots.setdefault((i.channel, i.weekday, i.hour), []).append(i.first_day_views)
    rows = [SlotRow(c, w, h, len(v), sum(v) / len(v)) for (c, w, h), v in slots.items()]
    return tuple(
        sorted(rows, key=lambda r: (r.channel, -r.mean_first_day_views, r.weekday, r.hour))
    )


def title_keywords(title: str) -> frozenset[str]:
    """Topic words of a title: jieba words for Chinese, lower-cased words for Latin script."""
    words = {w.lower() for w in _LATIN.findall(title)}
    for token in jieba.lcut(title):
        if _HAN.search(token) and len(token) >= 2:
            words.add(token)
    return frozenset(w for w in words if w not in STOP_WORDS)


def keywords(items: Sequence[ContentItem], min_items: int = 2) -> tuple[KeywordRow, ...]:
    """Keywords found in at least `min_items` titles, by mean views."""
    _need(items)
    found: dict[str, list[ContentItem]] = {}
    for i in items:
        for word in title_keywords(i.title):
            found.setdefault(word, []).append(i)
    rows = []
    for word, members in found.items():
        if len(members) < min_items:
            continue
        views = sum(i.views for i in members)
        rows.append(
            KeywordRow(
                word,
                len(members),
                views,
                views / len(members),
                _ratio(sum(i.interactions for i in members), views),
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.mean_views, r.keyword)))
