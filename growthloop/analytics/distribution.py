"""Distribution (分布分析) of events per person, and interval (间隔分析): time from one event to
another per person. Both give a histogram over fixed bins and summary statistics."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.asof import next_event
from growthloop.analytics.context import QueryContext
from growthloop.analytics.filters import all_filters
from growthloop.analytics.results import ResultTable, as_float, plain
from growthloop.analytics.spec import DateRange, EventSelector, Filter, SpecModel
from growthloop.analytics.validation import Rule, validate

DEFAULT_COUNT_BINS = (1, 2, 3, 4, 5, 6, 11, 21, 51, 101)
DEFAULT_SECONDS_BINS = (0, 60, 300, 900, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400)


class DistributionSpec(SpecModel):
    """How many `event`s each person did in the range; bins are the lower edges."""

    kind: Literal["distribution"] = "distribution"
    event: EventSelector = EventSelector()
    date_range: DateRange = DateRange(date_from="-30d")
    filters: tuple[Filter, ...] = ()
    bins: tuple[int, ...] = Field(default=DEFAULT_COUNT_BINS, min_length=1)


class IntervalSpec(SpecModel):
    """Per person: from their first `from_event` in the range to the first `to_event` at or
    after it (in the range). Bins are lower edges in seconds."""

    kind: Literal["interval"] = "interval"
    from_event: EventSelector
    to_event: EventSelector
    date_range: DateRange = DateRange(date_from="-30d")
    filters: tuple[Filter, ...] = ()
    bins: tuple[int, ...] = Field(default=DEFAULT_SECONDS_BINS, min_length=1)


def _bins_rule(first: int) -> Rule[Any]:
    def check(spec: Any) -> str | None:
        bins = spec.bins
        if bins[0] != first or any(b >= c for b, c in itertools.pairwise(bins)):
            return f"bins are increasing lower edges starting at {first}, got {list(bins)}"
        return None

    return Rule("bins", "bins", check)


@dataclass(frozen=True)
class Bin:
    low: int
    high: int | None
    """Exclusive upper edge; None for the last, open bin."""
    people: int


@dataclass(frozen=True)
class DistributionResult:
    """A histogram over people and the statistics of the per-person values."""

    bins: tuple[Bin, ...]
    people: int
    mean: float | None
    median: float | None
    p25: float | None
    p75: float | None
    p90: float | None
    kind: str = "distribution"

    def table(self) -> ResultTable:
        rows = tuple((b.low, b.high, b.people) for b in self.bins)
        return ResultTable(("from", "below", "people"), rows)

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


def _selected(ctx: QueryContext, spec: Any, selector: EventSelector) -> ir.Table:
    rng = ctx.resolve(spec.date_range)
    events = ctx.scoped_events(rng.start_utc, rng.end_utc, spec.filters, selector.filters)
    if selector.event is not None:
        events = events.filter(events.event == selector.event)
    if selector.filters:
        events = events.filter(all_filters(events, selector.filters))
    return events


def _histogram(values: ir.Table, bins: tuple[int, ...]) -> ir.Table:
    """(low, people) per bin of column `v`, plus statistics in a row with low null."""
    low = ibis.literal(bins[0], "int64")
    for edge in bins[1:]:
        low = ibis.ifelse(values.v >= edge, edge, low)
    binned = values.mutate(low=low)
    counts = binned.group_by("low").aggregate(people=binned.count())
    stats = values.aggregate(
        people=values.count(),
        mean=values.v.mean(),
        median=values.v.median(),
        p25=values.v.quantile(0.25),
        p75=values.v.quantile(0.75),
        p90=values.v.quantile(0.9),
    )
    return counts.mutate(
        low=counts.low.cast("int64"), people=counts.people.cast("int64")
    ).cross_join(stats.drop("people"))


def _result(
    ctx: QueryContext, query: ir.Table, bins: tuple[int, ...], kind: str
) -> DistributionResult:
    rows = ctx.execute(query)
    people = {int(r["low"]): int(r["people"]) for r in rows}
    first = rows[0] if rows else {}
    edges = [*bins[1:], None]
    return DistributionResult(
        bins=tuple(Bin(lo, hi, people.get(lo, 0)) for lo, hi in zip(bins, edges, strict=True)),
        people=sum(people.values()),
        mean=as_float(first.get("mean")),
        median=as_float(first.get("median")),
        p25=as_float(first.get("p25")),
        p75=as_float(first.get("p75")),
        p90=as_float(first.get("p90")),
        kind=kind,
    )


class Distribution:
    """Events per person: who did the event 1, 2, ... times in the range."""

    rules: ClassVar[tuple[Rule[DistributionSpec], ...]] = (_bins_rule(1),)

    def __init__(self, spec: DistributionSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx

    def to_query(self) -> ir.Table:
        events = _selected(self.ctx, self.spec, self.spec.event)
        per_person = events.group_by("person_id").aggregate(v=events.count())
        return _histogram(per_person, self.spec.bins)

    def calculate(self) -> DistributionResult:
        return _result(self.ctx, self.to_query(), self.spec.bins, "distribution")


class Interval:
    """Time between two events per person, in seconds."""

    rules: ClassVar[tuple[Rule[IntervalSpec], ...]] = (_bins_rule(0),)

    def __init__(self, spec: IntervalSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx

    def to_query(self) -> ir.Table:
        start = _selected(self.ctx, self.spec, self.spec.from_event)
        start = start.group_by("person_id").aggregate(_from=start.timestamp.min())
        end = _selected(self.ctx, self.spec, self.spec.to_event)
        end = end.select("person_id", "timestamp")
        joined = next_event(start, "_from", end, "_to", asof=self.ctx.asof_joins)
        joined = joined.filter(joined._to.notnull())
        micros = joined._to.delta(joined._from, unit="microsecond")
        values = joined.select(v=micros.cast("float64") / 1e6)
        return _histogram(values, self.spec.bins)

    def calculate(self) -> DistributionResult:
        return _result(self.ctx, self.to_query(), self.spec.bins, "interval")
