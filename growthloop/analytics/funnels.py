"""Funnels (漏斗分析): how many people go through steps 1..n within a conversion window.

Modes: `ordered` (default; ClickHouse windowFunnel semantics), `strict` (each step must be the
very next event) and `unordered` (steps in any order), as docs/analytics.md defines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import bucket, buckets, to_local
from growthloop.analytics.filters import all_filters, breakdown_value
from growthloop.analytics.funnel_query import (
    attempt_paths,
    attribution,
    ordered_paths,
    ordered_paths_windowed,
    step_conditions,
    step_elements,
    strict_paths,
    unordered_paths,
)
from growthloop.analytics.funnel_walk import Walked, walk_people
from growthloop.analytics.results import ResultTable, as_float, plain
from growthloop.analytics.spec import (
    NONE,
    OTHER,
    Breakdown,
    DateRange,
    Filter,
    Interval,
    PropertyFilter,
    PropertyRef,
    SpecModel,
    Window,
)
from growthloop.analytics.validation import Problem, Rule, SpecError, validate

FunnelMode = Literal["ordered", "strict", "unordered"]
OrderedMethod = Literal["walk", "asof", "windows"]
ORDERED_METHOD: dict[str, OrderedMethod] = {"duckdb": "walk"}
"""How each backend runs ordered funnels without exclusions: DuckDB lists each person's step
events and a compiled walk follows them (`funnel_walk`); the others use window functions.
ASOF joins (DuckDB) give the same rows too."""
Attribution = Literal["first_touch", "last_touch", "step"]
MIN_STEPS, MAX_STEPS = 2, 20


class FunnelStep(SpecModel):
    """A step: events named `event` that also pass `filters`."""

    event: str = Field(min_length=1, max_length=200)
    filters: tuple[PropertyFilter, ...] = ()
    name: str | None = None


class FunnelExclusion(SpecModel):
    """People who do `event` between step `from_step` and step `to_step` (1-based; default: the
    last step) of an attempt lose that attempt (ordered funnels)."""

    event: str = Field(min_length=1, max_length=200)
    filters: tuple[PropertyFilter, ...] = ()
    from_step: int = Field(default=1, ge=1)
    to_step: int | None = Field(default=None, ge=2)


class FunnelSpec(SpecModel):
    """A funnel over the events of `date_range` (every step's event must lie inside it)."""

    kind: Literal["funnel"] = "funnel"
    steps: tuple[FunnelStep, ...]
    mode: FunnelMode = "ordered"
    window: Window = Window(value=14, unit="day")
    date_range: DateRange = DateRange()
    filters: tuple[Filter, ...] = ()
    breakdown: Breakdown | None = None
    attribution: Attribution = "first_touch"
    attribution_step: int | None = Field(default=None, ge=1)
    exclusions: tuple[FunnelExclusion, ...] = ()
    trend_interval: Interval | None = None
    """Also report the conversion rate of the people entering in each hour/day/week/month."""


def _exclusion_rule(spec: FunnelSpec) -> str | None:
    if spec.exclusions and spec.mode != "ordered":
        return "exclusion steps apply to ordered funnels only"
    for i, ex in enumerate(spec.exclusions):
        to_step = ex.to_step or len(spec.steps)
        if not ex.from_step < to_step <= len(spec.steps):
            return (
                f"exclusion {i + 1} runs from step {ex.from_step} to step {to_step}: it needs"
                f" 1 <= from_step < to_step <= {len(spec.steps)}"
            )
    return None


RULES: tuple[Rule[FunnelSpec], ...] = (
    Rule(
        "step_count",
        "steps",
        lambda s: (
            None
            if MIN_STEPS <= len(s.steps) <= MAX_STEPS
            else f"a funnel needs {MIN_STEPS} to {MAX_STEPS} steps, this one has {len(s.steps)}"
        ),
    ),
    Rule(
        "attribution_step",
        "attribution_step",
        lambda s: (
            None
            if (s.attribution == "step") == (s.attribution_step is not None)
            and (s.attribution_step is None or s.attribution_step <= len(s.steps))
            else "attribution 'step' needs attribution_step, a step number of this funnel"
            " (and other attributions take none)"
        ),
    ),
    Rule("exclusions", "exclusions", _exclusion_rule),
)


@dataclass(frozen=True)
class FunnelStepResult:
    """People who reached a step, conversion rates, and times to convert (seconds)."""

    step: int
    name: str
    count: int
    conversion_from_first: float | None
    conversion_from_previous: float | None
    median_seconds_from_first: float | None = None
    mean_seconds_from_first: float | None = None
    median_seconds_from_previous: float | None = None
    mean_seconds_from_previous: float | None = None


@dataclass(frozen=True)
class FunnelGroup:
    """The funnel of everyone (breakdown_value None) or of one breakdown value."""

    breakdown_value: str | None
    steps: tuple[FunnelStepResult, ...]


@dataclass(frozen=True)
class FunnelTrendPoint:
    """People whose first step-1 event of the range falls in `bucket`, and how many of them
    completed the funnel."""

    bucket: datetime
    entered: int
    converted: int
    conversion: float | None


@dataclass(frozen=True)
class FunnelResult:
    mode: FunnelMode
    window_seconds: int
    groups: tuple[FunnelGroup, ...]
    """First the whole funnel, then one group per breakdown value (largest first, `$other` last)."""
    trend: tuple[FunnelTrendPoint, ...] = ()
    kind: str = "funnel"

    @property
    def steps(self) -> tuple[FunnelStepResult, ...]:
        return self.groups[0].steps

    def table(self) -> ResultTable:
        columns = (
            "breakdown_value",
            "step",
            "name",
            "count",
            "conversion_from_first",
            "conversion_from_previous",
            "median_seconds_from_first",
            "median_seconds_from_previous",
        )
        rows = [
            (
                g.breakdown_value,
                s.step,
                s.name,
                s.count,
                s.conversion_from_first,
                s.conversion_from_previous,
                s.median_seconds_from_first,
                s.median_seconds_from_previous,
            )
            for g in self.groups
            for s in g.steps
        ]
        return ResultTable(columns, tuple(rows))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


class Funnel:
    """Runs a FunnelSpec: `paths()` per person, `to_query()` the step counts, `calculate()`."""

    rules: ClassVar[tuple[Rule[FunnelSpec], ...]] = RULES

    def __init__(self, spec: FunnelSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        self.range = ctx.resolve(spec.date_range)

    def _events(self) -> ir.Table:
        spec = self.spec
        refs: list[PropertyRef] = [f for step in spec.steps for f in step.filters]
        refs += [f for exclusion in spec.exclusions for f in exclusion.filters]
        if spec.breakdown is not None:
            refs.append(spec.breakdown.property)
        events = self.ctx.scoped_events(
            self.range.start_utc, self.range.end_utc, spec.filters, refs
        )
        if spec.mode != "strict":
            # Only strict funnels look at events outside the steps.
            names = {s.event for s in spec.steps} | {x.event for x in spec.exclusions}
            events = events.filter(events.event.isin(sorted(names)))
        if spec.breakdown is not None:
            events = events.mutate(bd=breakdown_value(events, spec.breakdown.property))
        return events

    def paths(self, ordered_method: OrderedMethod | None = None) -> ir.Table:
        """One row per person who did step 1: level reached, times (µs), breakdown value `bd`.

        Ordered funnels run as a compiled walk over each person's step events on DuckDB and as
        window functions elsewhere; `ordered_method` picks one explicitly (`asof`: ASOF joins,
        DuckDB only); all give the same rows.
        """
        spec, n = self.spec, len(self.spec.steps)
        events = self._events()
        matches = step_conditions(events, [(s.event, s.filters) for s in spec.steps])
        extra = ("bd",) if spec.breakdown is not None else ()
        elements = step_elements(events, matches, extra)
        if spec.exclusions:
            excluded = [
                (
                    events.filter((events.event == x.event) & all_filters(events, x.filters)),
                    x.from_step - 1,
                    (x.to_step or n) - 1,
                )
                for x in spec.exclusions
            ]
            paths = attempt_paths(
                elements, excluded, n, spec.window.seconds, asof=self.ctx.asof_joins
            )
        elif spec.mode == "ordered":
            method = ordered_method or ORDERED_METHOD.get(self.ctx.backend.name, "windows")
            if method == "walk":
                paths = self._walk().table()
            elif method == "asof":
                paths = ordered_paths(events, matches, spec.window.seconds)
            else:
                paths = ordered_paths_windowed(elements, n, spec.window.seconds)
        elif spec.mode == "strict":
            paths = strict_paths(events, matches, spec.window.seconds)
        else:
            paths = unordered_paths(elements, n, spec.window.seconds)
        if spec.breakdown is None:
            return paths.mutate(bd=ibis.null("string"))
        values = attribution(elements, spec.attribution, spec.attribution_step)
        joined = paths.left_join(values, paths.person_id == values.person_id)
        return joined.mutate(bd=joined.bd.fill_null(NONE)).drop("person_id_right")

    def _walks(self) -> bool:
        """Whether `paths` runs as the compiled walk (ordered, no exclusions, on DuckDB)."""
        spec = self.spec
        default = ORDERED_METHOD.get(self.ctx.backend.name, "windows")
        return spec.mode == "ordered" and not spec.exclusions and default == "walk"

    def _walk(self) -> Walked:
        events = self._events()
        matches = step_conditions(events, [(s.event, s.filters) for s in self.spec.steps])
        names = [s.event for s in self.spec.steps]
        disjoint = len(set(names)) == len(names)
        return walk_people(
            self.ctx.backend, events, matches, self.spec.window.seconds, disjoint=disjoint
        )

    def people(self, step: int, *, dropped: bool = False) -> ir.Table:
        """person_id of everyone who reached `step` (1-based), or with `dropped` of those who
        reached it and went no further: the list to save as a segment or export."""
        if not 1 <= step <= len(self.spec.steps):
            raise SpecError(
                [Problem("step", "step", f"this funnel has steps 1 to {len(self.spec.steps)}")]
            )
        paths = self.paths()
        chosen = paths.level == step if dropped else paths.level >= step
        return paths.filter(chosen).select("person_id").order_by("person_id")

    def to_query(self) -> ir.Table:
        """Step counts and time-to-convert statistics: one row for everyone (bd null) and one
        per breakdown value (top `limit` by people entering; the rest as `$other`)."""
        spec, n = self.spec, len(self.spec.steps)
        paths = self.paths()
        if spec.breakdown is not None:
            sizes = paths.group_by("bd").aggregate(_size=paths.count())
            sizes = sizes.mutate(
                _rank=ibis.row_number().over(order_by=[ibis.desc("_size"), ibis.asc("bd")])
            )
            top = sizes.filter(sizes._rank < spec.breakdown.limit).select(_top="bd")
            joined = paths.left_join(top, paths.bd == top._top)
            paths = joined.mutate(bd=ibis.ifelse(joined._top.isnull(), OTHER, joined.bd)).drop(
                "_top"
            )

        def stats(t: ir.Table) -> dict[str, ir.Scalar]:
            out: dict[str, ir.Scalar] = {
                f"count_{k}": (t.level >= k).sum() for k in range(1, n + 1)
            }
            if spec.mode != "unordered":
                for k in range(1, n):
                    for kind in ("first", "prev"):
                        column = t[f"{kind}_{k}"].cast("float64")
                        out[f"median_{kind}_{k}"] = column.median()
                        out[f"mean_{kind}_{k}"] = column.mean()
            return out

        everyone = paths.aggregate(**stats(paths)).mutate(bd=ibis.null("string"))
        if spec.breakdown is None:
            return everyone
        groups = paths.group_by("bd").aggregate(**stats(paths))
        return everyone.union(groups.select(*everyone.columns))

    def calculate(self) -> FunnelResult:
        spec = self.spec
        if spec.breakdown is None and self._walks():
            rows = [self._walk().summary()]  # the walk's arrays hold the answer already
        else:
            rows = self.ctx.execute(self.to_query())
        everyone = next(r for r in rows if r["bd"] is None)
        others = [r for r in rows if r["bd"] is not None]
        others.sort(key=lambda r: (r["bd"] == OTHER, -(r["count_1"] or 0), r["bd"]))
        if spec.breakdown is None:
            others = []
        groups = tuple(FunnelGroup(r["bd"], self._steps(r)) for r in [everyone, *others])
        trend: tuple[FunnelTrendPoint, ...] = ()
        if spec.trend_interval is not None:
            got = {r["bucket"]: r for r in self.ctx.execute(self.trend_query(spec.trend_interval))}
            points = []
            for start in buckets(self.range, spec.trend_interval):
                row = got.get(start, {})
                entered, converted = int(row.get("entered") or 0), int(row.get("converted") or 0)
                rate = converted / entered if entered else None
                points.append(FunnelTrendPoint(start, entered, converted, rate))
            trend = tuple(points)
        return FunnelResult(spec.mode, spec.window.seconds, groups, trend)

    def trend_query(self, interval: Interval) -> ir.Table:
        """(bucket, entered, converted) by the local bucket of each person's first step-1 event."""
        events = self._events()
        step1 = self.spec.steps[0]
        entries = events.filter(step_conditions(events, [(step1.event, step1.filters)])[0])
        entries = entries.group_by("person_id").aggregate(_entered=entries.timestamp.min())
        paths = self.paths()
        joined = paths.join(entries, "person_id")
        joined = joined.mutate(bucket=bucket(to_local(joined._entered, self.range), interval))
        return joined.group_by("bucket").aggregate(
            entered=joined.count(), converted=(joined.level == len(self.spec.steps)).sum()
        )

    def _steps(self, row: dict[str, Any]) -> tuple[FunnelStepResult, ...]:
        out = []
        counts = [int(row[f"count_{k}"] or 0) for k in range(1, len(self.spec.steps) + 1)]

        def seconds(key: str) -> float | None:
            micros = as_float(row.get(key))
            return None if micros is None else micros / 1e6

        for k, step in enumerate(self.spec.steps, start=1):
            count = counts[k - 1]
            out.append(
                FunnelStepResult(
                    step=k,
                    name=step.name or step.event,
                    count=count,
                    conversion_from_first=count / counts[0] if counts[0] else None,
                    conversion_from_previous=count / counts[k - 2]
                    if k > 1 and counts[k - 2]
                    else (None if k > 1 else (1.0 if count else None)),
                    median_seconds_from_first=seconds(f"median_first_{k - 1}"),
                    mean_seconds_from_first=seconds(f"mean_first_{k - 1}"),
                    median_seconds_from_previous=seconds(f"median_prev_{k - 1}"),
                    mean_seconds_from_previous=seconds(f"mean_prev_{k - 1}"),
                )
            )
        return tuple(out)
