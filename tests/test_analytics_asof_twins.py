"""The window-function twins of the ASOF joins (for engines without them, such as Spark), run on
DuckDB against brute-force Python on random event streams with ties and window edges (levels
and times to convert)."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.asof import next_event
from growthloop.analytics.context import QueryContext
from growthloop.analytics.funnels import Funnel, FunnelSpec
from growthloop.workspace import Workspace
from tests.analytics_reference import (
    BASE,
    Ev,
    PersonFunnel,
    clear,
    exclusion_funnels,
    insert_events,
)

NOW = BASE + timedelta(days=30)
DAY = {"date_from": "2024-03-04", "date_to": "2024-03-05"}


class WithoutAsof(QueryContext):
    """DuckDB made to run the twins that engines without ASOF joins run."""

    @property
    def asof_joins(self) -> bool:
        return False


def at(seconds: int | None) -> datetime | None:
    return None if seconds is None else BASE + timedelta(seconds=seconds)


pairs = st.lists(st.tuples(st.sampled_from(["p0", "p1", "p2"]), st.integers(0, 20)), max_size=25)


@settings(max_examples=150, deadline=None)
@given(
    anchors=st.lists(
        st.tuples(st.sampled_from(["p0", "p1", "p2"]), st.none() | st.integers(0, 20)),
        max_size=10,
    ),
    events=pairs,
    strict=st.booleans(),
)
def test_next_event_twin_equals_asof_and_brute_force(anchors, events, strict) -> None:
    con = ibis.duckdb.connect()
    rows = ibis.memtable(
        {
            "person_id": [p for p, _ in anchors] or ["p9"],
            "row": list(range(len(anchors))) or [-1],
            "t": [at(s) for _, s in anchors] or [None],
        },
        schema={"person_id": "string", "row": "int64", "t": "timestamp(6)"},
    )
    found = ibis.memtable(
        {
            "person_id": [p for p, _ in events] or ["p9"],
            "timestamp": [at(s) for _, s in events] or [BASE - timedelta(days=1)],
        },
        schema={"person_id": "string", "timestamp": "timestamp(6)"},
    )
    want = {}
    for i, (person, s) in enumerate(anchors):
        later = [
            e for p, e in events if p == person and s is not None and (e > s if strict else e >= s)
        ]
        want[i] = at(min(later)) if later else None
    for asof in (True, False):
        out = next_event(rows, "t", found, "nxt", strict=strict, asof=asof)
        got = {r["row"]: r["nxt"] for r in con.to_pyarrow(out).to_pylist() if r["row"] >= 0}
        assert got == want, f"asof={asof}"


exclusions_strategy = st.lists(
    st.tuples(st.sampled_from(["x", "b"]), st.integers(1, 3), st.integers(2, 4)).filter(
        lambda x: x[1] < x[2]
    ),
    min_size=1,
    max_size=2,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    events=st.lists(
        st.builds(
            Ev,
            person=st.sampled_from(["p0", "p1", "p2", "p3"]),
            event=st.sampled_from(["a", "b", "c", "x"]),
            ts=st.integers(0, 40).map(lambda s: BASE + timedelta(seconds=s)),
        ),
        max_size=30,
    ),
    steps=st.lists(st.sampled_from(["a", "b", "c"]), min_size=4, max_size=4),
    window=st.integers(0, 15),
    exclusions=exclusions_strategy,
)
def test_exclusions_without_asof_match_reference(
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
    duck = QueryContext.for_workspace(workspace, now_utc=NOW)
    ctx = WithoutAsof(duck.backend, duck.tz, NOW)
    assert not ctx.asof_joins
    n = len(steps)
    got = {}
    for r in ctx.execute(Funnel(spec, ctx).paths()):
        first = {k: r[f"first_{k}"] for k in range(1, n) if r.get(f"first_{k}") is not None}
        prev = {k: r[f"prev_{k}"] for k in range(1, n) if r.get(f"prev_{k}") is not None}
        got[r["person_id"]] = PersonFunnel(r["level"], first, prev)
    want = exclusion_funnels(events, steps, exclusions, window)
    assert got == want
