"""Default channel grouping: GA4's documented rules by hand, the Chinese platforms, and the SQL
CASE evaluated in DuckDB against the Python reference on random traffic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.ingest import channels
from growthloop.ingest.channels import (
    CHANNEL_NAMES,
    CHANNEL_RULES,
    PLATFORMS,
    channel_sql,
    default_channel,
    source_category,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "channels.md"

Row = tuple[str | None, str | None, str | None, str | None]


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def sql_channels(
    con: duckdb.DuckDBPyConnection, rows: list[Row], own_domains: tuple[str, ...] = ()
) -> list[str]:
    """Evaluate channel_sql in DuckDB over the rows, with the importer's column names and decoy
    columns named like the expression's internal names, filled with values that would mislead."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE traffic (i INTEGER, utm_source VARCHAR, utm_medium VARCHAR,"
        " ref_host VARCHAR, utm_campaign VARCHAR, source VARCHAR, medium VARCHAR,"
        " referrer VARCHAR, campaign VARCHAR, category VARCHAR, entry VARCHAR)"
    )
    con.executemany(
        "INSERT INTO traffic VALUES (?, ?, ?, ?, ?, 'baidu', 'cpc', 'www.baidu.com', 'shop',"
        " 'search', 'baidu.com')",
        [(i, *row) for i, row in enumerate(rows)],
    )
    expr = channel_sql(
        "utm_source", "utm_medium", "ref_host", "utm_campaign", own_domains=own_domains
    )
    return [r[0] for r in con.execute(f"SELECT {expr} FROM traffic ORDER BY i").fetchall()]


# Expectations written from GA4's default channel group table ("[GA4] Default channel group",
# support.google.com/analytics/answer/9756891), one block per rule, and from docs/channels.md
# for the Chinese platforms. Rows are (utm_source, utm_medium, referrer host, utm_campaign).
GA4_CASES: list[tuple[Row, str]] = [
    # Direct: source "(direct)" and medium "(none)"/"(not set)"; here also nothing at all.
    (("(direct)", "(none)", None, None), "Direct"),
    (("(direct)", "(not set)", None, None), "Direct"),
    ((None, None, None, None), "Direct"),
    (("", "", "", ""), "Direct"),
    ((None, None, "$direct", None), "Direct"),
    ((None, None, None, "double11"), "Direct"),
    # Cross-network: campaign name contains "cross-network"; it precedes every paid rule.
    (("google", "cpc", None, "pmax_cross-network"), "Cross-network"),
    (("partner", None, None, "Cross-Network Q4"), "Cross-network"),
    # Paid Shopping: (shopping source or shopping campaign) and a paid medium.
    (("taobao", "cpc", None, None), "Paid Shopping"),
    (("newsletter", "paid", None, "eshop_week"), "Paid Shopping"),
    (("partner", "ppc", None, "shopping"), "Paid Shopping"),
    # Paid Search: search source and medium ^(.*cp.*|ppc|retargeting|paid.*)$.
    (("baidu", "cpc", None, None), "Paid Search"),
    (("BAIDU", "CPC", None, "brand_sem"), "Paid Search"),
    (("sogou", "retargeting", None, None), "Paid Search"),
    (("bing", "paidsearch", None, None), "Paid Search"),
    (("360", "ppc", None, None), "Paid Search"),
    ((None, "cpc", "www.baidu.com", None), "Paid Search"),
    # Paid Social
    (("wechat", "paid_social", None, None), "Paid Social"),
    (("xiaohongshu", "cpc", None, None), "Paid Social"),
    (("zhihu", "paid_social", None, "double11"), "Paid Social"),
    (("weibo", "cpm", None, None), "Paid Social"),
    # Paid Video: a video platform with a paid medium, even one named paid_social.
    (("douyin", "paid_social", None, None), "Paid Video"),
    (("bilibili", "cpm", None, None), "Paid Video"),
    (("kuaishou", "cpv", None, None), "Paid Video"),
    # Display: medium display/banner/expandable/interstitial/cpm (cpm only after paid rules).
    (("partner", "display", None, None), "Display"),
    (("dsp", "banner", None, None), "Display"),
    (("newsletter", "cpm", None, None), "Display"),
    (("partner", "interstitial", None, None), "Display"),
    # Paid Other: any other paid medium.
    (("partner", "cpc", None, "workshop"), "Paid Other"),
    (("newsletter", "paid", None, None), "Paid Other"),
    # Organic Shopping: shopping source or shopping campaign (before Email!).
    ((None, None, "item.taobao.com", None), "Organic Shopping"),
    (("edm", "email", None, "shopping_week"), "Organic Shopping"),
    (("jd", None, None, None), "Organic Shopping"),
    # Organic Social: social source or a social medium.
    ((None, None, "mp.weixin.qq.com", None), "Organic Social"),
    (("wechat", None, None, None), "Organic Social"),
    (("partner", "social", None, None), "Organic Social"),
    (("douyin", "social", None, None), "Organic Social"),
    (("partner", "sm", None, None), "Organic Social"),
    ((None, None, "www.zhihu.com", None), "Organic Social"),
    ((None, None, "t.cn", None), "Organic Social"),
    ((None, None, "tieba.baidu.com", None), "Organic Social"),
    # Organic Video: video source or medium containing "video".
    ((None, None, "www.douyin.com", None), "Organic Video"),
    ((None, None, "v.qq.com", None), "Organic Video"),
    ((None, None, "b23.tv", None), "Organic Video"),
    (("partner", "video_post", None, None), "Organic Video"),
    # Organic Search: search source or medium "organic".
    ((None, None, "www.baidu.com", None), "Organic Search"),
    ((None, None, "WWW.BAIDU.COM", None), "Organic Search"),
    ((None, None, "sogou.com", None), "Organic Search"),
    ((None, None, "www.so.com", None), "Organic Search"),
    ((None, None, "m.sm.cn", None), "Organic Search"),
    ((None, None, "cn.bing.com", None), "Organic Search"),
    ((None, None, "so.toutiao.com", None), "Organic Search"),
    (("partner", "organic", None, None), "Organic Search"),
    (("baidu", None, None, None), "Organic Search"),
    # Referral: medium referral/app/link; a referrer from a site in no category.
    ((None, None, "blog.partner.cn", None), "Referral"),
    ((None, None, "xbaidu.com", None), "Referral"),
    ((None, None, "baidu.com.example.net", None), "Referral"),
    (("partner", "referral", None, None), "Referral"),
    (("partner", "app", None, None), "Referral"),
    (("partner", "link", None, None), "Referral"),
    # Email: source or medium email/e-mail/e_mail/e mail; edm too; webmail referrers.
    (("edm", "email", None, "weekly"), "Email"),
    (("newsletter", "e-mail", None, None), "Email"),
    (("newsletter", "E Mail", None, None), "Email"),
    (("email", None, None, None), "Email"),
    (("edm", None, None, None), "Email"),
    ((None, None, "mail.qq.com", None), "Email"),
    # Affiliates, Audio, SMS
    (("partner", "affiliate", None, None), "Affiliates"),
    (("ximalaya", "audio", None, None), "Audio"),
    (("sms", None, None, None), "SMS"),
    (("aliyun", "sms", None, None), "SMS"),
    # Mobile Push Notifications: medium ends with "push" or contains mobile/notification,
    # or source firebase.
    (("push", "push", None, None), "Mobile Push Notifications"),
    (("jpush", "mobile push", None, None), "Mobile Push Notifications"),
    (("getui", "web-push", None, None), "Mobile Push Notifications"),
    (("app", "notification", None, None), "Mobile Push Notifications"),
    (("firebase", None, None, None), "Mobile Push Notifications"),
    # Unassigned: nothing matched.
    (("newsletter", None, None, None), "Unassigned"),
    (("partner", "offline", None, None), "Unassigned"),
    (("partner", "pushes", None, None), "Unassigned"),
]


