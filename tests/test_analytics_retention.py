"""Retention on a real DuckDB store against the brute-force reference."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import bucket_start, buckets, resolve_range
from growthloop.analytics.retention import Retention, RetentionSpec
from growthloop.analytics.spec import DateRange
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, clear, insert_events, retention

NOW = BASE + timedelta(days=40, hours=5)

events_strategy = st.lists(
    st.builds(
        Ev,
        person=st.sampled_from(["p0", "p1", "p2", "p3", "p4", "p5"]),
        event=st.sampled_from(["signup", "use", "buy"]),
        # Mostly near the start, hours apart, so day/week/month boundaries are all crossed.
        ts=st.integers(-10 * 24, 45 * 24).map(lambda h: BASE + timedelta(hours=h, minutes=17)),
        columns=st.fixed_dictionaries({"os": st.sampled_from(["iOS", "Android"])}),
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
    period=st.sampled_from(["day", "week", "month"]),
    periods=st.integers(1, 5),
    retention_type=st.sampled_from(["on", "on_or_after"]),
    cohort_type=st.sampled_from(["recurring", "first_time"]),
    start_event=st.sampled_from([None, "signup"]),
    return_event=st.sampled_from([None, "buy"]),
    zone=st.sampled_from(["Asia/Shanghai", "America/New_York"]),
    span=st.sampled_from([("2024-03-04", "2024-03-10"), ("2024-03-06", "2024-04-02")]),
    breakdown=st.booleans(),
)
def test_retention_matches_reference(
    workspace: Workspace,
    events,
    period,
    periods,
    retention_type,
    cohort_type,
    start_event,
    return_event,
    zone,
    span,
    breakdown,
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    spec = RetentionSpec(
        start_event={"event": start_event},
        return_event={"event": return_event},
        period=period,
        periods=periods,
        retention_type=retention_type,
        cohort_type=cohort_type,
        date_range=DateRange(date_from=span[0], date_to=span[1]),
        breakdown={"property": {"key": "os", "type": "column"}} if breakdown else None,
    )
    tz = ZoneInfo(zone)
    ctx = QueryContext(QueryContext.for_workspace(workspace).backend, tz, NOW)
    result = Retention(spec, ctx).calculate()

    rng = resolve_range(spec.date_range, tz, NOW)
    want = retention(
        events,
        tz=tz,
        period=period,
        periods=periods,
        retention_type=retention_type,
        cohort_type=cohort_type,
        first_cohort=bucket_start(rng.start, period),
        cohort_starts=buckets(rng, period),
        range_end_utc=rng.end_utc,
        now_utc=NOW,
        is_start=lambda e: start_event is None or e.event == start_event,
        is_return=lambda e: return_event is None or e.event == return_event,
        value=(lambda e: e.columns["os"]) if breakdown else (lambda e: None),
        breakdown=breakdown,
    )
    got = {
        g.breakdown_value: {c.cohort: [c.size, *c.counts[1:]] for c in g.cohorts}
        for g in result.groups
    }
    assert got == dict(want)
    for group in result.groups:  # the mean curve weights cohorts by size
        for n in range(periods + 1):
            reached = [c for c in group.cohorts if c.counts[n] is not None]
            size = sum(c.size for c in reached)
            expected = sum(c.counts[n] or 0 for c in reached) / size if size else None
            assert group.mean[n] == pytest.approx(expected)


def test_weekly_matrix_by_hand(workspace: Workspace) -> None:
    monday = datetime(2024, 3, 3, 16)  # 2024-03-04 00:00 in Shanghai
    events = [
        Ev("a", "signup", monday + timedelta(days=1)),
        Ev("a", "use", monday + timedelta(days=8)),  # week 1
        Ev("a", "use", monday + timedelta(days=22)),  # week 3
        Ev("b", "signup", monday + timedelta(days=2)),
        Ev("b", "use", monday + timedelta(days=15)),  # week 2
        Ev("c", "signup", monday + timedelta(days=9)),  # second cohort
    ]
    insert_events(workspace.events().con, events)
    ctx = QueryContext(
        QueryContext.for_workspace(workspace).backend,
        ZoneInfo("Asia/Shanghai"),
        monday + timedelta(days=17),  # week 2 of the first cohort has begun, week 3 has not
    )
    spec = RetentionSpec(
        start_event={"event": "signup"},
        return_event={"event": "use"},
        period="week",
        periods=3,
        date_range={"date_from": "2024-03-04", "date_to": "2024-03-17"},
    )
    on = Retention(spec, ctx).calculate()
    assert [(c.size, c.counts) for c in on.cohorts] == [
        (2, (2, 1, 1, None)),
        (1, (1, 0, None, None)),
    ]
    assert on.mean == (1.0, 1 / 3, 0.5, None)
    after = Retention(spec.model_copy(update={"retention_type": "on_or_after"}), ctx).calculate()
    # "a" returned in week 3, which has not begun: not counted anywhere yet.
    assert [c.counts for c in after.cohorts] == [(2, 2, 1, None), (1, 0, None, None)]


def test_rule_limits_periods(workspace: Workspace) -> None:
    with pytest.raises(SpecError, match="retention by month shows at most 60 periods, not 61"):
        Retention(RetentionSpec(period="month", periods=61), QueryContext.for_workspace(workspace))
