"""Numbers, money, percentages and dates as each supported locale writes them (CLDR patterns)."""

from __future__ import annotations

import datetime as dt

# CLDR currency symbols: in English the yuan is "CN¥" (plain "¥" is the yen), in Chinese "¥".
_SYMBOLS = {
    "en": {"CNY": "CN¥", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£", "HKD": "HK$"},
    "zh-CN": {"CNY": "¥", "USD": "US$", "EUR": "€", "JPY": "JP¥", "GBP": "£", "HKD": "HK$"},
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MINUS = "\u2212"


class Formatter:
    """Formats values for one locale ("zh-CN" or "en")."""

    def __init__(self, locale: str, currency: str = "CNY") -> None:
        self.locale = locale
        self.currency = currency

    def number(self, value: float, digits: int = 0) -> str:
        """A number with grouping separators and `digits` decimals."""
        text = f"{abs(value):,.{digits}f}"
        return (MINUS if value < 0 and float(text.replace(",", "")) else "") + text

    def money(self, value: float, currency: str | None = None) -> str:
        """An amount with the locale's currency symbol."""
        code = currency or self.currency
        symbol = _SYMBOLS[self.locale].get(code)
        amount = self.number(abs(value), 2)
        sign = MINUS if value < 0 else ""
        return f"{sign}{symbol}{amount}" if symbol else f"{sign}{code}\u00a0{amount}"

    def percent(self, ratio: float, digits: int = 1) -> str:
        """A ratio as a percentage."""
        return self.number(ratio * 100, digits) + "%"

    def change(self, ratio: float) -> str:
        """A relative change with its sign: +12.3%, −4.0%."""
        text = self.percent(abs(ratio))
        if round(ratio * 100, 1) == 0:
            return text
        return ("+" if ratio > 0 else MINUS) + text

    def date(self, day: dt.date) -> str:
        """A day in the locale's long form."""
        if self.locale == "zh-CN":
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{_MONTHS_EN[day.month - 1]} {day.day}, {day.year}"

    def short_date(self, day: dt.date) -> str:
        """A day without the year (chart axes)."""
        if self.locale == "zh-CN":
            return f"{day.month}月{day.day}日"
        return f"{_MONTHS_EN[day.month - 1]} {day.day}"

    def date_range(self, start: dt.date, end: dt.date) -> str:
        """Two days as a range."""
        return f"{self.date(start)} – {self.date(end)}"
