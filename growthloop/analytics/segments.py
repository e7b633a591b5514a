"""Segments (用户分群): people defined by rules on person properties and behaviour, as an Ibis
table of person_id that every analysis can use as a filter (a `segment` entry in `filters`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.filters import all_filters, filter_expr, with_persons
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import (
    BehaviourCondition,
    PersonCondition,
    SegmentDefinition,
    SpecModel,
)
from growthloop.analytics.validation import Rule

if TYPE_CHECKING:  # the context uses segment_people, so only the type is imported here
    from growthloop.analytics.context import QueryContext


def segment_people(
    definition: SegmentDefinition, events: ir.Table, persons: ir.Table, now_utc: datetime
) -> ir.Table:
    """person_id of everyone in the segment. Everyone = people in the persons table or with
    events; "did not" conditions are taken against everyone."""
    everyone = events.select("person_id").union(persons.select("person_id"), distinct=True)
    parts = [
        _condition(c, events, persons, everyone, now_utc).select(
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
