"""Retention (留存分析): of the people who did a start event in a period (the cohort), how many
did a return event N periods later ("on", N-day) or in period N or any later one ("on or after",
unbounded). Cohorts are recurring (every period with a start event) or first-time (only the
period of a person's first start event ever)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import (
    ResolvedRange,
    bucket,
    bucket_start,
    buckets,
    local_from_utc,
    next_bucket,
    to_local,
    utc_from_local,
)
from growthloop.analytics.filters import all_filters, breakdown_value
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import (
    OTHER,
    Breakdown,
    DateRange,
    EventSelector,
    Filter,
    SpecModel,
)
from growthloop.analytics.validation import Rule, validate

RetentionPeriod = Literal["day", "week", "month"]


class RetentionSpec(SpecModel):
    """Cohorts are the periods overlapping `date_range` (widened to whole periods); returns
    are counted up to now, so recent cohorts fill in as time passes."""

    kind: Literal["retention"] = "retention"
    start_event: EventSelector = EventSelector()
    return_event: EventSelector = EventSelector()
    period: RetentionPeriod = "day"
    periods: int = Field(default=7, ge=1)
    retention_type: Literal["on", "on_or_after"] = "on"
    cohort_type: Literal["recurring", "first_time"] = "recurring"
    date_range: DateRange = DateRange(date_from="-7d")
    filters: tuple[Filter, ...] = ()
    breakdown: Breakdown | None = None


MAX_PERIODS = {"day": 366, "week": 104, "month": 60}


RULES: tuple[Rule[RetentionSpec], ...] = (
    Rule(
        "period_count",
        "periods",
        lambda s: (
            None
            if s.periods <= MAX_PERIODS[s.period]
            else f"retention by {s.period} shows at most {MAX_PERIODS[s.period]} periods,"
            f" not {s.periods}"
        ),
    ),
)


@dataclass(frozen=True)
class RetentionCohort:
    """One cohort row: size, then people retained in periods 0..N (None: not yet reached)."""

    cohort: datetime
    size: int
    counts: tuple[int | None, ...]
    percentages: tuple[float | None, ...]


@dataclass(frozen=True)
class RetentionGroup:
    breakdown_value: str | None
    cohorts: tuple[RetentionCohort, ...]
    mean: tuple[float | None, ...]
    """Per period N: retained people / cohort sizes, summed over cohorts that reached N."""


@dataclass(frozen=True)
class RetentionResult:
    period: RetentionPeriod
    retention_type: str
    cohort_type: str
    groups: tuple[RetentionGroup, ...]
    kind: str = "retention"

    @property
    def cohorts(self) -> tuple[RetentionCohort, ...]:
        return self.groups[0].cohorts

    @property
    def mean(self) -> tuple[float | None, ...]:
        return self.groups[0].mean

    def table(self) -> ResultTable:
        width = len(self.groups[0].mean) if self.groups else 0
        columns = ("breakdown_value", "cohort", "size", *(f"period_{n}" for n in range(width)))
        rows: list[tuple[Any, ...]] = []
        for group in self.groups:
            for c in group.cohorts:
                rows.append((group.breakdown_value, c.cohort, c.size, *c.percentages))
            rows.append((group.breakdown_value, "mean", None, *group.mean))
        return ResultTable(columns, tuple(rows))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


def _period_index(
    later: ir.TimestampValue, earlier: ir.TimestampValue, period: str
) -> ir.IntegerValue:
    """Whole periods between two period starts."""
    if period == "month":
        return later.delta(earlier, unit="month")
    days = later.delta(earlier, unit="day")
    return days // 7 if period == "week" else days


class Retention:
    """Runs a RetentionSpec: `to_query()` gives (bd, cohort, n, people) rows, `calculate()`."""

    rules: ClassVar[tuple[Rule[RetentionSpec], ...]] = RULES

    def __init__(self, spec: RetentionSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        rng = ctx.resolve(spec.date_range)
        first = bucket_start(rng.start, spec.period)
        self.cohort_starts = buckets(rng, spec.period)
        # Cohort events: whole periods, from the start of the first one to the range end.
        self.cohort_range = ResolvedRange(
            first, rng.end, utc_from_local(first, rng.tz), rng.end_utc, rng.tz
        )
        now_local = local_from_utc(ctx.now_utc, rng.tz)
        self.returns_range = ResolvedRange(
            first,
            max(now_local, rng.end),
            self.cohort_range.start_utc,
            max(ctx.now_utc, rng.end_utc),
            rng.tz,
        )
        self.now_local = now_local

    def _selected(
        self, selector: EventSelector, start_utc: datetime | None, end_utc: datetime
    ) -> ir.Table:
        spec = self.spec
        refs = [spec.breakdown.property if spec.breakdown else None, *selector.filters]
        events = self.ctx.scoped_events(start_utc, end_utc, spec.filters, refs)
        if selector.event is not None:
            events = events.filter(events.event == selector.event)
        if selector.filters:
            events = events.filter(all_filters(events, selector.filters))
        return events

    def cohorts(self) -> ir.Table:
        """(person_id, cohort, bd): each person's cohort periods and their breakdown value."""
        spec, rng = self.spec, self.cohort_range
        if spec.cohort_type == "first_time":
            # The first start event ever, not only inside the range.
            starts = self._selected(spec.start_event, None, rng.end_utc)
            starts = starts.mutate(_first=starts.timestamp.min().over(group_by="person_id"))
            starts = starts.filter(
                (starts.timestamp == starts._first) & (starts.timestamp >= rng.start_utc)
            )
        else:
            starts = self._selected(spec.start_event, rng.start_utc, rng.end_utc)
        starts = starts.mutate(cohort=bucket(to_local(starts.timestamp, rng), spec.period))
        if spec.breakdown is None:
            return starts.select("person_id", "cohort", bd=ibis.null("string")).distinct()
        # The value on the person's earliest start event of the period (ties: smallest value).
        starts = starts.mutate(bd=breakdown_value(starts, spec.breakdown.property))
        starts = starts.mutate(_edge=starts.timestamp.min().over(group_by=["person_id", "cohort"]))
        starts = starts.filter(starts.timestamp == starts._edge)
        return starts.group_by(["person_id", "cohort"]).aggregate(bd=starts.bd.min())

    def to_query(self) -> ir.Table:
        spec = self.spec
        cohorts = self.cohorts()
        if spec.breakdown is not None:
            cohorts = self._top_values(cohorts, spec.breakdown)
        sizes = cohorts.group_by(["bd", "cohort"]).aggregate(people=cohorts.count())
        sizes = sizes.mutate(n=ibis.literal(0, "int64"))
        rng = self.returns_range
        returns = self._selected(spec.return_event, rng.start_utc, rng.end_utc)
        returns = returns.select(
            "person_id", ret=bucket(to_local(returns.timestamp, rng), spec.period)
        )
        returns = returns.distinct()
        pairs = cohorts.join(returns, "person_id")
        pairs = pairs.mutate(n=_period_index(pairs.ret, pairs.cohort, spec.period).cast("int64"))
        if spec.retention_type == "on":
            pairs = pairs.filter((pairs.n >= 1) & (pairs.n <= spec.periods))
            cells = pairs.group_by(["bd", "cohort", "n"]).aggregate(
                people=pairs.person_id.nunique()
            )
        else:
            # Unbounded: a person counts in every period up to their last return (returns after
            # the last period shown count for all of them); calculate() accumulates.
            pairs = pairs.filter(pairs.n >= 1)
            capped = ibis.least(pairs.n, spec.periods)
            last = pairs.group_by(["bd", "cohort", "person_id"]).aggregate(n=capped.max())
            cells = last.group_by(["bd", "cohort", "n"]).aggregate(people=last.count())
        columns = ["bd", "cohort", "n", "people"]
        return sizes.select(*columns).union(cells.select(*columns))

    def _top_values(self, cohorts: ir.Table, bd: Breakdown) -> ir.Table:
        sizes = cohorts.group_by("bd").aggregate(_size=cohorts.count())
        sizes = sizes.mutate(
            _rank=ibis.row_number().over(order_by=[ibis.desc("_size"), ibis.asc("bd")])
        )
        top = sizes.filter(sizes._rank < bd.limit).select(_top="bd")
        joined = cohorts.left_join(top, cohorts.bd == top._top)
        return joined.mutate(bd=ibis.ifelse(joined._top.isnull(), OTHER, joined.bd)).drop("_top")

    def calculate(self) -> RetentionResult:
        spec = self.spec
        cells: dict[str | None, dict[datetime, dict[int, int]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for row in self.ctx.execute(self.to_query()):
            cells[row["bd"]][row["cohort"]][int(row["n"])] = int(row["people"])
        if spec.breakdown is None:
            values: list[str | None] = [None]
        else:
            size = {v: sum(c.get(0, 0) for c in cs.values()) for v, cs in cells.items()}
            values = sorted((v for v in size if v != OTHER), key=lambda v: (-size[v], v or ""))
            values += [OTHER] if OTHER in size else []
        groups = tuple(self._group(value, cells.get(value, {})) for value in values)
        return RetentionResult(spec.period, spec.retention_type, spec.cohort_type, groups)

    def _group(self, value: str | None, cells: dict[datetime, dict[int, int]]) -> RetentionGroup:
        spec, cohorts = self.spec, []
        retained = [0] * (spec.periods + 1)
        exposed = [0] * (spec.periods + 1)
        for start in self.cohort_starts:
            got = cells.get(start, {})
            size = got.get(0, 0)
            counts: list[int | None] = []
            period_start = start
            for n in range(spec.periods + 1):
                if period_start > self.now_local:
                    counts.append(None)  # period n has not begun yet
                else:
                    if spec.retention_type == "on" or n == 0:
                        count = got.get(n, 0)
                    else:
                        count = sum(v for k, v in got.items() if k >= n)
                    counts.append(count)
                    retained[n] += count
                    exposed[n] += size
                period_start = next_bucket(period_start, spec.period)
            percentages = tuple(None if c is None or not size else c / size for c in counts)
            cohorts.append(RetentionCohort(start, size, tuple(counts), percentages))
        mean = tuple(r / e if e else None for r, e in zip(retained, exposed, strict=True))
        return RetentionGroup(value, tuple(cohorts), mean)