def test_every_rule_has_a_handwritten_expectation() -> None:
    assert {want for _, want in GA4_CASES} == set(CHANNEL_NAMES)


@pytest.mark.parametrize(("row", "want"), GA4_CASES, ids=[f"{w}:{r}" for r, w in GA4_CASES])
def test_ga4_rules_python(row: Row, want: str) -> None:
    assert default_channel(*row) == want


def test_ga4_rules_sql(con: duckdb.DuckDBPyConnection) -> None:
    rows = [row for row, _ in GA4_CASES]
    got = sql_channels(con, rows)
    mismatches = [
        (row, want, g) for (row, want), g in zip(GA4_CASES, got, strict=True) if g != want
    ]
    assert mismatches == []


def test_demo_sources() -> None:
    """The demo's traffic (notes/demo-vocabulary.md) lands where the web overview expects."""
    assert default_channel("baidu", "cpc", None) == "Paid Search"
    assert default_channel("wechat", "paid_social", None) == "Paid Social"
    assert default_channel("xiaohongshu", "paid_social", None) == "Paid Social"
    assert default_channel("zhihu", "paid_social", None) == "Paid Social"
    assert default_channel("douyin", "paid_social", None) == "Paid Video"
    assert default_channel("edm", "email", None) == "Email"
    assert default_channel("push", "push", None) == "Mobile Push Notifications"
    for engine in ("baidu.com", "sogou.com", "so.com", "sm.cn", "bing.com"):
        assert default_channel(None, None, engine) == "Organic Search"
    assert default_channel(None, None, "zhihu.com") == "Organic Social"


OWN_CASES: list[tuple[Row, str]] = [
    ((None, None, "www.example.cn", None), "Direct"),
    ((None, None, "example.cn", None), "Direct"),
    ((None, None, "m.shop.example.cn", None), "Direct"),
    ((None, None, "example.cn.evil.com", None), "Referral"),
    ((None, None, "notexample.cn", None), "Referral"),
    ((None, "cpc", "shop.example.cn", None), "Paid Other"),
    (("baidu", "cpc", "shop.example.cn", None), "Paid Search"),
]


