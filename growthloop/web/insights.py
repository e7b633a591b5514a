"""Saved insights: typed specs of the kinds the web app can show today, and their runners.

A registry maps each spec kind to a runner that turns a spec into a card for a dashboard. The
analysis kinds (trends, funnels, ...) join the registry when they arrive; the overview's cards
are the first kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import duckdb
import ibis
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from growthloop.analytics.context import QueryContext
from growthloop.analytics.kpis import Overview, Period, last_data_day
from growthloop.analytics.registry import SpecUnion, run_analysis
from growthloop.analytics.segments import SavedSegmentSource
from growthloop.i18n import Formatter, Translator
from growthloop.store.events import EventStore
from growthloop.web.overview_view import (
    KpiCard,
    channel_figure,
    kpi_card,
    trend_figure,
)

KpiName = Literal[
    "visitors", "new_users", "active_users", "orders", "gmv", "conversion_rate", "aov"
]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    days: int = Field(
        default=30, ge=1, le=366, description="Days ending on the last day with data."
    )


class KpiSpec(_Spec):
    """One overview KPI card with its change and sparkline."""

    kind: Literal["kpi"] = "kpi"
    metric: KpiName


class ChannelsSpec(_Spec):
    """Sessions by channel."""

    kind: Literal["channels"] = "channels"


class TrendSpec(_Spec):
    """Daily visitors, orders and GMV."""

    kind: Literal["trend"] = "trend"


# Overview cards and every analysis kind (trends, funnel, retention, ...: analytics.registry).
InsightSpecUnion = KpiSpec | ChannelsSpec | TrendSpec | SpecUnion
InsightSpec = Annotated[InsightSpecUnion, Field(discriminator="kind")]
spec_adapter: TypeAdapter[InsightSpecUnion] = TypeAdapter(InsightSpec)


@contextmanager
def read_cursor(store: EventStore) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own per request (DuckDB connections are not shared across threads)."""
    cursor = store.con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        yield cursor
    finally:
        cursor.close()


@dataclass
class RunContext:
    """What runners share while one page renders: the store, locale, and computed overviews."""

    cursor: duckdb.DuckDBPyConnection
    tz: ZoneInfo
    t: Translator
    fmt: Formatter
    compute: Callable[[Period], Overview]
    _overviews: dict[int, Overview] = field(default_factory=dict)
    saved: SavedSegmentSource | None = None
    """The project's saved segments, for analysis specs that filter or break down by one."""

    def overview(self, days: int) -> Overview:
        """The overview of the `days` days ending on the last day with data."""
        if days not in self._overviews:
            end = last_data_day(self.cursor, self.tz) or datetime.now(self.tz).date()
            self._overviews[days] = self.compute(Period.last_days(end, days))
        return self._overviews[days]


@dataclass(frozen=True)
class Card:
    """A rendered insight: a KPI card, a Plotly figure, or nothing (no data in the period)."""

    kind: str
    period: str
    kpi: KpiCard | None = None
    figure: dict[str, Any] | None = None
    analysis: dict[str, Any] | None = None
    """An analysis spec's `kind`, `spec`, `result` and chart `labels` in the page's language,
    drawn by static/charts.js."""

    @property
    def has_data(self) -> bool:
        """False when the period has nothing to show."""
        return self.kpi is not None or self.figure is not None or self.analysis is not None


def _period_text(overview: Overview, fmt: Formatter) -> str:
    return fmt.date_range(overview.period.start, overview.period.end)


def run_kpi(spec: KpiSpec, ctx: RunContext) -> Card:
    """A KPI card, or an empty card when the KPI has no data."""
    overview = ctx.overview(spec.days)
    kpi = overview.kpi(spec.metric)
    card = kpi_card(kpi, ctx.t, ctx.fmt) if kpi else None
    return Card("kpi", _period_text(overview, ctx.fmt), kpi=card)


def run_channels(spec: ChannelsSpec, ctx: RunContext) -> Card:
    """The sessions-by-channel chart."""
    overview = ctx.overview(spec.days)
    figure = channel_figure(overview, ctx.t)
    return Card("channels", _period_text(overview, ctx.fmt), figure=figure)


def run_trend(spec: TrendSpec, ctx: RunContext) -> Card:
    """The daily trend chart."""
    overview = ctx.overview(spec.days)
    figure = trend_figure(overview, ctx.t, ctx.fmt)
    return Card("trend", _period_text(overview, ctx.fmt), figure=figure)


def run_analysis_card(spec: SpecUnion, ctx: RunContext) -> Card:
    """An analysis spec's result for static/charts.js; an empty card if it cannot run now."""
    now = datetime.now(UTC).replace(tzinfo=None)
    query_ctx = QueryContext(ibis.duckdb.from_connection(ctx.cursor), ctx.tz, now, ctx.saved)
    date_range = getattr(spec, "date_range", None)
    period = ""
    try:
        if date_range is not None:
            span = query_ctx.resolve(date_range)
            last = (span.end - timedelta(microseconds=1)).date()
            period = ctx.fmt.date_range(span.start.date(), last)
        result = run_analysis(spec, query_ctx)
    except (ValueError, duckdb.Error):  # SpecError is a ValueError: the spec cannot run now
        return Card(spec.kind, period)
    labels = {
        "all": ctx.t("analysis.all_people"),
        "new": ctx.t("analysis.new"),
        "returning": ctx.t("analysis.returning"),
        "resurrecting": ctx.t("analysis.resurrecting"),
        "dormant": ctx.t("analysis.dormant"),
    }
    analysis = {
        "kind": spec.kind,
        "spec": spec.model_dump(mode="json"),
        "result": result.to_dict(),
        "labels": labels,
    }
    return Card(spec.kind, period, analysis=analysis)


RUNNERS: dict[str, Callable[[Any, RunContext], Card]] = {
    "kpi": run_kpi,
    "channels": run_channels,
    "trend": run_trend,
}


def run_insight(spec: dict[str, Any], ctx: RunContext) -> Card:
    """Validate a stored spec and run it with the runner its kind names."""
    parsed = spec_adapter.validate_python(spec)
    return RUNNERS.get(parsed.kind, run_analysis_card)(parsed, ctx)
