"""Content performance against loops written from the definitions."""

from __future__ import annotations

import math
import random

import pytest

from growthloop.models import content
from growthloop.models.content import ContentItem
from growthloop.models.errors import ModelInputError

TITLES = [
    "小户型收纳神器",
    "追剧必备小零食",
    "敏感肌修护全攻略",
    "How to pick a serum",
    "Serum layering guide",
    "口红试色合集",
    "零食测评",
]


def random_items(seed: int, n: int = 60) -> list[ContentItem]:
    rnd = random.Random(seed)
    groups = [("WeChat", "article"), ("Douyin", "video"), ("Zhihu", "answer")]
    out = []
    for i in range(n):
        channel, fmt = rnd.choice(groups)
        views = rnd.choice([0, rnd.randint(1, 500), rnd.randint(1, 500), 300])
        out.append(
            ContentItem(
                f"c{i}",
                rnd.choice(TITLES),
                channel,
                fmt,
                rnd.randrange(7),
                rnd.choice([9, 12, 20]),
                views,
                rnd.randint(0, 30),
                rnd.randint(0, 5),
                rnd.randint(0, 5),
                rnd.randint(0, 9),
                rnd.randint(0, 3),
                rnd.randint(0, 40),
                rnd.randint(0, 4),
                rnd.randint(0, views),
                topic=rnd.choice(["skincare", "snacks", ""]),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(5))
def test_groups_hits_slots_and_keywords_match_loops(seed: int) -> None:
    items = random_items(seed)
    for row in content.per_topic(items):
        members = [i for i in items if i.topic == row.key[0]]
        assert (row.items, row.views) == (len(members), sum(i.views for i in members))
    assert [r.views for r in content.per_topic(items)] == sorted(
        (r.views for r in content.per_topic(items)), reverse=True
    )
    for row in content.per_group(items):
        members = [i for i in items if (i.channel, i.format) == row.key]
        views = sum(i.views for i in members)
        inter = sum(i.likes + i.comments + i.shares + i.favourites for i in members)
        clicks = sum(i.clicks for i in members)
        assert (row.items, row.views, row.interactions) == (len(members), views, inter)
        assert row.engagement_rate == (inter / views if views else None)
        assert row.conversion_rate == (
            sum(i.conversions for i in members) / clicks if clicks else None
        )
    want_hits = []
    for i in items:
        group = [j for j in items if (j.channel, j.format) == (i.channel, i.format)]
        better = sum(1 for j in group if j.views > i.views)
        if better < math.ceil(len(group) / 10) and i.views > 0:
            want_hits.append(i.item_id)
    assert content.hits(items) == tuple(sorted(want_hits))
    for slot in content.best_slots(items):
        members = [
            i.first_day_views
            for i in items
            if (i.channel, i.weekday, i.hour) == (slot.channel, slot.weekday, slot.hour)
        ]
        assert slot.items == len(members) and slot.mean_first_day_views == pytest.approx(
            sum(members) / len(members)
        )
    for row in content.keywords(items):
        members = [i for i in items if row.keyword in content.title_keywords(i.title)]
        assert row.items == len(members) >= 2
        assert row.views == sum(i.views for i in members)


def test_title_keywords_in_chinese_and_english() -> None:
    assert content.title_keywords("小户型收纳神器") == {"小户型", "收纳", "神器"}
    assert content.title_keywords("How to pick a Serum") == {"pick", "serum"}
    assert "合集" not in content.title_keywords("口红试色合集")


def test_a_tie_at_the_cutoff_makes_both_hits_and_zero_views_never_do() -> None:
    def item(i: str, views: int) -> ContentItem:
        return ContentItem(i, "t", "WeChat", "article", 0, 20, views, 0, 0, 0, 0, 0, 0, 0, 0)

    assert content.hits([item("a", 50), item("b", 50), item("c", 10)]) == ("a", "b")
    assert content.hits([item("a", 0), item("b", 0)]) == ()
    with pytest.raises(ModelInputError, match="the content list is empty"):
        content.hits([])
