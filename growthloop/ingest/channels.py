"""Default channel grouping: GA4's default channel group rules, extended with Chinese platforms.

The rules are data (CHANNEL_RULES, PLATFORMS). default_channel() evaluates them in Python and
channel_sql() renders the same table as one DuckDB CASE expression, so the two cannot drift.
docs/channels.md describes the table, the platform categories and worked examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Category = Literal["search", "social", "video", "shopping", "email"]
Field = Literal["source", "medium", "campaign"]

UNASSIGNED = "Unassigned"
NO_REFERRER = "$direct"
"""What events.referrer_domain holds when there was no referrer; treated as no referrer."""

PAID_MEDIUM = r"^(.*cp.*|ppc|retargeting|paid.*)$"
SHOPPING_CAMPAIGN = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"
EMAIL_VALUES = ("email", "e-mail", "e_mail", "e mail", "edm")
REFERRAL_MEDIUM = "referral"


@dataclass(frozen=True)
class Platform:
    """A traffic source: its utm_source names and its domains (which include subdomains)."""

    name: str
    category: Category
    sources: tuple[str, ...]
    chinese: bool = False


def _cn(name: str, category: Category, *sources: str) -> Platform:
    return Platform(name, category, sources, chinese=True)


PLATFORMS: tuple[Platform, ...] = (
    # Chinese platforms (our extension; docs/channels.md explains each choice).
    _cn("Baidu", "search", "baidu", "baidu.com"),
    _cn("Baidu Tieba", "social", "tieba", "tieba.baidu.com"),
    _cn("Sogou", "search", "sogou", "sogou.com"),
    _cn("360 Search", "search", "360", "so", "haosou", "so.com", "haosou.com"),
    _cn("Shenma", "search", "shenma", "sm.cn"),
    _cn("Toutiao Search", "search", "so.toutiao.com"),
    _cn("WeChat", "social", "weixin", "wechat", "weixin.qq.com"),
    _cn("Weibo", "social", "weibo", "weibo.com", "weibo.cn", "t.cn"),
    _cn("Xiaohongshu", "social", "xiaohongshu", "xhs", "xiaohongshu.com", "xhslink.com"),
    _cn("Zhihu", "social", "zhihu", "zhihu.com"),
    _cn("Douban", "social", "douban", "douban.com"),
    _cn("QQ", "social", "qq", "qq.com"),
    _cn("Toutiao", "social", "toutiao", "toutiao.com"),
    _cn("Douyin", "video", "douyin", "douyin.com", "iesdouyin.com"),
    _cn("Kuaishou", "video", "kuaishou", "gifshow", "kuaishou.com", "gifshow.com"),
    _cn("Bilibili", "video", "bilibili", "bilibili.com", "b23.tv"),
    _cn("Xigua Video", "video", "ixigua", "xigua", "ixigua.com"),
    _cn("Youku", "video", "youku", "youku.com"),
    _cn("iQIYI", "video", "iqiyi", "iqiyi.com"),
    _cn("Tencent Video", "video", "v.qq.com"),
    _cn("Taobao", "shopping", "taobao", "taobao.com", "tb.cn"),
    _cn("Tmall", "shopping", "tmall", "tmall.com"),
    _cn("JD", "shopping", "jd", "jd.com"),
    _cn("Pinduoduo", "shopping", "pinduoduo", "pdd", "pinduoduo.com", "yangkeduo.com"),
    _cn("QQ Mail", "email", "mail.qq.com", "exmail.qq.com"),
    _cn("NetEase Mail", "email", "mail.163.com", "mail.126.com"),
    # GA4's own source categories, abridged to the widely used entries.
    Platform("Bing", "search", ("bing", "bing.com")),
    Platform("Google", "search", ("google", "google.com", "google.com.hk", "google.co.jp")),
    Platform("Yahoo", "search", ("yahoo", "yahoo.com", "yahoo.co.jp")),
    Platform("DuckDuckGo", "search", ("duckduckgo", "duckduckgo.com")),
    Platform("Yandex", "search", ("yandex", "yandex.ru", "yandex.com")),
    Platform("Naver", "search", ("naver", "naver.com")),
    Platform("Ecosia", "search", ("ecosia", "ecosia.org")),
    Platform("Facebook", "social", ("facebook", "fb", "facebook.com")),
    Platform("Instagram", "social", ("instagram", "ig", "instagram.com")),
    Platform("LinkedIn", "social", ("linkedin", "linkedin.com", "lnkd.in")),
    Platform("X (Twitter)", "social", ("twitter", "twitter.com", "t.co", "x.com")),
    Platform("Pinterest", "social", ("pinterest", "pinterest.com")),
    Platform("Reddit", "social", ("reddit", "reddit.com")),
    Platform("YouTube", "video", ("youtube", "youtube.com", "youtu.be")),
    Platform("Vimeo", "video", ("vimeo", "vimeo.com")),
    Platform("Twitch", "video", ("twitch", "twitch.tv")),
    Platform("Amazon", "shopping", ("amazon", "amazon.com")),
    Platform("eBay", "shopping", ("ebay", "ebay.com")),
    Platform("Shopify", "shopping", ("shopify", "shopify.com", "shop.app")),
    Platform("Alibaba", "shopping", ("alibaba", "alibaba.com")),
    Platform("Gmail", "email", ("mail.google.com",)),
    Platform("Email (GA4)", "email", ("email", "e-mail", "e_mail", "e mail", "edm")),
)
"""Source categories: GA4's SOURCE_CATEGORY_SEARCH/SOCIAL/VIDEO/SHOPPING plus Chinese
platforms, and the Email sources. A source matches a name exactly, or a domain with any
subdomain; the most specific domain wins (v.qq.com is video although qq.com is social)."""


@dataclass(frozen=True)
class Traffic:
    """What the rules look at: lower-case values (None when missing) and the source's category."""

    source: str | None
    medium: str | None
    campaign: str | None
    category: Category | None


