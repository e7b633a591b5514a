"""UI and report strings in zh-CN and en: JSON catalogues, locale choice and locale formats."""

from growthloop.i18n.catalog import (
    DEFAULT_LOCALE,
    LOCALES,
    Translator,
    catalogue,
    negotiate,
    translator,
)
from growthloop.i18n.formats import Formatter

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "Formatter",
    "Translator",
    "catalogue",
    "negotiate",
    "translator",
]
