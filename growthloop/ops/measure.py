"""The live actual of a goal node: its bound analytics metric over the period so far.

A node binds either an overview KPI ({"kind": "kpi", "name": "gmv"}, definitions in
growthloop/analytics/kpis.py) or a trends spec ({"kind": "trends", "spec": {...}}), whose date
range and interval are replaced by the goal's period, day by day. How the metric grows with time
decides how it is paced:

- "additive": sums over days (GMV, orders, new users, trends totals and sums);
- "count": distinct people over the period so far (visitors, active users, trends unique users);
- "rate": a ratio or average (conversion rate, AOV, trends averages and formulas).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import duckdb
import ibis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from growthloop.analytics.context import QueryContext
from growthloop.analytics.kpis import KPI_NAMES, Period, compute_overview
from growthloop.analytics.trends import Trends, TrendsSpec
from growthloop.ops.targets import GoalPeriod, TargetError

Growth = Literal["additive", "count", "rate"]
KPI_GROWTH: dict[str, Growth] = {
    "visitors": "count",
    "new_users": "additive",
    "active_users": "count",
    "orders": "additive",
    "gmv": "additive",
    "conversion_rate": "rate",
    "aov": "rate",
}


class KpiMetric(BaseModel):
    """An overview KPI."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["kpi"] = "kpi"
    name: str = Field(description=f"One of {', '.join(KPI_NAMES)}.")


class TrendsMetric(BaseModel):
    """A trends spec; its date range and interval are set from the goal's period."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["trends"] = "trends"
    spec: TrendsSpec


def parse_metric(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A metric binding checked and normalised; TargetError names the wrong field."""
    if data is None:
        return None
    kind = data.get("kind")
    try:
        if kind == "kpi":
            kpi = KpiMetric.model_validate(data)
            if kpi.name not in KPI_NAMES:
                raise TargetError(f"metric.name: {kpi.name!r} is not one of {', '.join(KPI_NAMES)}")
            return kpi.model_dump(mode="json")
        if kind == "trends":
            spec = TrendsMetric.model_validate(data).spec
            return {"kind": "trends", "spec": spec.model_dump(mode="json", exclude_defaults=True)}
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TargetError(f"metric.{where}: {first['msg']}") from None
    raise TargetError(f"metric.kind: {kind!r} is not kpi or trends")


@dataclass(frozen=True)
class Actual:
    """The metric over the elapsed part of a period, with one value per elapsed day."""

    value: float | None
    daily: tuple[float | None, ...]
    growth: Growth


def _kpi_actual(
    cursor: duckdb.DuckDBPyConnection, name: str, days: Period, tz: Any, currency: str
) -> Actual:
    kpi = compute_overview(cursor, days, tz, currency).kpi(name)
    growth = KPI_GROWTH[name]
    if kpi is None:
        zero = 0.0 if growth != "rate" else None
        return Actual(zero, tuple(zero for _ in range(days.days)), growth)
    return Actual(kpi.value, kpi.daily, growth)


def _trends_growth(spec: TrendsSpec) -> Growth:
    if spec.formula:
        return "rate"
    math = spec.series[0].math
    if math in ("total", "sum"):
        return "additive"
    return "count" if math == "unique_users" else "rate"


def _trends_actual(
    cursor: duckdb.DuckDBPyConnection, raw: dict[str, Any], days: Period, tz: Any
) -> Actual:
    period = {"date_from": days.start.isoformat(), "date_to": days.end.isoformat()}
    # The goal's period and daily buckets replace whatever range the bound spec had.
    spec = TrendsSpec.model_validate(
        {**raw, "date_range": period, "interval": "day", "compare": False, "breakdown": None}
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    ctx = QueryContext(ibis.duckdb.from_connection(cursor), tz, now)
    result = Trends(spec, ctx).calculate()
    lines = [ln for ln in result.lines if ln.period == "current"]
    line = next((ln for ln in lines if ln.series == spec.formula), lines[0])
    return Actual(line.total, line.values, _trends_growth(spec))


def measure(
    cursor: duckdb.DuckDBPyConnection,
    metric: dict[str, Any],
    period: GoalPeriod,
    as_of: date,
    tz: Any,
    currency: str,
) -> Actual | None:
    """The bound metric from the period's first day to `as_of` (None before the period starts)."""
    elapsed = period.elapsed_days(as_of)
    if elapsed == 0:
        return None
    days = Period(period.start, min(as_of, period.end))
    if metric["kind"] == "kpi":
        return _kpi_actual(cursor, str(metric["name"]), days, tz, currency)
    return _trends_actual(cursor, metric["spec"], days, tz)