@dataclass(frozen=True)
class OneOf:
    """The field equals one of the values (or is missing, when or_missing)."""

    field: Field
    values: tuple[str, ...]
    or_missing: bool = False

    def test(self, value: str | None) -> bool:
        return (value is None and self.or_missing) or value in self.values

    def holds(self, t: Traffic) -> bool:
        return self.test(getattr(t, self.field))

    def sql(self) -> str:
        test = f"{self.field} IN ({', '.join(_literal(v) for v in self.values)})"
        return f"({self.field} IS NULL OR {test})" if self.or_missing else test


@dataclass(frozen=True)
class Matches:
    """The regular expression is found in the field (anchor it for a full match)."""

    field: Field
    pattern: str

    def test(self, value: str | None) -> bool:
        return value is not None and re.search(self.pattern, value) is not None

    def holds(self, t: Traffic) -> bool:
        return self.test(getattr(t, self.field))

    def sql(self) -> str:
        return f"regexp_matches({self.field}, {_literal(self.pattern)})"


@dataclass(frozen=True)
class InCategory:
    """The source (a utm_source value or a referrer host) belongs to a source category."""

    category: Category

    def holds(self, t: Traffic) -> bool:
        return t.category == self.category

    def sql(self) -> str:
        return f"category = {_literal(self.category)}"


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    def holds(self, t: Traffic) -> bool:
        return all(p.holds(t) for p in self.parts)

    def sql(self) -> str:
        return "(" + " AND ".join(p.sql() for p in self.parts) + ")"


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def holds(self, t: Traffic) -> bool:
        return any(p.holds(t) for p in self.parts)

    def sql(self) -> str:
        return "(" + " OR ".join(p.sql() for p in self.parts) + ")"


Condition = OneOf | Matches | InCategory | AllOf | AnyOf


@dataclass(frozen=True)
class ChannelRule:
    """One channel group: the first rule whose condition holds names the channel."""

    name: str
    when: Condition


def _all(*parts: Condition) -> AllOf:
    return AllOf(parts)


def _any(*parts: Condition) -> AnyOf:
    return AnyOf(parts)


_PAID = Matches("medium", PAID_MEDIUM)
_SHOP_CAMPAIGN = Matches("campaign", SHOPPING_CAMPAIGN)
_SOCIAL_MEDIA = ("social", "social-network", "social-media", "sm", "social network", "social media")
_DISPLAY_MEDIA = ("display", "banner", "expandable", "interstitial", "cpm")

