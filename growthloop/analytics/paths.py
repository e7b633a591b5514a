"""Paths (用户路径): the most common sequences of steps people take after a start step or before
an end step, and the step-to-step flows for a Sankey chart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from ibis import _
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


# RE2 (what the engines run) has no lookaround and no backreferences.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]")


def _cleaning_problem(spec: PathsSpec) -> str | None:
    """The first cleaning rule that is not a regular expression the engines can run."""
    for index, rule in enumerate(spec.cleaning):
        try:
            re.compile(rule.regex)
        except re.error as exc:
            return f"cleaning[{index}].regex {rule.regex!r} is not a regular expression ({exc})"
        if _NOT_RE2.search(rule.regex):
            return (
                f"cleaning[{index}].regex {rule.regex!r}: lookaround and backreferences are"
                " not supported (RE2 syntax)"
            )
    return None


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
    Rule("cleaning_regex", "cleaning", _cleaning_problem),
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

    def path_counts(self) -> ir.Table:
        """Every distinct path (an array of steps) with its number of people."""
        kept = self.to_query()
        if self.ctx.backend.name == "duckdb":
            path = kept.step.collect(order_by=kept.index)
        else:  # engines without ordered aggregates (Spark): sort the (index, step) pairs
            pairs = ibis.struct({"i": kept.index, "s": kept.step}).collect().sort()
            path = pairs.map(lambda pair: pair.s)
        per_person = kept.group_by("person_id").aggregate(path=path)
        return per_person.group_by("path").aggregate(people=per_person.count())

    def paths_query(self) -> ir.Table:
        """The `limit` most common paths: (path as an array of steps, people)."""
        counts = self.path_counts()
        return counts.order_by([ibis.desc("people"), ibis.asc("path")]).limit(self.spec.limit)

    def flows_query(self, counts: ir.Table | None = None) -> ir.Table:
        """People moving from one step to the next at each position, summed over the distinct
        paths (a path's positions are its indexes 0, 1, ...), so no second pass over events."""
        counts = self.path_counts() if counts is None else counts
        moves = [
            counts.filter(counts.path.length() > i + 1).select(
                index=ibis.literal(i, "int64"),
                step=counts.path[i],
                target=counts.path[i + 1],
                people=counts.people.cast("int64"),
            )
            for i in range(self.spec.depth - 1)
        ]
        both = ibis.union(*moves)
        return both.group_by(["index", "step", "target"]).aggregate(people=both.people.sum())

    def combined_query(self) -> ir.Table:
        """Top paths and flows in one query over the same path counts (rows with `path` set
        are paths; DuckDB derives the counts once)."""
        counts = self.path_counts()
        top = self.paths_query().select(
            "path",
            people=_.people.cast("int64"),
            index=ibis.null("int64"),
            step=ibis.null("string"),
            target=ibis.null("string"),
        )
        flows = self.flows_query(counts).select(
            path=ibis.null("array<string>"),
            people=_.people.cast("int64"),
            index="index",
            step="step",
            target="target",
        )
        return top.union(flows)

    def calculate(self) -> PathsResult:
        rows = self.ctx.execute(self.combined_query())
        found = [(tuple(r["path"]), int(r["people"])) for r in rows if r["path"] is not None]
        top = sorted(found, key=lambda kv: (-kv[1], kv[0]))
        flows = [
            Flow(int(r["index"]), r["step"], r["target"], int(r["people"]))
            for r in rows
            if r["path"] is None
        ]
        flows.sort(key=lambda f: (f.depth, -f.people, f.source, f.target))
        return PathsResult(tuple(PathCount(p, n) for p, n in top), tuple(flows))
