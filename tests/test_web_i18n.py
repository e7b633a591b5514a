"""Catalogues in step: same keys and placeholders in zh-CN and en; every used key exists."""

from __future__ import annotations

import re
import string
from datetime import date
from pathlib import Path

import pytest

from growthloop.accounts import Role
from growthloop.analytics.kpis import KPI_NAMES
from growthloop.i18n import LOCALES, Formatter, catalogue, negotiate

WEB = Path(__file__).parent.parent / "growthloop" / "web"
# t("key"), t('key'), t("prefix." + x) in templates and Python; "login.error_x" strings passed on.
LITERAL_CALL = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.]+)["']\s*[,)]""")
DYNAMIC_CALL = re.compile(r"""\bt(?:\.get)?\(\s*f?["']([a-z_]+\.)(?:["']\s*[+~]|\{)""")
KEY_STRING = re.compile(r"""["'](login\.error_[a-z]+)["']""")


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def sources() -> list[Path]:
    return sorted([*WEB.rglob("*.html"), *WEB.rglob("*.py")])


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalogue("en"), catalogue("zh-CN")
    assert sorted(set(en) - set(zh)) == [], "keys missing from zh_CN.json"
    assert sorted(set(zh) - set(en)) == [], "keys missing from en.json"
    for key in en:
        assert placeholders(en[key]) == placeholders(zh[key]), key
        assert zh[key].strip(), f"empty zh-CN message for {key}"


def test_every_key_the_code_uses_exists() -> None:
    known = set(catalogue("en"))
    used: dict[str, str] = {}
    prefixes: set[str] = set()
    for path in sources():
        text = path.read_text(encoding="utf-8")
        for key in LITERAL_CALL.findall(text) + KEY_STRING.findall(text):
            used.setdefault(key, f"{path.relative_to(WEB)}")
        prefixes.update(DYNAMIC_CALL.findall(text))
    unknown = {k: where for k, where in used.items() if k not in known}
    assert not unknown, f"keys used but not in the catalogues: {unknown}"
    assert len(used) > 60
    # Keys built at run time: each prefix's full set of values must be present.
    expected_prefixes = {"kpi.", "role.", "channel."}
    assert prefixes == expected_prefixes, prefixes
    assert {f"kpi.{n}" for n in KPI_NAMES} <= known
    assert {f"role.{r.name}" for r in Role} <= known
    # app.py renders error.forbidden_<reason> for the two reasons Forbidden carries.
    assert {"error.forbidden_role", "error.forbidden_csrf"} <= known


def test_the_checker_catches_an_unknown_key(tmp_path: Path) -> None:
    sample = '{{ t("nav.overview") }} {{ t("nav.no_such_key", n=1) }}'
    assert LITERAL_CALL.findall(sample) == ["nav.overview", "nav.no_such_key"]
    assert "nav.no_such_key" not in catalogue("en")


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        ("en-US,en;q=0.9", None, "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("fr-FR,fr;q=0.9,en;q=0.5", None, "en"),
        ("fr-FR", None, "zh-CN"),
        (None, None, "zh-CN"),
        ("en;q=0.2,zh-CN;q=0.8", None, "zh-CN"),
        ("en", "zh-CN", "zh-CN"),
        ("en", "de", "en"),
    ],
)
def test_locale_negotiation(header: str | None, chosen: str | None, expected: str) -> None:
    assert negotiate(header, chosen) == expected


def test_formats_per_locale() -> None:
    en, zh = Formatter("en"), Formatter("zh-CN")
    assert en.number(1234567) == zh.number(1234567) == "1,234,567"
    assert en.money(1234.5) == "CN¥1,234.50"
    assert zh.money(1234.5) == "¥1,234.50"
    assert zh.money(-3, "USD") == "−US$3.00"
    assert en.money(3, "XYZ") == "XYZ\u00a03.00"
    assert en.percent(0.1234, 2) == "12.34%"
    assert en.change(0.1234) == "+12.3%" and en.change(-0.05) == "−5.0%"
    assert en.change(0.0001) == "0.0%"
    assert en.date(date(2026, 11, 5)) == "Nov 5, 2026"
    assert zh.date(date(2026, 11, 5)) == "2026年11月5日"
    assert zh.short_date(date(2026, 1, 9)) == "1月9日"
    assert set(LOCALES) == {"en", "zh-CN"}