# fmt: off
CHANNEL_RULES: tuple[ChannelRule, ...] = (
    ChannelRule("Direct", _all(OneOf("source", ("(direct)",), or_missing=True),
                               OneOf("medium", ("(none)", "(not set)"), or_missing=True))),
    ChannelRule("Cross-network", Matches("campaign", "cross-network")),
    ChannelRule("Paid Shopping", _all(_any(InCategory("shopping"), _SHOP_CAMPAIGN), _PAID)),
    ChannelRule("Paid Search", _all(InCategory("search"), _PAID)),
    ChannelRule("Paid Social", _all(InCategory("social"), _PAID)),
    ChannelRule("Paid Video", _all(InCategory("video"), _PAID)),
    ChannelRule("Display", OneOf("medium", _DISPLAY_MEDIA)),
    ChannelRule("Paid Other", _PAID),
    ChannelRule("Organic Shopping", _any(InCategory("shopping"), _SHOP_CAMPAIGN)),
    ChannelRule("Organic Social", _any(InCategory("social"), OneOf("medium", _SOCIAL_MEDIA))),
    ChannelRule("Organic Video", _any(InCategory("video"), Matches("medium", "video"))),
    ChannelRule("Organic Search", _any(InCategory("search"), OneOf("medium", ("organic",)))),
    ChannelRule("Referral", OneOf("medium", ("referral", "app", "link"))),
    ChannelRule("Email", _any(InCategory("email"), OneOf("medium", EMAIL_VALUES))),
    ChannelRule("Affiliates", OneOf("medium", ("affiliate",))),
    ChannelRule("Audio", OneOf("medium", ("audio",))),
    ChannelRule("SMS", _any(OneOf("source", ("sms",)), OneOf("medium", ("sms",)))),
    ChannelRule("Mobile Push Notifications", _any(Matches("medium", "push$|mobile|notification"),
                                                  OneOf("source", ("firebase",)))),
)
# fmt: on
"""GA4's default channel group rules in GA4's evaluation order; anything else is Unassigned."""

CHANNEL_NAMES: tuple[str, ...] = (*(r.name for r in CHANNEL_RULES), UNASSIGNED)

REFERRER_MEDIUM: dict[Category, str] = {"email": "email"}
"""The medium an untagged visit implies, by referrer category; other referrers imply
'referral'. GA4 does the same for search engines ('organic'); a webmail click is an email."""


# --- source categories -------------------------------------------------------------------------


def _index_platforms(
    platforms: Iterable[Platform],
) -> tuple[dict[str, Category], dict[str, Category]]:
    """Split platform entries into exact names and domains (matched with their subdomains)."""
    names: dict[str, Category] = {}
    domains: dict[str, Category] = {}
    for platform in platforms:
        for entry in platform.sources:
            if entry != entry.strip().lower() or not entry:
                raise ValueError(f"source entry {entry!r} of {platform.name} is not lower-case")
            target = domains if "." in entry else names
            if entry in target and target[entry] != platform.category:
                raise ValueError(f"source entry {entry!r} is in two categories")
            target[entry] = platform.category
    return names, domains


_NAMES, _DOMAINS = _index_platforms(PLATFORMS)


def source_category(source: str) -> Category | None:
    """The category of a lower-case source: an exact name, or the most specific domain suffix."""
    if source in _NAMES:
        return _NAMES[source]
    labels = source.split(".")
    for i in range(1, len(labels)):  # names never contain a dot, so start at a two-label suffix
        category = _DOMAINS.get(".".join(labels[i - 1 :]))
        if category is not None:
            return category
    return None


def _escape(text: str) -> str:
    # RE2 and Python's re agree on these escapes; entries are plain host names and words.
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _domain_regex(domains: Iterable[str]) -> str:
    return r"^(?:.*\.)?(?:" + "|".join(_escape(d) for d in sorted(domains)) + ")$"


# The lazy prefix makes RE2 try the shortest prefix first, so the group captures the longest
# listed domain the host ends with: the most specific entry, as source_category() walks it.
_MOST_SPECIFIC_DOMAIN = r"^(?:.*?\.)??(" + "|".join(_escape(d) for d in sorted(_DOMAINS)) + ")$"


# --- evaluation -------------------------------------------------------------------------------


def _norm(value: str | None) -> str | None:
    if value is None:
        return None
    # Lower-case, as GA4 compares; no trimming, as GA4 does not trim either.
    return value.lower() or None


def _own_domains(own_domains: Iterable[str]) -> tuple[str, ...]:
    out = []
    for domain in own_domains:
        d = domain.strip().lower().removeprefix("www.")
        if not _HOSTNAME.fullmatch(d):
            raise ValueError(f"own domain {domain!r} is not a host name like shop.example.cn")
        out.append(d)
    return tuple(sorted(set(out)))


_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


