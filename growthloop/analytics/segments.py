"""Segments (用户分群): people defined by rules on person properties and behaviour, as an Ibis
table of person_id that every analysis can use as a filter (a `segment` entry in `filters`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from pydantic import Field

from growthloop.analytics.filters import all_filters, filter_expr, with_persons
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import (
    BehaviourCondition,
    FunnelCondition,
    InSegmentCondition,
    PersonCondition,
    SegmentDefinition,
    SpecModel,
)
from growthloop.analytics.validation import Problem, Rule, SpecError

if TYPE_CHECKING:  # the context uses segment_people, so only the type is imported here
    from growthloop.analytics.context import QueryContext


class SavedSegmentSource(Protocol):
    """What a query context knows about a project's saved segments (saved_segments_query.py)."""

    def definition(self, segment_id: int) -> SegmentDefinition | None:
        """The rule of a rule segment; None for a static one (SpecError if there is none)."""
        ...

    def member_ids(self, segment_id: int) -> Sequence[str]:
        """The last computed members (computed first if never)."""
        ...

    def name(self, segment_id: int) -> str: ...

    def containing(self, person_id: str) -> Sequence[tuple[int, str]]:
        """(id, name) of the saved segments whose last computed members hold the person."""
        ...


def people_table(person_ids: Sequence[str]) -> ir.Table:
    """An in-memory table of person_ids (how a stored membership enters a query)."""
    # From Arrow, not a dict: a dict-backed memtable costs ~0.1 s per 1 000 rows to compile.
    return ibis.memtable(pa.table({"person_id": pa.array(list(person_ids), pa.string())}))


def segment_people(
    definition: SegmentDefinition,
    events: ir.Table,
    persons: ir.Table,
    now_utc: datetime,
    ctx: QueryContext | None = None,
    _visiting: tuple[int, ...] = (),
) -> ir.Table:
    """person_id of everyone in the segment. Everyone = people in the persons table or with
    events; "did not" conditions are taken against everyone. Funnel and `in segment`
    conditions need `ctx` (the funnel machinery and the project's saved segments)."""
    everyone = events.select("person_id").union(persons.select("person_id"), distinct=True)
    parts = [
        _any_condition(c, events, persons, everyone, now_utc, ctx, _visiting).select(
            person_id=ibis._.person_id.cast("string")  # one schema for every part's union
        )
        for c in definition.conditions
    ]
    if definition.match == "any":
        return ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()
    result = parts[0]
    for part in parts[1:]:
        result = result.semi_join(part, "person_id")
    return result.select("person_id").distinct()


def _any_condition(
    condition: BehaviourCondition | PersonCondition | FunnelCondition | InSegmentCondition,
    events: ir.Table,
    persons: ir.Table,
    everyone: ir.Table,
    now_utc: datetime,
    ctx: QueryContext | None,
    visiting: tuple[int, ...],
) -> ir.Table:
    if isinstance(condition, BehaviourCondition | PersonCondition):
        return _condition(condition, events, persons, everyone, now_utc)
    if ctx is None:
        raise ValueError(f"a {condition.type!r} condition needs a query context")
    if isinstance(condition, FunnelCondition):
        did = _funnel_people(condition, ctx)
    else:
        did = _saved_people(condition, events, persons, now_utc, ctx, visiting)
    return everyone.anti_join(did, "person_id") if condition.negate else did


def _funnel_people(condition: FunnelCondition, ctx: QueryContext) -> ir.Table:
    from growthloop.analytics.funnels import Funnel, FunnelSpec, FunnelStep

    spec = FunnelSpec(
        steps=tuple(FunnelStep(event=s.event or "", filters=s.filters) for s in condition.steps),
        mode=condition.mode,
        window=condition.window,
        date_range=condition.date_range,
        filters=condition.filters,
    )
    return Funnel(spec, ctx).people(condition.step, dropped=condition.dropped)


def _saved_people(
    condition: InSegmentCondition,
    events: ir.Table,
    persons: ir.Table,
    now_utc: datetime,
    ctx: QueryContext,
    visiting: tuple[int, ...],
) -> ir.Table:
    sid = condition.segment_id
    if sid in visiting:
        chain = " -> ".join(str(s) for s in (*visiting, sid))
        raise SpecError([Problem("segment_cycle", "segment_id", f"segments in a cycle: {chain}")])
    rule = ctx.saved_segments().definition(sid)
    if rule is None:
        return people_table(ctx.saved_segments().member_ids(sid))
    return segment_people(rule, events, persons, now_utc, ctx, (*visiting, sid))


def _condition(
    condition: BehaviourCondition | PersonCondition,
    events: ir.Table,
    persons: ir.Table,
    everyone: ir.Table,
    now_utc: datetime,
) -> ir.Table:
    if isinstance(condition, PersonCondition):
        people = with_persons(everyone, persons)
        return people.filter(filter_expr(people, condition.filter)).select("person_id")
    chosen = events.filter(events.timestamp < now_utc)
    if condition.days is not None:
        chosen = chosen.filter(chosen.timestamp >= now_utc - timedelta(days=condition.days))
    selector = condition.event
    if selector.event is not None:
        chosen = chosen.filter(chosen.event == selector.event)
    if selector.filters:
        if any(f.type == "person" for f in selector.filters):
            chosen = with_persons(chosen, persons)
        chosen = chosen.filter(all_filters(chosen, selector.filters))
    counts = chosen.group_by("person_id").aggregate(_n=chosen.count())
    did = counts.filter(counts._n >= condition.min_count).select("person_id")
    return everyone.anti_join(did, "person_id") if condition.negate else did


class SegmentSpec(SpecModel):
    """Size and members of a segment definition, evaluated now."""

    kind: Literal["segment"] = "segment"
    segment: SegmentDefinition
    limit: int = Field(default=1000, ge=0, le=1_000_000)
    """How many person ids to list (sorted); the size counts everyone."""


@dataclass(frozen=True)
class SegmentResult:
    size: int
    people: tuple[str, ...]
    kind: str = "segment"

    def table(self) -> ResultTable:
        return ResultTable(("person_id",), tuple((p,) for p in self.people))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


class Segment:
    """Runs a SegmentSpec against the whole event history up to now."""

    rules: ClassVar[tuple[Rule[SegmentSpec], ...]] = ()

    def __init__(self, spec: SegmentSpec, ctx: QueryContext) -> None:
        self.spec = spec
        self.ctx = ctx

    def to_query(self) -> ir.Table:
        return self.ctx.segment(self.spec.segment)

    def calculate(self) -> SegmentResult:
        people = self.to_query()
        size = self.ctx.execute(people.aggregate(n=people.count()))[0]["n"]
        listed = self.ctx.execute(people.order_by("person_id").limit(self.spec.limit))
        return SegmentResult(int(size), tuple(str(r["person_id"]) for r in listed))
