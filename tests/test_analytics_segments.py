"""Segments: rule evaluation against the brute-force reference, and segments as filters."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics import parse_spec, run_analysis
from growthloop.analytics.context import QueryContext
from growthloop.analytics.segments import SegmentResult
from growthloop.analytics.trends import TrendsResult
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, clear, insert_events, insert_persons, segment

NOW = BASE + timedelta(days=60)
PEOPLE = [f"p{i}" for i in range(7)]

events_strategy = st.lists(
    st.builds(
        Ev,
        person=st.sampled_from(PEOPLE[:6]),
        event=st.sampled_from(["a", "b"]),
        ts=st.integers(0, 60 * 24 - 1).map(lambda h: BASE + timedelta(hours=h)),
    ),
    max_size=40,
)
persons_strategy = st.dictionaries(
    st.sampled_from(PEOPLE),
    st.fixed_dictionaries({}, optional={"city": st.sampled_from(["Shanghai", "Beijing"])}),
    max_size=7,
)
behaviour = st.fixed_dictionaries(
    {
        "type": st.just("behaviour"),
        "event": st.fixed_dictionaries({"event": st.sampled_from([None, "a", "b"])}),
        "min_count": st.integers(1, 3),
        "days": st.sampled_from([None, 7, 30]),
        "negate": st.booleans(),
    }
)
person = st.fixed_dictionaries(
    {
        "type": st.just("person"),
        "filter": st.fixed_dictionaries(
            {
                "key": st.just("city"),
                "type": st.just("person"),
                "operator": st.sampled_from(["=", "!="]),
                "value": st.sampled_from(["Shanghai", "Beijing"]),
            }
        ),
    }
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    persons=persons_strategy,
    conditions=st.lists(st.one_of(behaviour, person), min_size=1, max_size=3),
    match=st.sampled_from(["all", "any"]),
)
def test_segment_matches_reference(
    workspace: Workspace, events, persons, conditions, match
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    insert_persons(con, persons)
    ctx = QueryContext(QueryContext.for_workspace(workspace).backend, ZoneInfo("UTC"), NOW)
    definition = {"match": match, "conditions": conditions}
    result = run_analysis(parse_spec({"kind": "segment", "segment": definition}), ctx)
    assert isinstance(result, SegmentResult)
    want = segment(events, persons, conditions, match, NOW)
    assert set(result.people) == want
    assert result.size == len(want)
    # The same segment as a filter: trends count only its people's events.
    trends = run_analysis(
        parse_spec(
            {
                "kind": "trends",
                "series": [{"math": "total"}],
                "date_range": {"date_from": "2024-03-04", "date_to": "2024-05-02"},
                "filters": [{"type": "segment", "segment": definition}],
            }
        ),
        ctx,
    )
    assert isinstance(trends, TrendsResult)
    assert trends.lines[0].total == sum(1 for e in events if e.person in want)


def test_person_condition_needs_a_person_property() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(
            {
                "kind": "segment",
                "segment": {
                    "conditions": [{"type": "person", "filter": {"key": "city", "value": "x"}}]
                },
            }
        )
    assert (
        "segment.conditions[0].person: a person condition filters a person property (type 'person')"
        in str(info.value)
    )
