"""Paths (用户路径): the most common sequences of steps people take after a start step or before
an end step, and the step-to-step flows for a Sankey chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.context import QueryContext
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import DateRange, Filter, SpecModel
from growthloop.analytics.validation import Rule, validate

PAGEVIEW = "$pageview"


class CleaningRule(SpecModel):
    """Replace every match of `regex` (RE2) in page paths, e.g. `/product/\\d+` -> `/product/:id`."""

    regex: str = Field(min_length=1)
    replacement: str = ""


class PathsSpec(SpecModel):
    """A step is an event's name, or for `$pageview` its page path (after the cleaning rules).
    Repeats of the same step in a row count once."""

    kind: Literal["paths"] = "paths"
    start: str | None = None
    end: str | None = None
    depth: int = Field(default=4, ge=2, le=5)
    events: tuple[str, ...] | None = None
    """Which events make steps (None: all)."""
    cleaning: tuple[CleaningRule, ...] = ()
    date_range: DateRange = DateRange(date_from="-7d")
    filters: tuple[Filter, ...] = ()
    limit: int = Field(default=20, ge=1, le=1000)


RULES: tuple[Rule[PathsSpec], ...] = (
    Rule(
        "start_or_end",
        "start",
        lambda s: (
            "give a start step or an end step, not both"
            if s.start is not None and s.end is not None
            else None
        ),
    ),
)


@dataclass(frozen=True)
class PathCount:
    steps: tuple[str, ...]
    people: int


@dataclass(frozen=True)
class Flow:
    """People going from `source` at position `depth` to `target` at the next position."""

    depth: int
    source: str
    target: str
    people: int


@dataclass(frozen=True)
class PathsResult:
    paths: tuple[PathCount, ...]
    flows: tuple[Flow, ...]
    kind: str = "paths"

    def table(self) -> ResultTable:
        return ResultTable(
            ("path", "people"), tuple((" → ".join(p.steps), p.people) for p in self.paths)
        )

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


class Paths:
    """Runs a PathsSpec: `to_query()` gives each person's path (index, step) rows."""

    rules: ClassVar[tuple[Rule[PathsSpec], ...]] = RULES

    def __init__(self, spec: PathsSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        self.range = ctx.resolve(spec.date_range)

    def _steps(self) -> ir.Table:
        """Each person's steps in order, repeats collapsed: person_id, pos, step."""
        spec = self.spec
        events = self.ctx.scoped_events(self.range.start_utc, self.range.end_utc, spec.filters)
        if spec.events is not None:
            events = events.filter(events.event.isin(list(spec.events)))
        page = events.path.fill_null("")
        for rule in spec.cleaning:
            page = page.re_replace(rule.regex, rule.replacement)
        events = events.mutate(step=ibis.ifelse(events.event == PAGEVIEW, page, events.event))
        order = ibis.window(group_by="person_id", order_by=["timestamp", "uuid"])
        events = events.mutate(_before=events.step.lag().over(order))
        events = events.filter(events._before.isnull() | (events._before != events.step))
        order = ibis.window(group_by="person_id", order_by=["timestamp", "uuid"])
        return events.select("person_id", "step", pos=ibis.row_number().over(order))

    def to_query(self) -> ir.Table:
        spec, steps = self.spec, self._steps()
        if spec.start is None and spec.end is None:
            return steps.filter(steps.pos < spec.depth).select("person_id", "step", index=steps.pos)
        anchor_step = spec.start if spec.start is not None else spec.end
        anchors = steps.filter(steps.step == anchor_step)
        anchors = anchors.group_by("person_id").aggregate(_anchor=anchors.pos.min())
        joined = steps.join(anchors, "person_id")
        if spec.start is not None:
            index = joined.pos - joined._anchor
        else:
            index = joined.pos - joined._anchor + (spec.depth - 1)
        kept = joined.mutate(index=index)
        kept = kept.filter((kept.index >= 0) & (kept.index < spec.depth))
        if spec.end is not None:
            # People with fewer steps before the end start their path at index 0.
            kept = kept.mutate(index=kept.index - kept.index.min().over(group_by="person_id"))
        return kept.select("person_id", "step", "index")

    def paths_query(self) -> ir.Table:
        """The `limit` most common paths: (path as an array of steps, people)."""
        kept = self.to_query()
        if self.ctx.backend.name == "duckdb":
            path = kept.step.collect(order_by=kept.index)
        else:  # engines without ordered aggregates (Spark): sort the (index, step) pairs
            pairs = ibis.struct({"i": kept.index, "s": kept.step}).collect().sort()
            path = pairs.map(lambda pair: pair.s)
        per_person = kept.group_by("person_id").aggregate(path=path)
        counts = per_person.group_by("path").aggregate(people=per_person.count())
        return counts.order_by([ibis.desc("people"), ibis.asc("path")]).limit(self.spec.limit)

    def flows_query(self) -> ir.Table:
        """People moving from one step to the next at each position."""
        kept = self.to_query()
        following = kept.step.lead().over(group_by="person_id", order_by="index")
        moves = kept.mutate(target=following)
        moves = moves.filter(moves.target.notnull())
        return moves.group_by(["index", "step", "target"]).aggregate(people=moves.count())

    def calculate(self) -> PathsResult:
        found = [(tuple(r["path"]), int(r["people"])) for r in self.ctx.execute(self.paths_query())]
        top = sorted(found, key=lambda kv: (-kv[1], kv[0]))
        flows = [
            Flow(int(r["index"]), r["step"], r["target"], int(r["people"]))
            for r in self.ctx.execute(self.flows_query())
        ]
        flows.sort(key=lambda f: (f.depth, -f.people, f.source, f.target))
        return PathsResult(tuple(PathCount(p, n) for p, n in top), tuple(flows))