@pytest.mark.parametrize(("row", "want"), OWN_CASES)
def test_own_domain_is_not_a_referral(row: Row, want: str, con: duckdb.DuckDBPyConnection) -> None:
    own = ("WWW.Example.cn",)
    assert default_channel(*row, own_domains=own) == want
    assert sql_channels(con, [row], own) == [want]
    assert default_channel(*row) != "Direct"  # without own_domains the same row is not Direct


@pytest.mark.parametrize("bad", ["example.cn'; DROP TABLE x; --", "exa mple.cn", "", "*.cn"])
def test_own_domains_must_be_host_names(bad: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        channel_sql("a", "b", "c", "d", own_domains=[bad])
    with pytest.raises(ValueError, match="not a host name"):
        default_channel(None, None, "x.cn", own_domains=[bad])


@pytest.mark.parametrize(
    ("source", "want"),
    [
        ("baidu.com", "search"),
        ("m.baidu.com", "search"),
        ("tieba.baidu.com", "social"),
        ("a.tieba.baidu.com", "social"),
        ("qq.com", "social"),
        ("v.qq.com", "video"),
        ("m.v.qq.com", "video"),
        ("mail.qq.com", "email"),
        ("mp.weixin.qq.com", "social"),
        ("toutiao.com", "social"),
        ("so.toutiao.com", "search"),
        ("mail.google.com", "email"),
        ("www.google.com.hk", "search"),
        ("xhs", "social"),
        ("gifshow", "video"),
        ("foo.weibo", None),
        ("qq.com.cn", None),
        ("com", None),
        ("", None),
    ],
)
def test_source_category_most_specific_entry_wins(source: str, want: str | None) -> None:
    assert source_category(source) == want


def test_an_entry_in_two_categories_is_rejected() -> None:
    twice = (
        channels.Platform("A", "search", ("a.cn",)),
        channels.Platform("B", "social", ("a.cn",)),
    )
    with pytest.raises(ValueError, match="two categories"):
        channels._index_platforms(twice)


def test_docs_list_every_rule_in_order_and_every_chinese_platform() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table_rows = [line for line in text.splitlines() if line.startswith("| ")]
    listed = [
        row.split("|")[2].strip() for row in table_rows if row.split("|")[1].strip().isdigit()
    ]
    assert listed == [r.name for r in CHANNEL_RULES] + ["Unassigned"]
    for platform in PLATFORMS:
        if platform.chinese:
            assert platform.name in text, platform.name
            for entry in platform.sources:
                assert f"`{entry}`" in text, (platform.name, entry)


# --- the SQL CASE equals the Python reference on random traffic ------------------------------

_ODD = st.text(alphabet="abXY.-_'% 中/()$", max_size=10)


def _vocabulary(values: str) -> st.SearchStrategy[str | None]:
    """Realistic values ('|'-separated, with None and ''), or odd text now and then."""
    return st.one_of(st.sampled_from([None, "", *values.split("|")]), _ODD)


SOURCES = _vocabulary(
    "(direct)|baidu|Baidu|BAIDU|google|wechat|Weixin|douyin|xiaohongshu|xhs|zhihu|weibo|qq|"
    "toutiao|bilibili|kuaishou|gifshow|taobao|jd|pdd|edm|email|E-Mail|e mail|sms|firebase|push|"
    "newsletter|partner|so|360|facebook|tieba|mp.weixin.qq.com|v.qq.com|baidu.com|mail.qq.com"
)
MEDIUMS = _vocabulary(
    "(none)|(not set)|cpc|CPC|ppc|paid_social|paidsearch|retargeting|cpm|cpv|display|banner|"
    "expandable|social|sm|social media|Social-Network|video|organic|referral|app|link|email|"
    "e_mail|edm|affiliate|audio|sms|push|mobile push|notification|web-push|offline|qrcode"
)
REFERRERS = _vocabulary(
    "$direct|www.baidu.com|m.baidu.com|tieba.baidu.com|sogou.com|www.so.com|m.sm.cn|cn.bing.com|"
    "so.toutiao.com|www.toutiao.com|mp.weixin.qq.com|v.qq.com|mail.qq.com|exmail.qq.com|qq.com|"
    "weibo.cn|t.cn|www.xiaohongshu.com|xhslink.com|www.zhihu.com|www.douyin.com|iesdouyin.com|"
    "b23.tv|www.bilibili.com|item.taobao.com|item.jd.com|mail.google.com|www.google.com.hk|"
    "shop.example.cn|www.example.cn|blog.partner.cn|news.example.com|WWW.BAIDU.COM|xbaidu.com|"
    "baidu.com.evil.cn|.baidu.com|baidu.com."
)
CAMPAIGNS = _vocabulary(
    "double11|brand_sem|eshop_sale|workshop|Shopping_spree|shop|pmax cross-network|spring"
)
OWN = st.sampled_from([(), ("example.cn",), ("shop.example.cn", "partner.cn")])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(SOURCES, MEDIUMS, REFERRERS, CAMPAIGNS), min_size=1, max_size=40),
    own=OWN,
)
def test_sql_equals_python(
    rows: list[Row], own: tuple[str, ...], con: duckdb.DuckDBPyConnection
) -> None:
    want = [default_channel(*row, own_domains=own) for row in rows]
    assert sql_channels(con, rows, own) == want
