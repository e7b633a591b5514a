"""Content posts on WeChat, Xiaohongshu, Douyin and Zhihu: when they appear, how they are read.

A post's readership decays after publishing (fast on feeds, slowly on Zhihu); three posts are hits
that draw CONTENT_HIT_WEIGHT times an ordinary post's visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from growthloop.demo import business as b

HALF_LIFE_DAYS = {"WeChat": 1.5, "Xiaohongshu": 3.0, "Douyin": 1.0, "Zhihu": 12.0}
CLICK_THROUGH = {"WeChat": 0.03, "Xiaohongshu": 0.015, "Douyin": 0.004, "Zhihu": 0.02}
TOPICS = {
    "skincare": ("秋冬护肤的5个误区", "敏感肌修护全攻略", "精华怎么选才不踩雷", "早C晚A入门指南"),
    "makeup": ("通勤妆10分钟搞定", "口红试色合集", "新手底妆避坑", "伪素颜妆容教程"),
    "snacks": ("办公室零食清单", "低卡零食测评", "追剧必备小零食", "年货零食怎么囤"),
    "home": ("小户型收纳神器", "租房改造低成本", "厨房好物推荐", "一周家务时间表"),
    "apparel": ("一衣多穿的秘诀", "羽绒服选购指南", "小个子穿搭公式", "基础款衣橱清单"),
    "digital": ("降噪耳机横评", "平板学习党必看", "手机拍照技巧", "桌面好物分享"),
}


@dataclass(frozen=True)
class ContentPlan:
    """The posts: channel, publish day (may be before the window), topic and appeal."""

    channel: NDArray[np.int64]  # index into business.CONTENT_CHANNELS
    publish_day: NDArray[np.int64]
    topic: NDArray[np.int64]  # index into business.CATEGORIES
    title: tuple[str, ...]
    weight: NDArray[np.float64]
    hit: NDArray[np.bool_]

    @property
    def item_ids(self) -> list[str]:
        return [f"c_{i + 1:03d}" for i in range(len(self.channel))]

    def readership(self) -> NDArray[np.float64]:
        """(items, days) relative visits per day: weight x decay since publishing."""
        days = np.arange(b.DAYS)[None, :]
        age = days - self.publish_day[:, None]
        half = np.asarray([HALF_LIFE_DAYS[b.CONTENT_CHANNELS[c]] for c in self.channel])[:, None]
        decay = np.where(age >= 0, 0.5 ** (np.maximum(age, 0) / half), 0.0)
        # evergreen tail: old posts keep a trickle of readers
        decay = np.where(age >= 0, np.maximum(decay, 0.03), 0.0)
        out: NDArray[np.float64] = self.weight[:, None] * decay
        return out

    def intensity(self, channel: str) -> NDArray[np.float64]:
        """Relative visits per day from one channel's posts."""
        mask = self.channel == b.CONTENT_CHANNELS.index(channel)
        out: NDArray[np.float64] = self.readership()[mask].sum(axis=0)
        return out

    def assign(
        self, rng: np.random.Generator, source: NDArray[np.int64], day: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """The post each session from a content source came from (-1 for other sessions)."""
        out = np.full(len(source), -1, dtype=np.int64)
        read = self.readership()
        for index, src in enumerate(b.SOURCES):
            if not src.content_channel:
                continue
            items = np.flatnonzero(self.channel == b.CONTENT_CHANNELS.index(src.content_channel))
            sessions = np.flatnonzero(source == index)
            table = read[items].T  # (days, items of this channel)
            cum = np.cumsum(table, axis=1)
            cum /= cum[:, -1:]
            # one searchsorted over all days: shift each day's cumulative row by its day number
            flat = (cum + np.arange(b.DAYS)[:, None]).ravel()
            key = day[sessions] + rng.random(len(sessions)) * (1 - 1e-9)
            pos = np.searchsorted(flat, key, side="right") - day[sessions] * len(items)
            out[sessions] = items[np.clip(pos, 0, len(items) - 1)]
        return out


def make_content(rng: np.random.Generator) -> ContentPlan:
    """The posts of the window; each channel has one post from before day 0."""
    channel: list[int] = []
    publish: list[int] = []
    for c, name in enumerate(b.CONTENT_CHANNELS):
        count = b.CONTENT_PER_CHANNEL[name]
        days = np.sort(rng.integers(0, b.DAYS - 3, count))
        days[0] = -int(rng.integers(3, 20))
        channel += [c] * count
        publish += days.tolist()
    channel_arr = np.asarray(channel, dtype=np.int64)
    publish_arr = np.asarray(publish, dtype=np.int64)
    weight = rng.lognormal(0.0, 0.5, len(channel))
    hit = np.zeros(len(channel), dtype=bool)
    for name, day in b.CONTENT_HITS:
        c = b.CONTENT_CHANNELS.index(name)
        # the hit is the channel's second post, moved to its planted day
        index = int(np.flatnonzero(channel_arr == c)[1])
        publish_arr[index] = day
        weight[index] = b.CONTENT_HIT_WEIGHT
        hit[index] = True
    topic = rng.integers(0, len(b.CATEGORIES), len(channel))
    pick = rng.integers(0, 4, len(channel))
    seen: dict[str, int] = {}
    titles = []
    for t, p in zip(topic, pick, strict=True):
        text = TOPICS[b.CATEGORIES[t]][p]
        seen[text] = seen.get(text, 0) + 1
        titles.append(text if seen[text] == 1 else f"{text}（{seen[text]}）")
    title = tuple(titles)
    return ContentPlan(channel_arr, publish_arr, topic, title, weight, hit)
