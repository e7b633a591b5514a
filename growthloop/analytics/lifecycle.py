"""Lifecycle (用户生命周期): per period, the people who are new, returning, resurrecting or
dormant with respect to an event (PostHog's lifecycle)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import (
    ResolvedRange,
    bucket,
    bucket_start,
    buckets,
    to_local,
    utc_from_local,
)
from growthloop.analytics.filters import all_filters
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import DateRange, EventSelector, Filter, SpecModel
from growthloop.analytics.validation import Rule, validate

LifecyclePeriod = Literal["day", "week", "month"]
STATUSES = ("new", "returning", "resurrecting", "dormant")


class LifecycleSpec(SpecModel):
    """Who did `event` in each period of `date_range`, split by their history."""

    kind: Literal["lifecycle"] = "lifecycle"
    event: EventSelector = EventSelector()
    interval: LifecyclePeriod = "day"
    date_range: DateRange = DateRange(date_from="-30d")
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class LifecycleResult:
    """Counts per status (all positive; dormant people are those who left), one per period."""

    interval: LifecyclePeriod
    buckets: tuple[datetime, ...]
    counts: dict[str, tuple[int, ...]]
    kind: str = "lifecycle"

    def table(self) -> ResultTable:
        rows = [
            (start, *(self.counts[s][i] for s in STATUSES)) for i, start in enumerate(self.buckets)
        ]
        return ResultTable(("bucket", *STATUSES), tuple(rows))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


def _step(interval: str) -> ir.IntervalValue:
    if interval == "month":
        return ibis.interval(months=1)
    return ibis.interval(days=7 if interval == "week" else 1)


class Lifecycle:
    """Runs a LifecycleSpec: `to_query()` gives (bucket, status, people), `calculate()`."""

    rules: ClassVar[tuple[Rule[LifecycleSpec], ...]] = ()

    def __init__(self, spec: LifecycleSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        rng = ctx.resolve(spec.date_range)
        self.starts = buckets(rng, spec.interval)
        first = self.starts[0]
        # One period before the first: activity there decides returning vs resurrecting.
        before = bucket_start(first - timedelta(days=1), spec.interval)
        self.scan = ResolvedRange(
            before, rng.end, utc_from_local(before, rng.tz), rng.end_utc, rng.tz
        )

    def to_query(self) -> ir.Table:
        spec, rng, step = self.spec, self.scan, _step(self.spec.interval)
        events = self.ctx.scoped_events(None, rng.end_utc, spec.filters, spec.event.filters)
        if spec.event.event is not None:
            events = events.filter(events.event == spec.event.event)
        if spec.event.filters:
            events = events.filter(all_filters(events, spec.event.filters))
        first_seen = events.group_by("person_id").aggregate(_first=events.timestamp.min())
        recent = events.filter(events.timestamp >= rng.start_utc)
        active = recent.select(
            "person_id", b=bucket(to_local(recent.timestamp, rng), spec.interval)
        ).distinct()
        active = active.join(first_seen, "person_id")
        order = ibis.window(group_by="person_id", order_by="b")
        active = active.mutate(
            _prev=active.b.lag().over(order),
            _next=active.b.lead().over(order),
            _first_b=bucket(to_local(active._first, rng), spec.interval),
        )
        status = ibis.cases(
            (active._first_b == active.b, "new"),
            (active._prev == active.b - step, "returning"),
            else_="resurrecting",
        )
        present = active.select(b=active.b, status=status)
        # Dormant in the period after an active one that is not followed by activity.
        gone = active.filter(active._next.isnull() | (active._next != active.b + step))
        dormant = gone.select(b=gone.b + step, status=ibis.literal("dormant"))
        rows = present.union(dormant)
        rows = rows.filter(rows.b >= self.starts[0])
        return rows.group_by(["b", "status"]).aggregate(people=rows.count())

    def calculate(self) -> LifecycleResult:
        cells: dict[str, dict[datetime, int]] = defaultdict(dict)
        for row in self.ctx.execute(self.to_query()):
            cells[row["status"]][row["b"]] = int(row["people"])
        counts = {s: tuple(cells[s].get(b, 0) for b in self.starts) for s in STATUSES}
        return LifecycleResult(self.spec.interval, tuple(self.starts), counts)
