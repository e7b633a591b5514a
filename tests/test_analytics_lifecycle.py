"""Lifecycle and stickiness on a real DuckDB store against the brute-force reference."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import buckets, resolve_range
from growthloop.analytics.lifecycle import Lifecycle, LifecycleSpec
from growthloop.analytics.stickiness import Stickiness, StickinessSpec
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, clear, insert_events, lifecycle, stickiness

NOW = BASE + timedelta(days=70)

events_strategy = st.lists(
    st.builds(
        Ev,
        person=st.sampled_from(["p0", "p1", "p2", "p3", "p4"]),
        event=st.sampled_from(["open", "buy"]),
        ts=st.integers(-40 * 24, 60 * 24).map(lambda h: BASE + timedelta(hours=h, minutes=41)),
    ),
    max_size=40,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    interval=st.sampled_from(["day", "week", "month"]),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
    event=st.sampled_from([None, "buy"]),
    span=st.sampled_from([("2024-03-04", "2024-03-12"), ("2024-03-20", "2024-04-30")]),
)
def test_lifecycle_matches_reference(
    workspace: Workspace, events, interval, zone, event, span
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    tz = ZoneInfo(zone)
    ctx = QueryContext(QueryContext.for_workspace(workspace).backend, tz, NOW)
    spec = LifecycleSpec(
        event={"event": event},
        interval=interval,
        date_range={"date_from": span[0], "date_to": span[1]},
    )
    result = Lifecycle(spec, ctx).calculate()
    rng = resolve_range(spec.date_range, tz, NOW)
    starts = buckets(rng, interval)
    want = lifecycle(
        events,
        tz=tz,
        interval=interval,
        starts=starts,
        end_utc=rng.end_utc,
        active=lambda e: event is None or e.event == event,
    )
    assert list(result.buckets) == starts
    assert {k: list(v) for k, v in result.counts.items()} == want


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    interval=st.sampled_from(["day", "week"]),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
    event=st.sampled_from([None, "buy"]),
    span=st.sampled_from([("2024-03-04", "2024-03-12"), ("2024-03-20", "2024-04-30")]),
)
def test_stickiness_matches_reference(
    workspace: Workspace, events, interval, zone, event, span
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    tz = ZoneInfo(zone)
    ctx = QueryContext(QueryContext.for_workspace(workspace).backend, tz, NOW)
    spec = StickinessSpec(
        event={"event": event},
        interval=interval,
        date_range={"date_from": span[0], "date_to": span[1]},
    )
    result = Stickiness(spec, ctx).calculate()
    rng = resolve_range(spec.date_range, tz, NOW)
    histogram, daily = stickiness(
        events,
        tz=tz,
        interval=interval,
        days=buckets(rng, "day"),
        end_utc=rng.end_utc,
        active=lambda e: event is None or e.event == event,
    )
    assert {n + 1: c for n, c in enumerate(result.active_periods) if c} == histogram
    assert list(zip(result.dau, result.wau, result.mau, strict=True)) == daily
    for d, m, r in zip(result.dau, result.mau, result.dau_mau, strict=True):
        assert r == (d / m if m else None)