def traffic(
    source: str | None,
    medium: str | None,
    referrer_domain: str | None,
    campaign: str | None = None,
    *,
    own_domains: Iterable[str] = (),
) -> Traffic:
    """The source/medium/campaign the rules see: utm_source, else the referrer host (which
    implies medium 'referral' when no utm_source was given); own domains are no referrer."""
    ref = _norm(referrer_domain)
    if ref == NO_REFERRER or (
        ref is not None
        and any(ref == d or ref.endswith("." + d) for d in _own_domains(own_domains))
    ):
        ref = None
    utm_source = _norm(source)
    src = utm_source or ref
    category = source_category(src) if src is not None else None
    implied = None
    if utm_source is None and ref is not None:
        implied = REFERRER_MEDIUM.get(category, REFERRAL_MEDIUM) if category else REFERRAL_MEDIUM
    return Traffic(src, _norm(medium) or implied, _norm(campaign), category)


def default_channel(
    source: str | None,
    medium: str | None,
    referrer_domain: str | None,
    campaign: str | None = None,
    *,
    own_domains: Iterable[str] = (),
) -> str:
    """Reference implementation in plain Python: the channel group name."""
    t = traffic(source, medium, referrer_domain, campaign, own_domains=own_domains)
    for rule in CHANNEL_RULES:
        if rule.when.holds(t):
            return rule.name
    return UNASSIGNED


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def channel_sql(
    source: str,
    medium: str,
    referrer_domain: str,
    campaign: str,
    *,
    own_domains: Iterable[str] = (),
) -> str:
    """A DuckDB SQL CASE expression over the given column expressions that gives exactly what
    default_channel gives. Built from the same rule table (data, not code twice).

    The CASE sits in a correlated scalar subquery whose CTEs compute the normalised inputs and
    the source category once each. DuckDB plans it as a join on the distinct (source, medium,
    referrer, campaign) tuples, so the rules run once per tuple, not once per row. Pass plain
    columns. The only values formatted in are this module's constants and own_domains, which
    must be host names.
    """
    own = _own_domains(own_domains)
    ref = f"nullif(lower({referrer_domain}), '')"
    no_ref = f"{ref} IS NULL OR {ref} = {_literal(NO_REFERRER)}"
    if own:
        no_ref += f" OR regexp_matches({ref}, {_literal(_domain_regex(own))})"

    def one_of(values: Iterable[str]) -> str:
        return ", ".join(map(_literal, sorted(values))) or "NULL"

    categories = sorted(set(_NAMES.values()) | set(_DOMAINS.values()))
    category = " ".join(
        f"WHEN source IN ({one_of(n for n, c in _NAMES.items() if c == k)})"
        f" OR entry IN ({one_of(d for d, c in _DOMAINS.items() if c == k)}) THEN {_literal(k)}"
        for k in categories
    )
    implied = " ".join(f"WHEN {_literal(k)} THEN {_literal(m)}" for k, m in REFERRER_MEDIUM.items())
    rules = " ".join(f"WHEN {r.when.sql()} THEN {_literal(r.name)}" for r in CHANNEL_RULES)
    # The first CTE reads the caller's columns, so its own names start with _gl_: DuckDB would
    # take a same-named alias of that SELECT for the column. Later CTEs read only CTEs.
    return f"""(WITH _gl_in AS (
    SELECT nullif(lower({source}), '') AS _gl_u, nullif(lower({medium}), '') AS _gl_m,
           CASE WHEN {no_ref} THEN NULL ELSE {ref} END AS _gl_r,
           nullif(lower({campaign}), '') AS _gl_c),
  _gl_src AS (SELECT *, coalesce(_gl_u, _gl_r) AS source FROM _gl_in),
  _gl_entry AS (
    SELECT *, nullif(regexp_extract(source, {_literal(_MOST_SPECIFIC_DOMAIN)}, 1), '') AS entry
    FROM _gl_src),
  _gl_cat AS (SELECT *, CASE {category} END AS category FROM _gl_entry),
  _gl_traffic AS (
    SELECT source, category, _gl_c AS campaign,
           coalesce(_gl_m, CASE WHEN _gl_u IS NULL AND _gl_r IS NOT NULL
             THEN CASE category {implied} ELSE {_literal(REFERRAL_MEDIUM)} END END) AS medium
    FROM _gl_cat)
SELECT CASE {rules} ELSE {_literal(UNASSIGNED)} END FROM _gl_traffic)"""
