"""URL parts in DuckDB against urllib.parse, and user-agent parsing of the in-app browsers."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.ingest.urls import (
    host_sql,
    path_sql,
    query_param_sql,
    url_host,
    url_path,
    url_query_param,
)
from growthloop.ingest.useragent import parse_user_agent, parse_user_agents

PARAMS = ("utm_source", "utm_medium", "utm_campaign", "wd")


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def sql_parts(con: duckdb.DuckDBPyConnection, urls: list[str | None]) -> list[tuple[object, ...]]:
    con.execute("CREATE OR REPLACE TEMP TABLE pages (i INTEGER, url VARCHAR)")
    con.executemany("INSERT INTO pages VALUES (?, ?)", list(enumerate(urls)))
    params = ", ".join(query_param_sql("url", p) for p in PARAMS)
    query = f"SELECT {path_sql('url')}, {host_sql('url')}, {params} FROM pages ORDER BY i"
    return [tuple(row) for row in con.execute(query).fetchall()]


def python_parts(url: str | None) -> tuple[object, ...]:
    return (url_path(url), url_host(url), *(url_query_param(url, p) for p in PARAMS))


# (url, path, host, utm_source, utm_medium, utm_campaign, wd), written out by hand.
HANDWRITTEN = [
    (
        "https://shop.example.cn/p/42?utm_source=baidu&utm_medium=cpc&utm_campaign=brand#top",
        "/p/42", "shop.example.cn", "baidu", "cpc", "brand", None,
    ),
    (
        "https://WWW.Baidu.com:443/s?wd=%E4%B8%AD%E6%96%87+%E6%90%9C%E7%B4%A2&ie=utf-8",
        "/s", "baidu.com", None, None, None, "中文 搜索",
    ),
    ("http://user:pw@www.Example.CN", "/", "example.cn", None, None, None, None),
    ("/landing?utm_source=a+b%2Bc&utm_source=second", "/landing", None, "a b+c", None, None, None),
    ("//cdn.example.com/x.js", "/x.js", "cdn.example.com", None, None, None, None),
    ("https://[2001:DB8::1]:8080/a", "/a", "2001:db8::1", None, None, None, None),
    ("https://x.cn/?utm_source&utm_medium=", "/", "x.cn", "", "", None, None),
    # GBK bytes are not UTF-8: the value is kept as sent.
    ("https://www.baidu.com/s?wd=%C9%CF%BA%A3", "/s", "baidu.com", None, None, None, "%C9%CF%BA%A3"),
    # A query inside the fragment is no query (single-page-app routes).
    ("https://x.cn/#/p?utm_source=z", "/", "x.cn", None, None, None, None),
    ("https://x.cn/a?b?utm_source=q&xutm_source=r", "/a", "x.cn", None, None, None, None),
    ("https://www.", "/", None, None, None, None, None),
    ("https://WWW.Shop%A.cn/x", "/x", "shop%a.cn", None, None, None, None),
    ("", "/", None, None, None, None, None),
    (None, None, None, None, None, None, None),
]  # fmt: skip


def test_handwritten_urls(con: duckdb.DuckDBPyConnection) -> None:
    urls = [row[0] for row in HANDWRITTEN]
    want = [row[1:] for row in HANDWRITTEN]
    assert [python_parts(u) for u in urls] == want
    assert sql_parts(con, urls) == want


def test_parameter_names_are_checked() -> None:
    with pytest.raises(ValueError, match="query parameter name"):
        query_param_sql("url", "utm_source') OR 1=1 --")


_SCHEMES = st.sampled_from(["https://", "http://", "HTTPS://", "//", "", "android-app://", "x:"])


def _choices(values: str) -> st.SearchStrategy[str]:
    """One of the '|'-separated values (an empty one included where the text has it)."""
    return st.sampled_from(values.split("|"))


_HOSTS = _choices(
    "shop.example.cn|WWW.Example.cn|www.baidu.com|m.baidu.com|127.0.0.1|[::1]|中文.cn|"
    "user@host.cn|u:p@www.x.cn|www|www.|"
)
_PORTS = st.sampled_from(["", ":8080", ":"])
_SEGMENT = st.text(alphabet="ab中%E4B8AD-_.~:@!$;=", max_size=6)
_KEYS = _choices(
    "utm_source|utm_medium|utm_campaign|wd|a|UTM_SOURCE|utm_sourcex|xutm_source|utm%5Fsource|"
)
_VALUES = st.one_of(
    st.sampled_from(
        ["baidu", "a+b", "%E4%B8%AD", "%C9%CF", "%zz", "%", "x=y", "中文", "%2B", "%00", ""]
    ),
    st.text(alphabet="ab+%E4B8ADC9F=?/中 ", max_size=8),
)
_PAIRS = st.lists(
    st.tuples(_KEYS, st.booleans(), _VALUES).map(lambda p: p[0] + ("=" + p[2] if p[1] else "")),
    max_size=5,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    url = draw(_SCHEMES) + (draw(_HOSTS) + draw(_PORTS) if draw(st.booleans()) else "")
    url += "".join("/" + s for s in draw(st.lists(_SEGMENT, max_size=3)))
    if draw(st.booleans()):
        url += "?" + "&".join(draw(_PAIRS))
    if draw(st.booleans()):
        url += "#" + draw(st.sampled_from(["top", "/p?utm_source=frag", "", "a#b"]))
    return url


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(urls(), min_size=1, max_size=30))
def test_sql_equals_urllib(batch: list[str], con: duckdb.DuckDBPyConnection) -> None:
    assert sql_parts(con, list(batch)) == [python_parts(u) for u in batch]


# --- user agents -----------------------------------------------------------------------------

WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Mobile/15E148 MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI Language/zh_CN"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 12; PEDM00 Build/SKQ1.211019.001; wv) AppleWebKit/537.36"
    " (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5075"
    " MMWEBSDK/20230405 MMWEBID/2531 MicroMessenger/8.0.35.2360(0x2800235B) WeChat/arm64"
    " Weixin NetType/WIFI Language/zh_CN ABI/arm64 miniProgram/wx1234"
)
WECOM = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Mobile/15E148 wxwork/4.1.6 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
)
QQ_APP = (
    "Mozilla/5.0 (Linux; U; Android 10; zh-cn; MI 9 Build/QKQ1.190825.002) AppleWebKit/537.36"
    " (KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.126 MQQBrowser/6.2 TBS/045811 Mobile"
    " Safari/537.36 V1_AND_SQ_8.9.0_1234_YYB_D QQ/8.9.0.9000 NetType/WIFI WebP/0.3.0 Pixel/1080"
)
QQ_BROWSER = (
    "Mozilla/5.0 (Linux; U; Android 10; zh-cn; MI 9 Build/QKQ1.190825.002) AppleWebKit/537.36"
    " (KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.126 MQQBrowser/10.1 Mobile Safari/537.36"
)
WEIBO = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Mobile/15E148 Weibo (iPhone14,2__weibo__13.1.0__iphone__os16.0)"
)
DOUYIN = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36"
    " (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 aweme_280100"
    " JsSdk/1.0 NetType/WIFI Channel/vivo_1128_64 app_version/28.1.0 ByteLocale/zh-CN"
    " Region/CN BytedanceWebview/d8a21c6"
)
TOUTIAO = (
    "Mozilla/5.0 (Linux; Android 11; M2012K11AC Build/RKQ1.200826.002; wv) AppleWebKit/537.36"
    " (KHTML, like Gecko) Version/4.0 Chrome/90.0.4430.91 Mobile Safari/537.36 JsSdk/2"
    " NewsArticle/9.0.7 NetType/wifi BytedanceWebview/d8a21c6"
)
ALIPAY = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Mobile/20A362 ChannelId(1) Ariver/1.1.0 AliApp(AP/10.3.0.6000) Nebula WK RVKType(0)"
    " AlipayDefined(nt:WIFI,ws:390|780|3.0) AlipayClient/10.3.0.6000 Language/zh-Hans Region/CN"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.0 Safari/605.1.15"
)
BAIDUSPIDER = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"

UA_CASES = [
    (WECHAT_IOS, ("WeChat", "iOS", "Mobile")),
    (WECHAT_ANDROID, ("WeChat", "Android", "Mobile")),
    (WECOM, ("WeCom", "iOS", "Mobile")),
    (QQ_APP, ("QQ", "Android", "Mobile")),
    (QQ_BROWSER, ("QQ Browser Mobile", "Android", "Mobile")),
    (WEIBO, ("Weibo", "iOS", "Mobile")),
    (DOUYIN, ("Douyin", "Android", "Mobile")),
    (TOUTIAO, ("Toutiao", "Android", "Mobile")),
    (ALIPAY, ("Alipay", "iOS", "Mobile")),
    (IPAD, ("Mobile Safari", "iOS", "Tablet")),
    (ANDROID_TABLET, ("Chrome", "Android", "Tablet")),
    (WINDOWS_EDGE, ("Edge", "Windows", "Desktop")),
    (MAC_SAFARI, ("Safari", "macOS", "Desktop")),
    (BAIDUSPIDER, ("Baiduspider", None, None)),
    ("", (None, None, None)),
]


@pytest.mark.parametrize(("ua", "want"), UA_CASES, ids=[str(w) for _, w in UA_CASES])
def test_user_agent(ua: str, want: tuple[str | None, str | None, str | None]) -> None:
    assert parse_user_agent(ua) == want


def test_parse_user_agents_maps_each_distinct_string_once() -> None:
    uas = [WECHAT_IOS, IPAD, WECHAT_IOS, DOUYIN, IPAD]
    got = parse_user_agents(uas)
    assert list(got) == [WECHAT_IOS, IPAD, DOUYIN]
    assert got[DOUYIN] == ("Douyin", "Android", "Mobile")
    assert all(device in {"Desktop", "Mobile", "Tablet"} for _, _, device in got.values())
