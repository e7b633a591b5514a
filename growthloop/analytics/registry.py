"""Any analysis spec, parsed by its `kind`, and the runner registered for each kind."""

from __future__ import annotations

import json
from typing import Annotated, Any, Protocol

import ibis.expr.types as ir
from pydantic import Field, TypeAdapter, ValidationError

from growthloop.analytics.context import QueryContext
from growthloop.analytics.distribution import (
    Distribution,
    DistributionSpec,
    Interval,
    IntervalSpec,
)
from growthloop.analytics.funnels import Funnel, FunnelSpec
from growthloop.analytics.lifecycle import Lifecycle, LifecycleSpec
from growthloop.analytics.paths import Paths, PathsSpec
from growthloop.analytics.profile import Profile, ProfileSpec
from growthloop.analytics.results import AnalysisResult
from growthloop.analytics.retention import Retention, RetentionSpec
from growthloop.analytics.segments import Segment, SegmentSpec
from growthloop.analytics.stickiness import Stickiness, StickinessSpec
from growthloop.analytics.trends import Trends, TrendsSpec
from growthloop.analytics.validation import Problem, SpecError, problems_from_pydantic

SpecUnion = (
    TrendsSpec
    | FunnelSpec
    | RetentionSpec
    | LifecycleSpec
    | StickinessSpec
    | DistributionSpec
    | IntervalSpec
    | PathsSpec
    | ProfileSpec
    | SegmentSpec
)
AnalysisSpec = Annotated[SpecUnion, Field(discriminator="kind")]
"""Any analysis spec; the `kind` field says which."""

_SPECS: TypeAdapter[SpecUnion] = TypeAdapter(AnalysisSpec)


class Runner(Protocol):
    """The shape every analysis module shares: spec in, Ibis query, typed result."""

    def __init__(self, spec: Any, ctx: QueryContext) -> None: ...

    def to_query(self) -> ir.Table: ...

    def calculate(self) -> AnalysisResult: ...


RUNNERS: dict[str, type[Runner]] = {
    "trends": Trends,
    "funnel": Funnel,
    "retention": Retention,
    "lifecycle": Lifecycle,
    "stickiness": Stickiness,
    "distribution": Distribution,
    "interval": Interval,
    "paths": Paths,
    "profile": Profile,
    "segment": Segment,
}


def parse_spec(data: str | bytes | dict[str, Any], source: str | None = None) -> AnalysisSpec:
    """A spec from JSON text or a dict; SpecError says what is wrong and where."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise SpecError(
                [Problem("json", "", f"not valid JSON ({exc.msg} at {where})")], source
            ) from exc
    if not isinstance(data, dict) or data.get("kind") not in RUNNERS:
        kinds = ", ".join(sorted(RUNNERS))
        got = data.get("kind") if isinstance(data, dict) else None
        raise SpecError(
            [Problem("kind", "kind", f"unknown analysis kind {got!r} (one of: {kinds})")], source
        )
    try:
        return _SPECS.validate_python(data)
    except ValidationError as exc:
        problems = problems_from_pydantic(exc)
        # The discriminator adds the kind as the first part of every field path; drop it.
        prefix = f"{data['kind']}."
        cleaned = [Problem(p.code, p.field.removeprefix(prefix), p.message) for p in problems]
        raise SpecError(cleaned, source) from exc


def runner(spec: AnalysisSpec, ctx: QueryContext) -> Runner:
    """The runner for a spec (validates the spec's rules)."""
    return RUNNERS[spec.kind](spec, ctx)


def run_analysis(spec: AnalysisSpec, ctx: QueryContext) -> AnalysisResult:
    """Run any spec and return its typed result."""
    return runner(spec, ctx).calculate()
