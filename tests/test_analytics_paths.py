"""Paths against the brute-force reference."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics.context import QueryContext
from growthloop.analytics.paths import Paths, PathsSpec
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, clear, insert_events, person_paths

NOW = BASE + timedelta(days=5)
DAY = {"date_from": "2024-03-04", "date_to": "2024-03-04"}
PAGES = ["/", "/product/1", "/product/22", "/cart"]


def page_event(person: str, second: int, page: str | None) -> Ev:
    if page is None:
        return Ev(person, "add_to_cart", BASE + timedelta(seconds=second))
    return Ev(person, "$pageview", BASE + timedelta(seconds=second), columns={"path": page})


events_strategy = st.lists(
    st.builds(
        page_event,
        person=st.sampled_from(["p0", "p1", "p2", "p3", "p4"]),
        second=st.integers(0, 30),
        page=st.sampled_from([*PAGES, None]),
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
    anchor=st.sampled_from(
        [(None, None), ("/product/:id", None), (None, "add_to_cart"), ("/", None)]
    ),
    depth=st.integers(2, 5),
    clean=st.booleans(),
)
def test_paths_match_reference(workspace: Workspace, events, anchor, depth, clean) -> None:
    con = workspace.events().con
    clear(con)
    insert_events(con, events)
    cleaning = ({"regex": r"/product/\d+", "replacement": "/product/:id"},) if clean else ()
    spec = PathsSpec(
        start=anchor[0], end=anchor[1], depth=depth, cleaning=cleaning, date_range=DAY, limit=1000
    )
    ctx = QueryContext(QueryContext.for_workspace(workspace).backend, ZoneInfo("UTC"), NOW)
    result = Paths(spec, ctx).calculate()

    def label(e: Ev) -> str:
        if e.event != "$pageview":
            return e.event
        page = e.columns["path"]
        return re.sub(r"/product/\d+", "/product/:id", page) if clean else page

    want = person_paths(events, label=label, start=anchor[0], end=anchor[1], depth=depth)
    counts = Counter(want.values())
    assert {p.steps: p.people for p in result.paths} == dict(counts)
    flows = Counter()
    for path in want.values():
        for i in range(len(path) - 1):
            flows[(i, path[i], path[i + 1])] += 1
    assert {(f.depth, f.source, f.target): f.people for f in result.flows} == dict(flows)


def test_top_paths_are_limited_and_ordered(workspace: Workspace) -> None:
    events = []
    for i, pages in enumerate([["/", "/cart"]] * 3 + [["/", "/product/1"]] * 2 + [["/cart"]]):
        events += [page_event(f"u{i}", s, page) for s, page in enumerate(pages)]
    insert_events(workspace.events().con, events)
    ctx = QueryContext(QueryContext.for_workspace(workspace).backend, ZoneInfo("UTC"), NOW)
    result = Paths(PathsSpec(date_range=DAY, limit=2), ctx).calculate()
    assert [(p.steps, p.people) for p in result.paths] == [
        (("/", "/cart"), 3),
        (("/", "/product/1"), 2),
    ]
    with pytest.raises(SpecError, match="give a start step or an end step, not both"):
        Paths(PathsSpec(start="/", end="/cart"), ctx)
