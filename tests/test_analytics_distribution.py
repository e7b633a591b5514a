"""Distribution (events per person) and interval (time between two events) against the
brute-force reference."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.context import QueryContext
from growthloop.analytics.distribution import Distribution, DistributionSpec, Interval, IntervalSpec
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import (
    BASE,
    Ev,
    clear,
    events_per_person,
    histogram,
    insert_events,
    quantile,
    seconds_between,
)

NOW = BASE + timedelta(days=20)
DAYS = {"date_from": "2024-03-04", "date_to": "2024-03-10"}  # UTC context below

events_strategy = st.lists(
    st.builds(
        Ev,
        person=st.sampled_from([f"p{i}" for i in range(8)]),
        event=st.sampled_from(["open", "buy", "share"]),
        ts=st.integers(-86400, 8 * 86400).map(lambda s: BASE + timedelta(seconds=s * 7)),
    ),
    max_size=60,
)
SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def context(ws: Workspace) -> QueryContext:
    return QueryContext(QueryContext.for_workspace(ws).backend, ZoneInfo("UTC"), NOW)


def in_range(e: Ev) -> bool:
    return BASE <= e.ts < BASE + timedelta(days=7)


def check_stats(result, values: list[float], bins) -> None:
    assert [b.people for b in result.bins] == histogram(values, bins)
    assert result.people == len(values)
    if not values:
        assert result.median is None and result.mean is None
        return
    assert result.mean == pytest.approx(sum(values) / len(values))
    for got, q in ((result.median, 0.5), (result.p25, 0.25), (result.p75, 0.75), (result.p90, 0.9)):
        assert got == pytest.approx(quantile(values, q))


@SETTINGS
@given(events=events_strategy, event=st.sampled_from([None, "buy"]), small_bins=st.booleans())
def test_events_per_person(workspace: Workspace, events, event, small_bins) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    bins = (1, 2, 4) if small_bins else (1, 2, 3, 4, 5, 6, 11, 21, 51, 101)
    spec = DistributionSpec(event={"event": event}, date_range=DAYS, bins=bins)
    result = Distribution(spec, context(workspace)).calculate()
    values = events_per_person(events, lambda e: in_range(e) and event in (None, e.event))
    check_stats(result, values, bins)


@SETTINGS
@given(events=events_strategy, to_event=st.sampled_from(["buy", "open"]))
def test_time_between_two_events(workspace: Workspace, events, to_event) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    bins = (0, 60, 3600, 86400)
    spec = IntervalSpec(
        from_event={"event": "open"}, to_event={"event": to_event}, date_range=DAYS, bins=bins
    )
    result = Interval(spec, context(workspace)).calculate()
    values = seconds_between(
        events,
        lambda e: in_range(e) and e.event == "open",
        lambda e: in_range(e) and e.event == to_event,
    )
    check_stats(result, values, bins)


def test_bins_rule(workspace: Workspace) -> None:
    with pytest.raises(
        SpecError, match=r"bins are increasing lower edges starting at 1, got \[1, 5, 3\]"
    ):
        Distribution(DistributionSpec(bins=(1, 5, 3)), context(workspace))
