"""The overview (运营概览) as the pages and the API show it: period choice, cards, charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from growthloop.analytics.kpis import (
    MONEY_KPIS,
    RATIO_KPIS,
    Kpi,
    Overview,
    Period,
    last_data_day,
)
from growthloop.i18n import Formatter, Translator

PERIOD_DAYS = (7, 14, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 366


class PeriodError(ValueError):
    """A period parameter that cannot be used; the message names the parameter."""


def resolve_period(
    con: duckdb.DuckDBPyConnection,
    tz: ZoneInfo,
    days: int | None,
    start: str | None,
    end: str | None,
) -> Period:
    """start/end (YYYY-MM-DD) when given, else `days` ending on the last day with data."""

    def parse(name: str, value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PeriodError(f"{name}: expected a date as YYYY-MM-DD, got {value!r}") from None

    if start and end:
        first, last = parse("start", start), parse("end", end)
        if last < first:
            raise PeriodError(f"end: {last} is before start {first}")
        if (last - first).days >= MAX_DAYS:
            raise PeriodError(f"end: a period is at most {MAX_DAYS} days")
        return Period(first, last)
    n = days or DEFAULT_DAYS
    if not 1 <= n <= MAX_DAYS:
        raise PeriodError(f"days: must be between 1 and {MAX_DAYS}, got {n}")
    anchor = last_data_day(con, tz) or datetime.now(tz).date()
    return Period.last_days(anchor, n)


@dataclass(frozen=True)
class KpiCard:
    """A KPI formatted for one locale, ready for the card template."""

    name: str
    label: str
    value: str
    previous: str | None
    change: str | None
    trend: str  # "up", "down" or "flat": the colour of the change
    sparkline: str  # SVG polyline points in a 100 x 28 box


def format_value(name: str, value: float, fmt: Formatter) -> str:
    """A KPI value as money, percentage or count."""
    if name in MONEY_KPIS:
        return fmt.money(value)
    if name in RATIO_KPIS:
        return fmt.percent(value, 2)
    return fmt.number(value)


def sparkline_points(values: tuple[float | None, ...], width: int = 100, height: int = 28) -> str:
    """Polyline points for the daily values; days without a value are skipped."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = []
    for i, v in enumerate(values):
        if v is None:
            continue
        y = height - 2 - (v - low) / span * (height - 4)
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)


def kpi_card(kpi: Kpi, t: Translator, fmt: Formatter) -> KpiCard:
    """The card of one KPI in the request's language and formats."""
    change = None if kpi.change is None else fmt.change(kpi.change)
    direction = "flat"
    if kpi.change is not None and round(kpi.change, 3) != 0:
        direction = "up" if kpi.change > 0 else "down"
    return KpiCard(
        name=kpi.name,
        label=t(f"kpi.{kpi.name}"),
        value=format_value(kpi.name, kpi.value, fmt),
        previous=None if kpi.previous is None else format_value(kpi.name, kpi.previous, fmt),
        change=change,
        trend=direction,
        sparkline=sparkline_points(kpi.daily),
    )


def trend_figure(overview: Overview, t: Translator, fmt: Formatter) -> dict[str, Any] | None:
    """Plotly figure: daily visitors and orders (left axis) and GMV (right axis)."""
    x = [d.isoformat() for d in overview.dates]
    ticks = [fmt.short_date(d) for d in overview.dates]
    traces: list[dict[str, Any]] = []
    for name, axis in (("visitors", "y"), ("orders", "y"), ("gmv", "y2")):
        kpi = overview.kpi(name)
        if kpi is None:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if name != "gmv" else "lines",
                "name": t(f"kpi.{name}"),
                "x": x,
                "y": list(kpi.daily),
                "yaxis": axis,
                "line": {"dash": "dot"} if name == "gmv" else {},
            }
        )
    if not traces:
        return None
    every = max(1, len(x) // 10)
    layout = {
        "margin": {"l": 50, "r": 90, "t": 10, "b": 40},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"tickvals": x[::every], "ticktext": ticks[::every]},
        # Full grouped numbers ("16,900"), not SI suffixes: "k" means nothing in 中文 (万).
        "yaxis": {"rangemode": "tozero", "tickformat": ",.0f"},
        "yaxis2": {
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "tickformat": ",.0f",
            "title": {"text": t("kpi.gmv")},
        },
    }
    return {"data": traces, "layout": layout}


def channel_figure(overview: Overview, t: Translator) -> dict[str, Any] | None:
    """Plotly figure: sessions by channel, largest first."""
    if not overview.channels:
        return None
    rows = list(reversed(overview.channels))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [r.sessions for r in rows],
                "y": [t.get(f"channel.{r.channel}", r.channel) for r in rows],
                "name": t("overview.sessions"),
            }
        ],
        "layout": {
            "margin": {"l": 160, "r": 20, "t": 10, "b": 30},
            "height": max(180, 32 * len(rows) + 40),
            "xaxis": {"tickformat": ",.0f"},
        },
    }


def overview_json(overview: Overview) -> dict[str, Any]:
    """The API's representation: raw numbers, ISO dates."""
    return {
        "period": {
            "start": overview.period.start.isoformat(),
            "end": overview.period.end.isoformat(),
        },
        "previous_period": {
            "start": overview.previous.start.isoformat(),
            "end": overview.previous.end.isoformat(),
        },
        "currency": overview.currency,
        "dates": [d.isoformat() for d in overview.dates],
        "kpis": [
            {
                "name": k.name,
                "value": k.value,
                "previous": k.previous,
                "change": k.change,
                "daily": list(k.daily),
            }
            for k in overview.kpis
        ],
        "channels": [
            {"channel": c.channel, "sessions": c.sessions, "share": c.share}
            for c in overview.channels
        ],
    }
