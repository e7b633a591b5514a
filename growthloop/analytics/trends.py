"""Trends (事件分析): a metric of events per hour/day/week/month, split by a property, compared
with the previous period, and combined by formulas such as `B / A`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import ResolvedRange, bucket, buckets, to_local
from growthloop.analytics.filters import breakdown_value, number_value
from growthloop.analytics.formula import evaluate, formula_problem, series_letter
from growthloop.analytics.results import ResultTable, as_float, plain
from growthloop.analytics.spec import (
    OTHER,
    Breakdown,
    DateRange,
    Filter,
    Interval,
    PropertyFilter,
    PropertyRef,
    SpecModel,
)
from growthloop.analytics.validation import Problem, Rule, SpecError, validate

Math = Literal["total", "unique_users", "sum", "avg", "min", "max", "median", "p90"]
PROPERTY_MATHS = frozenset({"sum", "avg", "min", "max", "median", "p90"})
# Maths whose empty bucket is 0; the others have no value without events.
ZERO_WHEN_EMPTY = frozenset({"total", "unique_users", "sum"})
MAX_BUCKETS = 5000


class TrendSeries(SpecModel):
    """One line: events of `event` (None: any) passing `filters`, measured by `math`."""

    event: str | None = Field(default=None, min_length=1, max_length=200)
    filters: tuple[PropertyFilter, ...] = ()
    math: Math = "total"
    property: PropertyRef | None = None
    name: str | None = None


class TrendsSpec(SpecModel):
    """Trends over `date_range`, one value per `interval` bucket for every series."""

    kind: Literal["trends"] = "trends"
    series: tuple[TrendSeries, ...]
    date_range: DateRange = DateRange()
    interval: Interval = "day"
    filters: tuple[Filter, ...] = ()
    breakdown: Breakdown | None = None
    compare: bool = False
    formula: str | None = None


def _property_rule(spec: TrendsSpec) -> str | None:
    for i, series in enumerate(spec.series):
        if series.math in PROPERTY_MATHS and series.property is None:
            return f"series {series_letter(i)} uses math {series.math!r}, which needs a property"
        if series.math not in PROPERTY_MATHS and series.property is not None:
            return f"series {series_letter(i)} has a property but math {series.math!r} ignores it"
    return None


RULES: tuple[Rule[TrendsSpec], ...] = (
    Rule(
        "series_count",
        "series",
        lambda s: None if 1 <= len(s.series) <= 26 else "trends need 1 to 26 series",
    ),
    Rule("property_math", "series", _property_rule),
    Rule(
        "formula",
        "formula",
        lambda s: formula_problem(s.formula, len(s.series)) if s.formula else None,
    ),
)


@dataclass(frozen=True)
class TrendLine:
    """Values of one series (or the formula) for one breakdown value, bucket by bucket."""

    series: str
    label: str
    breakdown_value: str | None
    period: Literal["current", "previous"]
    values: tuple[float | None, ...]
    total: float | None
    """The metric over the whole range (unique users are counted once, not summed)."""


@dataclass(frozen=True)
class TrendsResult:
    """Buckets are local bucket starts; previous-period lines align with `previous_buckets`."""

    interval: Interval
    buckets: tuple[datetime, ...]
    previous_buckets: tuple[datetime, ...]
    lines: tuple[TrendLine, ...]
    kind: str = "trends"

    def table(self) -> ResultTable:
        rows = []
        for line in self.lines:
            starts = self.previous_buckets if line.period == "previous" else self.buckets
            for start, value in zip(starts, line.values, strict=True):
                rows.append(
                    (line.series, line.label, line.breakdown_value, line.period, start, value)
                )
        columns = ("series", "label", "breakdown_value", "period", "bucket", "value")
        return ResultTable(columns, tuple(rows))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


def _metric(events: ir.Table, series: TrendSeries) -> ir.Scalar:
    if series.math == "total":
        return events.count()
    if series.math == "unique_users":
        return events.person_id.nunique()
    assert series.property is not None  # guaranteed by the property_math rule
    number = number_value(events, series.property)
    aggregates = {
        "avg": number.mean,
        "min": number.min,
        "max": number.max,
        "median": number.median,
    }
    if series.math == "sum":
        return number.sum().fill_null(0)  # events without the property add nothing
    if series.math in aggregates:
        return aggregates[series.math]()
    return number.quantile(0.9)


Measure = Callable[[ir.Table], ir.Scalar]


def _event_count(t: ir.Table) -> ir.Scalar:
    return t.count()


def _stack(per_bucket: ir.Table, whole: ir.Table) -> ir.Table:
    """Rows (bucket, bd, value); the whole-range rows have a null bucket."""
    whole = whole.mutate(bucket=ibis.null("timestamp"))
    return per_bucket.select("bucket", "bd", "value").union(whole.select("bucket", "bd", "value"))


def _per_bucket_and_whole(rows: ir.Table, measure: Measure) -> ir.Table:
    """`measure` per (bucket, bd) and per bd over the whole range."""
    per_bucket = rows.group_by(["bucket", "bd"]).aggregate(value=measure(rows))
    return _stack(per_bucket, rows.group_by("bd").aggregate(value=measure(rows)))


class Trends:
    """Runs a TrendsSpec: `to_query()` is one Ibis expression, `calculate()` the typed result."""

    rules: ClassVar[tuple[Rule[TrendsSpec], ...]] = RULES

    def __init__(self, spec: TrendsSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        self.range = ctx.resolve(spec.date_range)
        self.previous = self.range.previous() if spec.compare else None

    def _periods(self) -> list[tuple[str, ResolvedRange]]:
        periods = [("current", self.range)]
        if self.previous is not None:
            periods.append(("previous", self.previous))
        return periods

    def _series_events(self, series: TrendSeries, rng: ResolvedRange) -> ir.Table:
        """The series' events in a range, with their local bucket and breakdown value `bd`."""
        spec, bd = self.spec, self.spec.breakdown
        events = self.ctx.scoped_events(
            rng.start_utc,
            rng.end_utc,
            (*spec.filters, *series.filters),
            [bd.property if bd else None, series.property],
        )
        if series.event is not None:
            events = events.filter(events.event == series.event)
        events = events.mutate(bucket=bucket(to_local(events.timestamp, rng), spec.interval))
        if bd is None:
            return events.mutate(bd=ibis.null("string"))
        return events.mutate(bd=breakdown_value(events, bd.property))

    def _base(self, series: TrendSeries, rng: ResolvedRange) -> tuple[ir.Table, Measure]:
        """The series' rows reduced as far as its math allows, and how to measure a group.

        Totals and sums roll up from per-(bucket, value) parts and unique users from distinct
        (bucket, value, person) rows, so the events are read once and everything after works
        on the much smaller table; the other maths measure the events themselves.
        """
        events = self._series_events(series, rng)
        if series.math == "unique_users":
            distinct = events.select("bucket", "bd", "person_id").distinct()
            return distinct, lambda t: t.person_id.nunique()
        if series.math in ("total", "sum"):
            parts = events.group_by(["bucket", "bd"]).aggregate(_part=_metric(events, series))
            return parts, lambda t: t._part.sum()
        return events, lambda t: _metric(t, series)

    def _ranking(self, series: TrendSeries) -> ir.Table:
        """Breakdown values of the current period with `rank_value` and `rank` (0 = biggest).

        Both periods keep the current period's top values, so lines compare like for like;
        maths that do not add up rank values by their number of events."""
        current, measure = self._base(series, self.range)
        if series.math not in ("total", "unique_users", "sum"):
            measure = _event_count
        ranking = current.group_by("bd").aggregate(rank_value=measure(current))
        return ranking.mutate(
            rank=ibis.row_number().over(order_by=[ibis.desc("rank_value"), ibis.asc("bd")])
        )

    def _series_query(self, index: int, period: str, rng: ResolvedRange) -> ir.Table:
        """Rows (series, period, bucket, bd, value); a null bucket holds the whole-range value."""
        series, bd = self.spec.series[index], self.spec.breakdown
        if series.math == "unique_users":
            out = self._unique_users(series, period, rng)
        else:
            rows, measure = self._base(series, rng)
            if bd is not None:
                ranking = self._ranking(series)
                top = ranking.filter(ranking["rank"] < bd.limit).select(top_bd="bd")
                joined = rows.left_join(top, rows.bd == top.top_bd)
                rows = joined.mutate(bd=ibis.ifelse(joined.top_bd.isnull(), OTHER, joined.bd)).drop(
                    "top_bd"
                )
            out = _per_bucket_and_whole(rows, measure)
        return out.mutate(
            series=ibis.literal(index, type="int16"),
            period=ibis.literal(period),
            value=out.value.cast("float64"),
        )

    def _unique_users(self, series: TrendSeries, period: str, rng: ResolvedRange) -> ir.Table:
        """Unique users from distinct (bucket, bd, person) rows: within one bucket and value a
        row is a person, so those cells are row counts; only the whole range and the values
        merged into `$other` need distinct counts. The current period's whole-range values are
        the ranking's own."""
        bd = self.spec.breakdown
        rows, measure = self._base(series, rng)
        if bd is None:
            per_bucket = rows.group_by(["bucket", "bd"]).aggregate(value=rows.count())
            whole = rows.group_by("bd").aggregate(value=measure(rows))
            return _stack(per_bucket, whole)
        ranking = self._ranking(series)
        top = ranking.filter(ranking["rank"] < bd.limit)
        mine = rows.semi_join(top, rows.bd == top.bd)
        per_bucket = mine.group_by(["bucket", "bd"]).aggregate(value=mine.count())
        if period == "current":
            whole = top.select("bd", value=top.rank_value)
        else:
            whole = mine.group_by("bd").aggregate(value=measure(mine))
        other = rows.anti_join(top, rows.bd == top.bd).mutate(bd=ibis.literal(OTHER))
        return _stack(per_bucket, whole).union(_per_bucket_and_whole(other, measure))

    def to_query(self) -> ir.Table:
        """All series and periods as one union of aggregate rows."""
        parts = []
        for index in range(len(self.spec.series)):
            for period, rng in self._periods():
                parts.append(self._series_query(index, period, rng))
        return ibis.union(*parts) if len(parts) > 1 else parts[0]

    def calculate(self) -> TrendsResult:
        spec = self.spec
        starts = buckets(self.range, spec.interval)
        previous_starts = buckets(self.previous, spec.interval) if self.previous else []
        if max(len(starts), len(previous_starts)) > MAX_BUCKETS:
            message = (
                f"{len(starts)} {spec.interval} buckets is more than {MAX_BUCKETS}:"
                " choose a shorter date range or a longer interval"
            )
            raise SpecError([Problem("too_many_buckets", "interval", message)])
        cells: dict[tuple[int, str, str | None], dict[datetime | None, float | None]]
        cells = defaultdict(dict)
        for row in self.ctx.execute(self.to_query()):
            key = (row["series"], row["period"], row["bd"])
            cells[key][row["bucket"]] = as_float(row["value"])
        lines = []
        for index, series in enumerate(spec.series):
            empty = 0.0 if series.math in ZERO_WHEN_EMPTY else None
            values = self._breakdown_order(cells, index)
            for period, bucket_starts in (("current", starts), ("previous", previous_starts)):
                if period == "previous" and self.previous is None:
                    continue
                for value in values:
                    got = cells.get((index, period, value), {})
                    lines.append(
                        TrendLine(
                            series=series_letter(index),
                            label=series.name or series.event or "any event",
                            breakdown_value=value,
                            period=period,  # type: ignore[arg-type]
                            values=tuple(got.get(b, empty) for b in bucket_starts),
                            total=got.get(None, empty),
                        )
                    )
        if spec.formula:
            lines = self._formula_lines(spec.formula, lines)
        return TrendsResult(spec.interval, tuple(starts), tuple(previous_starts), tuple(lines))

    def _breakdown_order(
        self,
        cells: dict[tuple[int, str, str | None], dict[datetime | None, float | None]],
        index: int,
    ) -> list[str | None]:
        """Breakdown values of a series, biggest total first and `$other` last."""
        if self.spec.breakdown is None:
            return [None]
        totals = {
            key[2]: got.get(None) or 0.0
            for key, got in cells.items()
            if key[0] == index and key[1] == "current"
        }
        ordered = sorted((v for v in totals if v != OTHER), key=lambda v: (-totals[v], v or ""))
        return [*ordered, OTHER] if OTHER in totals else list(ordered)

    def _formula_lines(self, formula: str, lines: list[TrendLine]) -> list[TrendLine]:
        """One line per (breakdown value, period): the formula applied bucket by bucket."""
        by_key: dict[tuple[str | None, str], dict[str, TrendLine]] = defaultdict(dict)
        for line in lines:
            by_key[(line.breakdown_value, line.period)][line.series] = line
        out = []
        for (value, period), members in by_key.items():
            width = len(next(iter(members.values())).values)

            def at(i: int, members: dict[str, TrendLine] = members) -> dict[str, float | None]:
                return {letter: line.values[i] for letter, line in members.items()}

            totals = {letter: line.total for letter, line in members.items()}
            out.append(
                TrendLine(
                    series=formula,
                    label=formula,
                    breakdown_value=value,
                    period=period,  # type: ignore[arg-type]
                    values=tuple(evaluate(formula, at(i)) for i in range(width)),
                    total=evaluate(formula, totals),
                )
            )
        return out
