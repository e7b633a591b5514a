"""Saved segments against brute force: memberships (did / did not, counts, windows, funnel step k,
nested segments), and saved segments as filter and breakdown in every analysis kind compared
with the same analysis filtered by the explicit list of person_ids."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthloop.analytics import QueryContext, parse_spec, run_analysis
from growthloop.analytics.funnels import FunnelSpec
from growthloop.analytics.saved_segments import (
    create_segment,
    create_static_segment,
    list_segments,
    recompute,
    segment_members,
)
from growthloop.analytics.saved_segments_funnel import segment_from_funnel
from growthloop.analytics.spec import SegmentDefinition
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, funnel_ordered, insert_events, insert_persons

TZ = ZoneInfo("Asia/Shanghai")
NOW = BASE + timedelta(days=60, hours=5)
PEOPLE = [f"u{i:02d}" for i in range(40)]
CITIES = ["Shanghai", "Beijing", "Shenzhen"]
FUNNEL_FROM, FUNNEL_TO = "2024-04-01", "2024-05-03"  # local days; the range ends 4 May 00:00


def _events() -> list[Ev]:
    rnd = random.Random(4)
    events = []
    for p in PEOPLE[:36]:  # u36..u39 only exist as persons
        for _ in range(rnd.randint(0, 14)):
            ts = BASE + timedelta(minutes=rnd.randint(0, 61 * 24 * 60))
            events.append(Ev(p, rnd.choice(["view", "view", "cart", "buy"]), ts))
    # Some full conversions inside the funnel range (random events rarely make one).
    for i, p in enumerate(PEOPLE[10:16]):
        start = datetime(2024, 4, 10, 3) + timedelta(days=i)
        for j, name in enumerate(["view", "cart", "buy"]):
            events.append(Ev(p, name, start + timedelta(hours=j * (i + 1) * 6)))
    # Window edges: exactly 7 days before NOW is inside "last 7 days", just before is not.
    events.append(Ev("u00", "buy", NOW - timedelta(days=7)))
    events.append(Ev("u01", "buy", NOW - timedelta(days=7, microseconds=1)))
    return events


def _persons() -> dict[str, dict[str, Any]]:
    rnd = random.Random(5)
    return {p: ({"city": rnd.choice(CITIES)} if rnd.random() < 0.8 else {}) for p in PEOPLE[::2]}


EVENTS, PERSONS = _events(), _persons()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    path: Path = tmp_path_factory.mktemp("segments") / "data"
    with Workspace.open(path, timezone="Asia/Shanghai") as workspace:
        insert_events(workspace.events().con, EVENTS)
        insert_persons(workspace.events().con, PERSONS)
        yield workspace


@pytest.fixture(scope="module")
def project_id(ws: Workspace) -> int:
    return ws.ensure_project(ws.settings.default_project).id


# ---------------------------------------------------------------- brute force


def _utc(day: str) -> datetime:
    local = datetime.fromisoformat(day)
    return local.replace(tzinfo=TZ).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _funnel_levels(steps: list[str], window: timedelta) -> dict[str, int]:
    start, end = _utc(FUNNEL_FROM), _utc(FUNNEL_TO) + timedelta(days=1)
    per: dict[str, list[tuple[datetime, set[int]]]] = defaultdict(list)
    for e in EVENTS:
        if start <= e.ts < end:
            matched = {i for i, s in enumerate(steps) if s == e.event}
            if matched:
                per[e.person].append((e.ts, matched))
    levels = {}
    for person, evs in per.items():
        result = funnel_ordered(evs, len(steps), window)
        if result is not None:
            levels[person] = result.level
    return levels


def brute(definition: dict[str, Any], saved: dict[int, dict[str, Any] | list[str]]) -> set[str]:
    everyone = set(PERSONS) | {e.person for e in EVENTS}
    sets = []
    for c in definition["conditions"]:
        if c["type"] == "person":
            f = c["filter"]
            value = {p: PERSONS.get(p, {}).get(f["key"]) for p in everyone}
            chosen = {p for p, v in value.items() if (v == f["value"]) == (f["operator"] == "=")}
        elif c["type"] == "behaviour":
            since = NOW - timedelta(days=c["days"]) if c.get("days") else datetime.min
            counts: dict[str, int] = defaultdict(int)
            for e in EVENTS:
                if since <= e.ts < NOW and c["event"].get("event") in (None, e.event):
                    counts[e.person] += 1
            chosen = {p for p, n in counts.items() if n >= c.get("min_count", 1)}
        elif c["type"] == "funnel":
            levels = _funnel_levels(
                [s["event"] for s in c["steps"]], timedelta(days=c["window"]["value"])
            )
            k = c["step"]
            chosen = {p for p, lv in levels.items() if (lv == k if c.get("dropped") else lv >= k)}
        else:
            target = saved[c["segment_id"]]
            chosen = set(target) if isinstance(target, list) else brute(target, saved)
        sets.append(everyone - chosen if c.get("negate") else chosen)
    if definition.get("match", "all") == "all":
        return set.intersection(*sets)
    return set.union(*sets)


# ---------------------------------------------------------------- memberships


def _behaviour(event: str | None, min_count: int, days: int | None, negate: bool) -> dict:
    return {
        "type": "behaviour",
        "event": {"event": event},
        "min_count": min_count,
        "days": days,
        "negate": negate,
    }


def _funnel(step: int, dropped: bool, negate: bool = False, window: int = 3) -> dict:
    return {
        "type": "funnel",
        "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}],
        "step": step,
        "dropped": dropped,
        "window": {"value": window, "unit": "day"},
        "date_range": {"date_from": FUNNEL_FROM, "date_to": FUNNEL_TO},
        "negate": negate,
    }


def _city(op: str, city: str) -> dict:
    return {
        "type": "person",
        "filter": {"key": "city", "type": "person", "operator": op, "value": city},
    }


def test_memberships_match_brute_force(ws: Workspace, project_id: int) -> None:
    saved: dict[int, dict[str, Any] | list[str]] = {}
    static_ids = ["u03", "u05", "u38", "nobody"]
    static = create_static_segment(ws, project_id, "list", static_ids, source="test")
    saved[static.id] = sorted(static_ids)
    cases = [
        {"conditions": [_behaviour("buy", 1, 7, False)]},
        {"conditions": [_behaviour("buy", 1, 7, True)]},
        {"conditions": [_behaviour("view", 3, 30, False)]},
        {"conditions": [_behaviour("view", 3, 30, True)]},
        {"conditions": [_behaviour(None, 10, None, False), _city("=", "Shanghai")]},
        {"match": "any", "conditions": [_behaviour("cart", 2, 14, False), _city("!=", "Beijing")]},
        {"conditions": [_funnel(2, False)]},
        {"conditions": [_funnel(2, True)]},
        {"conditions": [_funnel(3, False, negate=True), _behaviour("view", 1, 60, False)]},
        {"conditions": [_funnel(1, True)]},
        {"conditions": [{"type": "segment", "segment_id": static.id}]},
    ]
    want_all = []
    for i, case in enumerate(cases):
        seg = create_segment(ws, project_id, f"case {i}", SegmentDefinition.model_validate(case))
        saved[seg.id] = case
        want = brute(case, saved)
        assert recompute(ws, project_id, seg.id, NOW) == len(want), case
        assert set(segment_members(ws, project_id, seg.id)) == want, case
        want_all.append(want)
    # Sanity: the cases are not trivial (each between empty and everyone, and they differ).
    sizes = [len(w) for w in want_all]
    assert all(0 < n < 40 for n in sizes[:-1]), sizes
    dupes = [(i, j) for i in range(len(want_all)) for j in range(i) if want_all[i] == want_all[j]]
    assert not dupes, dupes
    # Nested: a rule segment inside a rule segment, negated, combined with a person property.
    inner_id = next(sid for sid, d in saved.items() if d == cases[2])
    nested = {
        "conditions": [
            {"type": "segment", "segment_id": inner_id, "negate": True},
            _city("=", "Shenzhen"),
        ]
    }
    seg = create_segment(ws, project_id, "nested", SegmentDefinition.model_validate(nested))
    saved[seg.id] = nested
    outer = {"match": "any", "conditions": [{"type": "segment", "segment_id": seg.id}]}
    outer_seg = create_segment(ws, project_id, "outer", SegmentDefinition.model_validate(outer))
    saved[outer_seg.id] = outer
    want = brute(outer, saved)
    assert 0 < len(want) < 40
    assert recompute(ws, project_id, outer_seg.id, NOW) == len(want)
    assert set(segment_members(ws, project_id, outer_seg.id)) == want


SAVED: dict[int, dict[str, Any] | list[str]] = {}
"""Segments the random test saved so far (its later examples nest earlier ones)."""
conditions_strategy = st.one_of(
    st.builds(
        _behaviour,
        st.sampled_from([None, "view", "cart", "buy"]),
        st.integers(1, 4),
        st.sampled_from([None, 3, 7, 30]),
        st.booleans(),
    ),
    st.builds(_city, st.sampled_from(["=", "!="]), st.sampled_from(CITIES)),
    st.builds(
        _funnel, st.integers(1, 3), st.booleans(), st.booleans(), st.sampled_from([1, 3, 10])
    ),
    st.tuples(st.integers(0, 1000), st.booleans()),  # a saved segment, picked among those saved
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    conditions=st.lists(conditions_strategy, min_size=1, max_size=3),
    match=st.sampled_from(["all", "any"]),
)
def test_random_definitions_match_brute_force(
    ws: Workspace, project_id: int, conditions: list[Any], match: str
) -> None:
    if not SAVED:
        static = create_static_segment(ws, project_id, "random base", PEOPLE[5:25], source="t")
        SAVED[static.id] = sorted(PEOPLE[5:25])
    built = []
    for c in conditions:
        if isinstance(c, tuple):
            ids = sorted(SAVED)
            c = {"type": "segment", "segment_id": ids[c[0] % len(ids)], "negate": c[1]}
        built.append(c)
    definition = {"match": match, "conditions": built}
    seg = create_segment(ws, project_id, "random", SegmentDefinition.model_validate(definition))
    SAVED[seg.id] = definition
    want = brute(definition, SAVED)
    assert recompute(ws, project_id, seg.id, NOW) == len(want)
    assert set(segment_members(ws, project_id, seg.id)) == want


def test_window_edge(ws: Workspace, project_id: int) -> None:
    """An event exactly D days before now is in "the last D days"; one microsecond earlier is
    not (u00 and u01 have no other purchase in the last 7 days in this data)."""
    seg = create_segment(
        ws,
        project_id,
        "buyers 7d",
        SegmentDefinition.model_validate({"conditions": [_behaviour("buy", 1, 7, False)]}),
    )
    recompute(ws, project_id, seg.id, NOW)
    members = set(segment_members(ws, project_id, seg.id))
    recent = {e.person for e in EVENTS if e.event == "buy" and NOW - timedelta(days=7) < e.ts < NOW}
    assert "u00" not in recent and "u01" not in recent
    assert "u00" in members and "u01" not in members


def test_funnel_dropoffs_saved_as_segment(ws: Workspace, project_id: int) -> None:
    spec = FunnelSpec.model_validate(
        {
            "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}],
            "window": {"value": 3, "unit": "day"},
            "date_range": {"date_from": FUNNEL_FROM, "date_to": FUNNEL_TO},
        }
    )
    levels = _funnel_levels(["view", "cart", "buy"], timedelta(days=3))
    want = {p for p, lv in levels.items() if lv == 2}
    assert want
    rule = segment_from_funnel(ws, project_id, "cart, no buy", spec, 2, now_utc=NOW)
    assert rule.kind == "rule" and rule.definition is not None
    assert rule.definition["conditions"][0]["type"] == "funnel"
    assert set(segment_members(ws, project_id, rule.id, NOW)) == want
    static = segment_from_funnel(ws, project_id, "cart, no buy", spec, 2, static=True, now_utc=NOW)
    assert static.kind == "static" and static.source is not None and "step 2" in static.source
    assert set(segment_members(ws, project_id, static.id)) == want
    with pytest.raises(SpecError, match="steps 1 to 3"):
        segment_from_funnel(ws, project_id, "x", spec, 4)


# ---------------------------------------------------------------- as filter and breakdown

RANGE = {"date_from": "2024-03-04", "date_to": "2024-05-04"}
SPECS: dict[str, dict[str, Any]] = {
    "trends": {
        "kind": "trends",
        "series": [{"event": "view", "math": "unique_users"}, {"event": "buy"}],
        "interval": "week",
        "date_range": RANGE,
    },
    "funnel": {
        "kind": "funnel",
        "steps": [{"event": "view"}, {"event": "cart"}, {"event": "buy"}],
        "window": {"value": 5, "unit": "day"},
        "date_range": RANGE,
    },
    "retention": {
        "kind": "retention",
        "start_event": {"event": "view"},
        "return_event": {"event": "buy"},
        "period": "week",
        "periods": 4,
        "date_range": RANGE,
    },
    "lifecycle": {
        "kind": "lifecycle",
        "event": {"event": "view"},
        "interval": "week",
        "date_range": RANGE,
    },
    "stickiness": {
        "kind": "stickiness",
        "event": {"event": "view"},
        "interval": "day",
        "date_range": {"date_from": "2024-04-01", "date_to": "2024-04-30"},
    },
    "distribution": {"kind": "distribution", "event": {"event": "view"}, "date_range": RANGE},
    "interval": {
        "kind": "interval",
        "from_event": {"event": "view"},
        "to_event": {"event": "buy"},
        "date_range": RANGE,
    },
    "paths": {"kind": "paths", "depth": 3, "date_range": RANGE},
}


@pytest.fixture(scope="module")
def two_segments(ws: Workspace, project_id: int) -> tuple[int, list[str], int, list[str]]:
    """A rule segment computed a day before NOW (so its stored membership, not today's, is
    what a filter uses) and a static list overlapping it."""
    rule = create_segment(
        ws,
        project_id,
        "viewers",
        SegmentDefinition.model_validate({"conditions": [_behaviour("view", 4, None, False)]}),
    )
    recompute(ws, project_id, rule.id, NOW - timedelta(days=1))
    first = segment_members(ws, project_id, rule.id)
    static_ids = sorted(set(PEOPLE[::3]) | {first[0]})
    static = create_static_segment(ws, project_id, "viewers", static_ids, source="test")
    return rule.id, first, static.id, static_ids


def _run(ws: Workspace, spec: dict[str, Any]) -> dict[str, Any]:
    ctx = QueryContext.for_workspace(ws, None, NOW)
    result = run_analysis(parse_spec(spec), ctx).to_dict()
    assert isinstance(result, dict)
    return result


def _by_list(people: list[str], negate: bool = False) -> dict[str, Any]:
    return {
        "key": "person_id",
        "type": "column",
        "operator": "not_in" if negate else "in",
        "value": people,
    }


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_saved_segment_as_filter(ws: Workspace, two_segments: Any, kind: str) -> None:
    rule_id, rule_people, static_id, static_people = two_segments
    spec = SPECS[kind]
    for sid, people in ((rule_id, rule_people), (static_id, static_people)):
        for negate in (False, True):
            got = _run(
                ws, {**spec, "filters": [{"type": "segment", "segment_id": sid, "negate": negate}]}
            )
            want = _run(ws, {**spec, "filters": [_by_list(people, negate)]})
            assert got == want, (kind, sid, negate)
    everyone = _run(ws, spec)
    assert _run(ws, {**spec, "filters": [{"type": "segment", "segment_id": rule_id}]}) != everyone


def _groups(kind: str, result: dict[str, Any]) -> dict[str | None, Any]:
    if kind == "trends":
        out: dict[str | None, Any] = defaultdict(list)
        for line in result["lines"]:
            out[line["breakdown_value"]].append((line["series"], line["values"], line["total"]))
        return dict(out)
    return {
        g["breakdown_value"]: (g.get("steps") or g.get("cohorts"), g.get("mean"))
        for g in result["groups"]
    }


@pytest.mark.parametrize("kind", ["trends", "funnel", "retention"])
def test_saved_segments_as_breakdown(ws: Workspace, two_segments: Any, kind: str) -> None:
    """Breakdown by [rule, static]: both named "viewers", so labelled with their ids; each
    person lands in the first listed segment they are in, the others in $none."""
    rule_id, rule_people, static_id, static_people = two_segments
    spec = SPECS[kind]
    got = _groups(
        kind,
        _run(
            ws,
            {
                **spec,
                "breakdown": {"property": {"type": "segment", "key": f"{rule_id},{static_id}"}},
            },
        ),
    )
    first = set(rule_people)
    second = set(static_people) - first
    rest = [p for p in PEOPLE if p not in first | second]
    expected = {
        f"viewers (#{rule_id})": sorted(first),
        f"viewers (#{static_id})": sorted(second),
        "$none": rest,
    }
    for label, people in expected.items():
        alone = _groups(kind, _run(ws, {**spec, "filters": [_by_list(people)]}))
        if kind == "trends":
            assert got[label] == [(s, v, t) for s, v, t in alone[None]], label
        else:
            assert got[label] == alone[None], label
    assert set(got) - {None} == set(expected)


def test_unknown_saved_segment_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(SpecError, match="no segment 9999"):
        _run(ws, {**SPECS["trends"], "filters": [{"type": "segment", "segment_id": 9999}]})
    with pytest.raises(SpecError, match="segment breakdown"):
        parse_spec({**SPECS["trends"], "breakdown": {"property": {"type": "segment", "key": "a"}}})


def test_profile_lists_the_persons_saved_segments(ws: Workspace, project_id: int) -> None:
    a = create_static_segment(ws, project_id, "zz profile list", ["u07", "u08"], source="test")
    b = create_static_segment(ws, project_id, "aa profile list", ["u07"], source="test")
    result = _run(ws, {"kind": "profile", "person": "u07"})
    listed = [(s["id"], s["name"]) for s in result["segments"]]
    assert (b.id, "aa profile list") in listed and (a.id, "zz profile list") in listed
    assert listed.index((b.id, "aa profile list")) < listed.index((a.id, "zz profile list"))
    mine = {sid for sid, _ in listed}
    everything = {
        s.id
        for s in list_segments(ws, project_id)
        if "u07" in segment_members(ws, project_id, s.id)
    }
    assert mine == everything
    other = {s["id"] for s in _run(ws, {"kind": "profile", "person": "u08"})["segments"]}
    assert a.id in other and b.id not in other
