"""Message catalogues: one flat JSON object per locale (`zh_CN.json`, `en.json`) in this package,
plus one part per capability in `zh_CN/*.json` and `en/*.json` (a key may be defined once)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
_FILES = {"zh-CN": "zh_CN.json", "en": "en.json"}


@cache
def catalogue(locale: str) -> dict[str, str]:
    """The messages of a locale, loaded once."""
    main = Path(__file__).parent / _FILES[locale]
    parts = sorted((main.parent / main.stem).glob("*.json"))
    messages: dict[str, str] = {}
    for path in [main, *parts]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path}: a catalogue is one JSON object of string messages")
        twice = sorted(set(messages) & set(data))
        if twice:
            raise ValueError(f"{path}: keys already defined in another part: {twice}")
        messages.update(data)
    return messages


class Translator:
    """`t("key", name=...)` looks a key up and fills `{name}` placeholders."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.messages = catalogue(locale)

    def __call__(self, key: str, **values: object) -> str:
        # An unknown key is a programming error; tests/test_web_i18n.py checks every literal key.
        message = self.messages[key]
        return message.format(**values) if values else message

    def get(self, key: str, default: str) -> str:
        """For keys built from data (channel names): the data value when there is no message."""
        return self.messages.get(key, default)


@cache
def translator(locale: str) -> Translator:
    """The translator of a locale (one per locale)."""
    return Translator(locale)


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The locale to use: a supported explicit choice, else the best Accept-Language match."""
    if chosen in LOCALES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for neg_quality, _, tag in sorted(ranked):
        if neg_quality >= 0:
            continue
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE
