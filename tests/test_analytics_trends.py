"""Trends on a real DuckDB event store, checked against the brute-force reference."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import buckets, resolve_range, utc_offsets
from growthloop.analytics.spec import OTHER, DateRange, PropertyFilter
from growthloop.analytics.trends import Trends, TrendSeries, TrendsSpec
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, clear, insert_events, insert_persons, local, trend

NOW = BASE + timedelta(days=20)
ZONES = ["Asia/Shanghai", "America/New_York", "UTC"]  # New York changes to DST on 2024-03-10

events_strategy = st.lists(
    st.builds(
        Ev,
        person=st.sampled_from(["p0", "p1", "p2", "p3", "p4"]),
        event=st.sampled_from(["a", "b"]),
        ts=st.integers(0, 9 * 86400).map(lambda s: BASE + timedelta(seconds=s)),
        props=st.fixed_dictionaries(
            {},
            optional={
                "price": st.one_of(st.integers(-5, 50), st.floats(0, 100, allow_nan=False)),
                "plan": st.sampled_from(["free", "pro", "team"]),
            },
        ),
        columns=st.fixed_dictionaries({"os": st.sampled_from(["iOS", "Android", None])}),
    ),
    max_size=40,
)


def context(ws: Workspace, zone: str = "Asia/Shanghai") -> QueryContext:
    ctx = QueryContext.for_workspace(ws, now_utc=NOW)
    return QueryContext(ctx.backend, ZoneInfo(zone), NOW)


def expected_groups(events: list[Ev], group, math_name, value, limit) -> dict[str, str]:
    """Reference top-N mapping: rank by the metric when it adds up, else by event count."""
    rank_math = math_name if math_name in ("total", "unique_users", "sum") else "total"
    scores: dict[str, list[Ev]] = {}
    for e in events:
        scores.setdefault(group(e), []).append(e)
    from tests.analytics_reference import aggregate

    ranked = sorted(scores, key=lambda g: (-(aggregate(rank_math, scores[g], value) or 0), g))
    return {g: (g if i < limit else OTHER) for i, g in enumerate(ranked)}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    math_name=st.sampled_from(
        ["total", "unique_users", "sum", "avg", "min", "max", "median", "p90"]
    ),
    interval=st.sampled_from(["hour", "day", "week", "month"]),
    zone=st.sampled_from(ZONES),
    breakdown=st.sampled_from([None, "os", "plan"]),
    limit=st.sampled_from([1, 2, 10]),
    event=st.sampled_from([None, "a"]),
)
def test_trends_match_reference(
    workspace: Workspace, events, math_name, interval, zone, breakdown, limit, event
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    needs_property = math_name not in ("total", "unique_users")
    series = TrendSeries(
        event=event,
        math=math_name,
        property={"key": "price"} if needs_property else None,
    )
    bd = None
    if breakdown == "os":
        bd = {"property": {"key": "os", "type": "column"}, "limit": limit}
    elif breakdown == "plan":
        bd = {"property": {"key": "plan"}, "limit": limit}
    spec = TrendsSpec(
        series=(series,),
        date_range=DateRange(date_from="2024-03-04", date_to="2024-03-12"),
        interval=interval,
        breakdown=bd,
    )
    ctx = context(workspace, zone)
    result = Trends(spec, ctx).calculate()

    tz = ZoneInfo(zone)
    rng = resolve_range(spec.date_range, tz, NOW)
    chosen = [e for e in events if event is None or e.event == event]
    chosen = [e for e in chosen if rng.start_utc <= e.ts < rng.end_utc]

    def value(e: Ev) -> float | None:
        price = e.props.get("price")
        return float(price) if price is not None else None

    def raw_group(e: Ev) -> str:
        if breakdown == "os":
            return e.columns.get("os") or "$none"
        if breakdown == "plan":
            return e.props.get("plan", "$none")
        return ""

    mapping = expected_groups(chosen, raw_group, math_name, value, limit)
    want = trend(
        chosen,
        tz=tz,
        interval=interval,
        start_utc=rng.start_utc,
        end_utc=rng.end_utc,
        math_name=math_name,
        value=value,
        group=lambda e: mapping[raw_group(e)],
    )
    empty = 0.0 if math_name in ("total", "unique_users", "sum") else None
    assert list(result.buckets) == buckets(rng, interval)
    got_groups = {line.breakdown_value or "" for line in result.lines}
    assert got_groups == ({g for g, _ in want} or ({""} if breakdown is None else set()))
    for line in result.lines:
        g = line.breakdown_value or ""
        for start, got in zip(result.buckets, line.values, strict=True):
            assert got == pytest.approx(want.get((g, start), empty)), (g, start)
        assert line.total == pytest.approx(want.get((g, None), empty))


def test_formula_and_previous_period(workspace: Workspace) -> None:
    day = BASE + timedelta(days=7)  # 2024-03-11 UTC
    events = [
        Ev("u1", "visit", day + timedelta(hours=1)),
        Ev("u2", "visit", day + timedelta(hours=2)),
        Ev("u2", "visit", day + timedelta(hours=3)),
        Ev("u1", "order", day + timedelta(hours=4), {"revenue": 30}),
        Ev("u3", "visit", day - timedelta(days=2)),  # previous period
        Ev("u3", "order", day - timedelta(days=2), {"revenue": 12.5}),
    ]
    insert_events(workspace.events().con, events)
    spec = TrendsSpec(
        series=(
            TrendSeries(event="visit", math="unique_users"),
            TrendSeries(event="order", math="total"),
        ),
        date_range=DateRange(date_from="2024-03-11", date_to="2024-03-12"),
        interval="day",
        compare=True,
        formula="B / A * 100",
        filters=(),
    )
    result = Trends(spec, context(workspace, "UTC")).calculate()
    assert [(line.period, line.values, line.total) for line in result.lines] == [
        ("current", (50.0, None), 50.0),  # 03-12 has no visitors: no value, not infinity
        ("previous", (100.0, None), 100.0),
    ]
    assert result.previous_buckets == (datetime(2024, 3, 9), datetime(2024, 3, 10))


OPERATOR_CASES = [
    ("=", "pro", lambda p: p.get("plan") == "pro"),
    ("!=", "pro", lambda p: p.get("plan") != "pro"),
    ("in", ["pro", "team"], lambda p: p.get("plan") in ("pro", "team")),
    ("not_in", ["pro"], lambda p: p.get("plan") != "pro"),
    ("contains", "RO", lambda p: "ro" in str(p.get("plan", "\0"))),
    ("not_contains", "ro", lambda p: "ro" not in str(p.get("plan", ""))),
    ("regex", "^(free|team)$", lambda p: p.get("plan") in ("free", "team")),
    ("is_set", None, lambda p: "plan" in p),
    ("is_not_set", None, lambda p: "plan" not in p),
]


@pytest.mark.parametrize(("operator", "value", "predicate"), OPERATOR_CASES)
def test_event_property_operators(workspace: Workspace, operator, value, predicate) -> None:
    plans = ["free", "pro", "team", None, "pro"]
    events = [
        Ev(f"u{i}", "a", BASE + timedelta(hours=i), {"plan": p} if p else {})
        for i, p in enumerate(plans)
    ]
    insert_events(workspace.events().con, events)
    flt = PropertyFilter(key="plan", operator=operator, value=value)
    spec = TrendsSpec(
        series=(TrendSeries(event="a", filters=(flt,)),),
        date_range=DateRange(date_from="2024-03-04", date_to="2024-03-04"),
    )
    total = Trends(spec, context(workspace, "UTC")).calculate().lines[0].total
    assert total == sum(1 for e in events if predicate(e.props))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [(">", 10, 2), (">=", 10, 4), ("<", 10, 2), ("<=", 10, 4), ("=", 10, 2), ("in", [3, "x"], 3)],
)
def test_numeric_operators(workspace: Workspace, operator, value, expected) -> None:
    # 10 and "10" are the same value; "x" is not a number and never compares as one.
    prices = [3, 10, "10", 25.5, 99, "x", "3"]
    events = [Ev("u", "a", BASE + timedelta(minutes=i), {"price": p}) for i, p in enumerate(prices)]
    insert_events(workspace.events().con, events)
    flt = PropertyFilter(key="price", operator=operator, value=value)
    spec = TrendsSpec(
        series=(TrendSeries(filters=(flt,)),),
        date_range=DateRange(date_from="2024-03-04", date_to="2024-03-04"),
    )
    assert Trends(spec, context(workspace, "UTC")).calculate().lines[0].total == expected


def test_person_property_filter_and_breakdown(workspace: Workspace) -> None:
    con = workspace.events().con
    insert_persons(con, {"u1": {"city": "Shanghai"}, "u2": {"city": "Beijing"}, "u3": {}})
    insert_events(
        con,
        [
            Ev(u, "a", BASE + timedelta(hours=h))
            for u, h in [("u1", 1), ("u1", 2), ("u2", 3), ("u3", 4)]
        ],
    )
    spec = TrendsSpec.model_validate(
        {
            "series": [{"event": "a"}],
            "date_range": {"date_from": "2024-03-04", "date_to": "2024-03-04"},
            "breakdown": {"property": {"key": "city", "type": "person"}},
            "filters": [{"key": "city", "type": "person", "operator": "!=", "value": "Beijing"}],
        }
    )
    result = Trends(spec, context(workspace, "UTC")).calculate()
    assert [(line.breakdown_value, line.total) for line in result.lines] == [
        ("Shanghai", 2.0),
        ("$none", 1.0),
    ]


def test_relative_ranges_in_project_time_zone() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2024, 3, 31, 17, 30)  # 2024-04-01 01:30 in Shanghai
    r = resolve_range(DateRange(date_from="-7d"), tz, now)
    assert (r.start, r.end) == (datetime(2024, 3, 25), datetime(2024, 4, 1, 1, 30))
    assert r.start_utc == datetime(2024, 3, 24, 16)
    r = resolve_range(DateRange(date_from="last month"), tz, now)
    assert (r.start, r.end) == (datetime(2024, 3, 1), datetime(2024, 4, 1))
    r = resolve_range(DateRange(date_from="this month"), tz, now)
    assert (r.start, r.end) == (datetime(2024, 4, 1), datetime(2024, 4, 1, 1, 30))
    r = resolve_range(DateRange(date_from="-1m"), tz, datetime(2024, 3, 30, 12))
    assert r.start == datetime(2024, 2, 29)
    with pytest.raises(ValueError, match="not a date"):
        resolve_range(DateRange(date_from="last tuesday"), tz, now)


def test_utc_offsets_follow_daylight_saving() -> None:
    ny = ZoneInfo("America/New_York")
    pieces = utc_offsets(ny, datetime(2024, 3, 1), datetime(2024, 3, 20))
    assert pieces == [(datetime(2024, 3, 1), -5 * 3600), (datetime(2024, 3, 10, 7), -4 * 3600)]
    assert local(datetime(2024, 3, 10, 7), ny) == datetime(2024, 3, 10, 3)


def test_rules_explain_what_is_wrong(workspace: Workspace) -> None:
    spec = TrendsSpec(series=(TrendSeries(math="sum"),), formula="A + C")
    with pytest.raises(SpecError) as info:
        Trends(spec, context(workspace))
    messages = [str(p) for p in info.value.problems]
    assert messages == [
        "series: series A uses math 'sum', which needs a property",
        "formula: formula uses 'C' but the series are A",
    ]
