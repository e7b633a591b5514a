"""Save the people at a funnel step (or who dropped off there) as a segment.

A funnel whose parts a segment condition can hold (steps, mode, window, date range, property
filters) becomes a rule segment with a `funnel` condition, recomputed like any other; with
`static`, or when the funnel has exclusions, saved-segment filters or a chosen breakdown group,
today's list is saved as a static segment.
"""

from __future__ import annotations

from datetime import datetime

from growthloop.analytics.funnels import Funnel, FunnelSpec
from growthloop.analytics.saved_segments import (
    create_segment,
    create_static_segment,
    query_context,
    utcnow,
)
from growthloop.analytics.saved_segments_models import SavedSegment
from growthloop.analytics.spec import (
    EventSelector,
    FunnelCondition,
    PropertyFilter,
    SegmentDefinition,
)
from growthloop.analytics.validation import Problem, SpecError
from growthloop.workspace import Workspace


def funnel_condition(spec: FunnelSpec, step: int, dropped: bool) -> FunnelCondition | None:
    """The segment condition for people at `step` of the funnel; None if the funnel has parts
    a condition cannot hold."""
    if spec.exclusions or any(not isinstance(f, PropertyFilter) for f in spec.filters):
        return None
    return FunnelCondition(
        type="funnel",
        steps=tuple(EventSelector(event=s.event, filters=s.filters) for s in spec.steps),
        step=step,
        dropped=dropped,
        mode=spec.mode,
        window=spec.window,
        date_range=spec.date_range,
        filters=tuple(f for f in spec.filters if isinstance(f, PropertyFilter)),
    )


def segment_from_funnel(
    ws: Workspace,
    project_id: int,
    name: str,
    spec: FunnelSpec,
    step: int,
    *,
    dropped: bool = True,
    static: bool = False,
    breakdown_value: str | None = None,
    created_by: str | None = None,
    now_utc: datetime | None = None,
) -> SavedSegment:
    """A segment of the people who reached `step` (1-based) of the funnel, with `dropped`
    only those who went no further; `breakdown_value` keeps one group of a broken-down funnel
    (always saved static)."""
    if not 1 <= step <= len(spec.steps):
        raise SpecError([Problem("step", "step", f"this funnel has steps 1 to {len(spec.steps)}")])
    what = "dropped off at" if dropped else "reached"
    condition = (
        None if static or breakdown_value is not None else funnel_condition(spec, step, dropped)
    )
    if condition is not None:
        definition = SegmentDefinition(conditions=(condition,))
        return create_segment(
            ws,
            project_id,
            name,
            definition,
            created_by,
            description=f"People who {what} funnel step {step}",
        )
    now = now_utc or utcnow()
    with query_context(ws, project_id, now) as ctx:
        funnel = Funnel(spec, ctx)
        people = funnel.people(step, dropped=dropped)
        if breakdown_value is not None:
            if spec.breakdown is None:
                raise SpecError(
                    [Problem("breakdown_value", "breakdown_value", "the funnel has no breakdown")]
                )
            paths = funnel.paths()
            group = paths.filter(paths.bd == breakdown_value).select("person_id")
            people = people.semi_join(group, "person_id")
        ids = [str(r["person_id"]) for r in ctx.execute(people)]
    source = f"funnel: {what} step {step} of {spec.steps[step - 1].event}"
    if breakdown_value is not None:
        source += f" ({breakdown_value})"
    return create_static_segment(ws, project_id, name, ids, source[:200], created_by, now_utc=now)
