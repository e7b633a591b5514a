"""Funnels on a real DuckDB store: against the brute-force reference (all modes) and against
ClickHouse's windowFunnel run by chdb (ordered mode)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.context import QueryContext
from growthloop.analytics.funnels import Funnel, FunnelSpec
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import (
    BASE,
    Ev,
    PersonFunnel,
    attributed_value,
    clear,
    exclusion_funnels,
    funnel_ordered,
    funnel_strict,
    funnel_unordered,
    insert_events,
)

NOW = BASE + timedelta(days=30)
DAY = {"date_from": "2024-03-04", "date_to": "2024-03-05"}


def context(ws: Workspace) -> QueryContext:
    ctx = QueryContext.for_workspace(ws, now_utc=NOW)
    return QueryContext(ctx.backend, ZoneInfo("UTC"), NOW)


def chdb_levels(events: list[Ev], steps: list[str], window_us: int, path: Path) -> dict[str, int]:
    """Per-person windowFunnel level computed by ClickHouse (chdb) over the same events."""
    table = pa.table(
        {
            "person_id": [e.person for e in events],
            "event": [e.event for e in events],
            "ts": pa.array(
                [int((e.ts - datetime(1970, 1, 1)).total_seconds() * 1_000_000) for e in events],
                pa.uint64(),
            ),
        }
    )
    pq.write_table(table, path)
    conditions = ", ".join(f"event = '{s}'" for s in steps)
    sql = (
        f"SELECT person_id, windowFunnel({window_us})(ts, {conditions}) AS level"
        f" FROM file('{path}', Parquet) GROUP BY person_id FORMAT CSV"
    )
    out = chdb.query(sql).data()
    levels = {}
    for line in out.strip().splitlines():
        person, level = line.rsplit(",", 1)
        if int(level) > 0:
            levels[person.strip('"')] = int(level)
    return levels


def reference(
    events: list[Ev], steps: list[str], mode: str, window: timedelta
) -> dict[str, PersonFunnel]:
    by_person: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        by_person[e.person].append(e)
    out = {}
    for person, evs in by_person.items():
        matched = [(e.ts, {i for i, s in enumerate(steps) if s == e.event}, e.uuid) for e in evs]
        if mode == "ordered":
            got = funnel_ordered([(t, m) for t, m, _ in matched], len(steps), window)
        elif mode == "strict":
            got = funnel_strict(matched, len(steps), window)
        else:
            got = funnel_unordered([(t, m) for t, m, _ in matched], len(steps), window)
        if got is not None:
            out[person] = got
    return out


def engine_paths(ws: Workspace, spec: FunnelSpec, method=None) -> dict[str, PersonFunnel]:
    n = len(spec.steps)
    out = {}
    for row in context(ws).execute(Funnel(spec, context(ws)).paths(method)):
        first = {k: row[f"first_{k}"] for k in range(1, n) if row.get(f"first_{k}") is not None}
        prev = {k: row[f"prev_{k}"] for k in range(1, n) if row.get(f"prev_{k}") is not None}
        out[row["person_id"]] = PersonFunnel(row["level"], first, prev)
    return out


# Seconds on a small grid so that ties and events exactly at the window's edge are common.
events_strategy = st.lists(
    st.builds(
        Ev,
        person=st.sampled_from(["p0", "p1", "p2", "p3"]),
        event=st.sampled_from(["a", "b", "c", "x"]),
        ts=st.integers(0, 40).map(lambda s: BASE + timedelta(seconds=s)),
    ),
    max_size=30,
)
steps_strategy = st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=4)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    steps=steps_strategy,
    window=st.integers(0, 15),
    mode=st.sampled_from(["ordered", "strict", "unordered"]),
)
def test_funnel_matches_reference_and_chdb(
    workspace: Workspace, tmp_path: Path, events, steps, window, mode
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    spec = FunnelSpec(
        steps=tuple({"event": s} for s in steps),
        mode=mode,
        window={"value": window, "unit": "second"},
        date_range=DAY,
    )
    got = engine_paths(workspace, spec)
    want = reference(events, steps, mode, timedelta(seconds=window))
    assert got == want
    if mode == "ordered":
        # The window-function twin (for engines without ASOF joins) and the ASOF-join plan
        # give the same rows as the compiled walk (DuckDB's default).
        assert engine_paths(workspace, spec, "windows") == want
        assert engine_paths(workspace, spec, "asof") == want
        levels = chdb_levels(events, steps, window * 1_000_000, tmp_path / "events.parquet")
        assert {p: f.level for p, f in got.items()} == levels
    # The summary counts people at or beyond each step.
    result = Funnel(spec, context(workspace)).calculate()
    assert [s.count for s in result.steps] == [
        sum(1 for f in want.values() if f.level >= k) for k in range(1, len(steps) + 1)
    ]


def test_ordered_funnel_equals_chdb_on_a_larger_stream(
    workspace: Workspace, tmp_path: Path
) -> None:
    """2,000 people with 5 to 200 events each (millisecond timestamps); four windows. The
    compiled walk sorts long event lists differently from short ones: both kinds occur."""
    rng = random.Random(7)
    names = ["view", "cart", "checkout", "pay", "other"]
    events = []
    for p in range(2000):
        t = BASE + timedelta(seconds=rng.randrange(0, 86400 * 5))
        for _ in range(rng.choice([5, 20, 20, 20, 200])):
            t += timedelta(milliseconds=rng.choice([0, 0, 500, 30_000, 600_000, 7_200_000]))
            events.append(Ev(f"u{p}", rng.choice(names), t))
    insert_events(workspace.events().con, events)
    steps = ["view", "cart", "checkout", "pay"]
    for window_s in (0, 60, 3600, 86400):
        spec = FunnelSpec(
            steps=tuple({"event": s} for s in steps),
            window={"value": window_s, "unit": "second"},
            date_range={"date_from": "2024-03-01", "date_to": "2024-03-31"},
        )
        result = Funnel(spec, context(workspace)).calculate()
        levels = chdb_levels(events, steps, window_s * 1_000_000, tmp_path / "big.parquet")
        expected = [sum(1 for v in levels.values() if v >= k) for k in range(1, 5)]
        assert [s.count for s in result.steps] == expected
        assert expected[-1] > 0  # the comparison covers complete conversions
        assert engine_paths(workspace, spec) == engine_paths(workspace, spec, "asof")
        # Without a breakdown the summary comes from the walk's arrays; DuckDB aggregating
        # the same paths gives the same counts, medians and means.
        funnel = Funnel(spec, context(workspace))
        (row,) = context(workspace).execute(funnel.to_query())
        for k, got in enumerate(result.steps, start=1):
            assert got.count == row[f"count_{k}"]
            for name in (
                "median_seconds_from_first",
                "mean_seconds_from_first",
                "median_seconds_from_previous",
                "mean_seconds_from_previous",
            ):
                kind = "first" if name.endswith("first") else "prev"
                stat = name.split("_")[0]
                want = row.get(f"{stat}_{kind}_{k - 1}")
                value = getattr(got, name)
                assert (value is None) == (want is None)
                if want is not None:
                    assert value == pytest.approx(want / 1e6, rel=1e-12)


def test_breakdown_attribution_and_step_filters(workspace: Workspace) -> None:
    t = BASE + timedelta(hours=1)
    events = [
        # u1: checks out on Android, pays on iOS; u2: Android, never pays; u3: iOS, pays.
        Ev("u1", "checkout", t, {"cart_value": 120}, {"os": "Android"}),
        Ev("u1", "purchase", t + timedelta(minutes=5), {}, {"os": "iOS"}),
        Ev("u2", "checkout", t, {"cart_value": 80}, {"os": "Android"}),
        Ev("u3", "checkout", t, {"cart_value": 300}, {"os": "iOS"}),
        Ev("u3", "purchase", t + timedelta(minutes=1), {}, {"os": "iOS"}),
        Ev("u4", "checkout", t, {"cart_value": 10}, {"os": "iOS"}),  # filtered out
    ]
    insert_events(workspace.events().con, events)
    base = {
        "steps": [
            {
                "event": "checkout",
                "filters": [{"key": "cart_value", "operator": ">=", "value": 50}],
            },
            {"event": "purchase"},
        ],
        "date_range": DAY,
        "breakdown": {"property": {"key": "os", "type": "column"}},
    }
    first = Funnel(FunnelSpec.model_validate(base), context(workspace)).calculate()
    assert [(g.breakdown_value, [s.count for s in g.steps]) for g in first.groups] == [
        (None, [3, 2]),
        ("Android", [2, 1]),
        ("iOS", [1, 1]),
    ]
    assert first.steps[1].median_seconds_from_first == 180.0
    assert first.steps[1].conversion_from_previous == pytest.approx(2 / 3)
    last = FunnelSpec.model_validate({**base, "attribution": "last_touch"})
    assert [
        (g.breakdown_value, g.steps[0].count)
        for g in Funnel(last, context(workspace)).calculate().groups
    ] == [
        (None, 3),
        ("iOS", 2),
        ("Android", 1),
    ]
    # Reference attribution agrees on every person.
    for person in ("u1", "u2", "u3"):
        mine = [
            (e.ts, {0} if e.event == "checkout" else {1}, e.columns["os"])
            for e in events
            if e.person == person
        ]
        assert attributed_value(mine, "last_touch", None) == (
            "Android" if person == "u2" else "iOS"
        )


def test_rules_name_the_problem(workspace: Workspace) -> None:
    spec = FunnelSpec(steps=({"event": "a"},), attribution="step")
    with pytest.raises(SpecError) as info:
        Funnel(spec, context(workspace))
    assert [str(p) for p in info.value.problems] == [
        "steps: a funnel needs 2 to 20 steps, this one has 1",
        "attribution_step: attribution 'step' needs attribution_step, a step number of this"
        " funnel (and other attributions take none)",
    ]


exclusions_strategy = st.lists(
    st.tuples(st.sampled_from(["x", "b"]), st.integers(1, 3), st.integers(2, 4)).filter(
        lambda x: x[1] < x[2]
    ),
    min_size=0,
    max_size=2,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=events_strategy,
    steps=st.lists(st.sampled_from(["a", "b", "c"]), min_size=4, max_size=4),
    window=st.integers(0, 15),
    exclusions=exclusions_strategy,
)
def test_exclusions_match_reference(
    workspace: Workspace, events, steps, window, exclusions
) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    spec = FunnelSpec(
        steps=tuple({"event": s} for s in steps),
        window={"value": window, "unit": "second"},
        date_range=DAY,
        exclusions=tuple({"event": e, "from_step": f, "to_step": g} for e, f, g in exclusions),
    )
    got = engine_paths(workspace, spec)
    want = exclusion_funnels(events, steps, exclusions, window)
    assert {p: f.level for p, f in got.items()} == {p: f.level for p, f in want.items()}
    assert got == want


def test_exclusion_removes_the_spoiled_attempt_only(workspace: Workspace) -> None:
    t = BASE + timedelta(hours=2)
    events = [
        # u1: view, coupon_error, buy -> spoiled; then views and buys again cleanly.
        Ev("u1", "view", t),
        Ev("u1", "coupon_error", t + timedelta(minutes=1)),
        Ev("u1", "buy", t + timedelta(minutes=2)),
        Ev("u1", "view", t + timedelta(hours=3)),
        Ev("u1", "buy", t + timedelta(hours=3, minutes=10)),
        # u2: the error comes after buying: not between the steps.
        Ev("u2", "view", t),
        Ev("u2", "buy", t + timedelta(minutes=5)),
        Ev("u2", "coupon_error", t + timedelta(minutes=5)),
        # u3: the only attempt is spoiled: u3 is not in the funnel at all.
        Ev("u3", "view", t),
        Ev("u3", "coupon_error", t + timedelta(minutes=30)),
    ]
    insert_events(workspace.events().con, events)
    spec = FunnelSpec(
        steps=({"event": "view"}, {"event": "buy"}),
        window={"value": 1, "unit": "hour"},
        date_range=DAY,
        exclusions=({"event": "coupon_error"},),
    )
    funnel = Funnel(spec, context(workspace))
    result = funnel.calculate()
    assert [s.count for s in result.steps] == [2, 2]
    people = [r["person_id"] for r in context(workspace).execute(funnel.people(1, dropped=True))]
    assert people == []  # u3's only attempt is spoiled: u3 is not even at step 1
    reached = [r["person_id"] for r in context(workspace).execute(funnel.people(2))]
    assert reached == ["u1", "u2"]
    assert result.steps[1].median_seconds_from_first == 450.0  # 10 and 5 minutes
    with pytest.raises(SpecError, match="exclusion steps apply to ordered funnels only"):
        Funnel(spec.model_copy(update={"mode": "strict"}), context(workspace))


def test_people_who_dropped_off(workspace: Workspace) -> None:
    t = BASE + timedelta(hours=1)
    events = [Ev(f"u{i}", "view", t) for i in range(5)]
    events += [Ev(f"u{i}", "cart", t + timedelta(minutes=1)) for i in range(3)]
    events += [Ev("u0", "pay", t + timedelta(minutes=2))]
    insert_events(workspace.events().con, events)
    spec = FunnelSpec(
        steps=({"event": "view"}, {"event": "cart"}, {"event": "pay"}), date_range=DAY
    )
    funnel = Funnel(spec, context(workspace))

    def people(step: int, dropped: bool) -> list[str]:
        rows = context(workspace).execute(funnel.people(step, dropped=dropped))
        return [r["person_id"] for r in rows]

    assert people(1, True) == ["u3", "u4"]
    assert people(2, True) == ["u1", "u2"]
    assert people(3, False) == ["u0"]
    with pytest.raises(SpecError, match="this funnel has steps 1 to 3"):
        funnel.people(4)


def test_conversion_trend_by_entry_day(workspace: Workspace) -> None:
    events = []
    # Day 0: 3 people enter, 1 converts; day 1: 2 enter, 2 convert; day 2: nobody.
    for i, converts in enumerate([True, False, False]):
        events.append(Ev(f"a{i}", "view", BASE + timedelta(hours=3)))
        if converts:
            events.append(Ev(f"a{i}", "pay", BASE + timedelta(hours=4)))
    for i in range(2):
        events.append(Ev(f"b{i}", "view", BASE + timedelta(days=1, hours=23, minutes=30)))
        events.append(Ev(f"b{i}", "pay", BASE + timedelta(days=2, hours=1)))  # next day: counts
    events.append(Ev("a0", "view", BASE + timedelta(days=1)))  # a0 entered on day 0 already
    insert_events(workspace.events().con, events)
    spec = FunnelSpec(
        steps=({"event": "view"}, {"event": "pay"}),
        date_range={"date_from": "2024-03-04", "date_to": "2024-03-06"},
        trend_interval="day",
    )
    trend = Funnel(spec, context(workspace)).calculate().trend
    assert [(p.bucket.day, p.entered, p.converted, p.conversion) for p in trend] == [
        (4, 3, 1, 1 / 3),
        (5, 2, 2, 1.0),
        (6, 0, 0, None),
    ]
