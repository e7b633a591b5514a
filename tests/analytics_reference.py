"""Brute-force reference implementations of the analyses, in plain Python over event lists.

They follow the definitions in docs/analytics.md directly (loops over persons and candidate
chains) and share no code with growthloop.analytics, so a test comparing the two can fail.
Also: the helpers that write test events into a real event store.
"""

from __future__ import annotations

import json
import math
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

BASE = datetime(2024, 3, 4, 0, 0, 0)  # a Monday, naive UTC


@dataclass(frozen=True)
class Ev:
    """A test event. `ts` is naive UTC; `columns` fills materialised columns (os, channel...)."""

    person: str
    event: str
    ts: datetime
    props: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))


def insert_events(con: duckdb.DuckDBPyConnection, events: Sequence[Ev]) -> None:
    """Append events to the store's events table (person_id = distinct_id = Ev.person)."""
    if not events:
        return
    extra = sorted({k for e in events for k in e.columns})
    data: dict[str, list[Any]] = {
        "uuid": [e.uuid for e in events],
        "event": [e.event for e in events],
        "distinct_id": [e.person for e in events],
        "person_id": [e.person for e in events],
        "timestamp": [e.ts for e in events],
        "properties": [json.dumps(e.props) for e in events],
        "inserted_at": [BASE for _ in events],
    }
    for key in extra:
        data[key] = [e.columns.get(key) for e in events]
    table = pa.table(data)
    con.register("_new_events", table)
    try:
        con.execute(
            "INSERT INTO events BY NAME SELECT * REPLACE (uuid::UUID AS uuid,"
            " properties::JSON AS properties) FROM _new_events"
        )
    finally:
        con.unregister("_new_events")


def insert_persons(con: duckdb.DuckDBPyConnection, persons: dict[str, dict[str, Any]]) -> None:
    for pid, props in persons.items():
        con.execute(
            "INSERT INTO persons VALUES (?, ?, true, ?::JSON, ?)",
            [pid, BASE, json.dumps(props), BASE],
        )


def clear(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM events")
    con.execute("DELETE FROM persons")


def local(ts: datetime, tz: ZoneInfo) -> datetime:
    return ts.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def bucket_of(ts: datetime, interval: str) -> datetime:
    if interval == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


# ---------------------------------------------------------------- trends


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, DuckDB's quantile_cont)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def aggregate(
    math_name: str, events: Sequence[Ev], value: Callable[[Ev], float | None]
) -> float | None:
    if math_name == "total":
        return float(len(events))
    if math_name == "unique_users":
        return float(len({e.person for e in events}))
    numbers = [v for v in (value(e) for e in events) if v is not None]
    if math_name == "sum":
        return float(sum(numbers))
    if not numbers:
        return None
    if math_name == "avg":
        return sum(numbers) / len(numbers)
    if math_name == "min":
        return min(numbers)
    if math_name == "max":
        return max(numbers)
    return quantile(numbers, 0.5 if math_name == "median" else 0.9)


def trend(
    events: Iterable[Ev],
    *,
    tz: ZoneInfo,
    interval: str,
    start_utc: datetime,
    end_utc: datetime,
    math_name: str,
    value: Callable[[Ev], float | None] = lambda e: None,
    group: Callable[[Ev], str] = lambda e: "",
) -> dict[tuple[str, datetime | None], float | None]:
    """{(group, local bucket): value} plus {(group, None): whole-range value}."""
    cells: dict[tuple[str, datetime | None], list[Ev]] = defaultdict(list)
    for e in events:
        if start_utc <= e.ts < end_utc:
            cells[(group(e), bucket_of(local(e.ts, tz), interval))].append(e)
            cells[(group(e), None)].append(e)
    return {key: aggregate(math_name, evs, value) for key, evs in cells.items()}


# ---------------------------------------------------------------- funnels

NONE_VALUE = "$none"


@dataclass(frozen=True)
class PersonFunnel:
    level: int
    first: dict[int, int]  # step index k (1-based from 1..n-1) -> microseconds from step 1
    prev: dict[int, int]  # -> microseconds from step k-1


def _micros(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _greedy_reach(
    times: list[list[datetime]], anchor: datetime, upto: int, limit: datetime
) -> datetime | None:
    """Earliest time step `upto` can be reached from a step-1 event at `anchor`, each next step
    at or after the previous one and no later than `limit` (None: cannot)."""
    current = anchor
    for step in range(1, upto + 1):
        later = [t for t in times[step] if t >= current]
        if not later or min(later) > limit:
            return None
        current = min(later)
    return current


def funnel_ordered(
    person_events: list[tuple[datetime, set[int]]], n: int, window: timedelta
) -> PersonFunnel | None:
    """windowFunnel: the longest chain t1 <= t2 <= ... <= tk (ti a step-i event) with
    tk - t1 <= window; times on the chain that completes step k earliest."""
    times = [sorted(t for t, steps in person_events if i in steps) for i in range(n)]
    if not times[0]:
        return None
    level, first, prev = 1, {}, {}
    for k in range(1, n):
        completions = {}
        for anchor in times[0]:
            done = _greedy_reach(times, anchor, k, anchor + window)
            if done is not None:
                completions[anchor] = done
        if not completions:
            break
        level = k + 1
        t_k = min(completions.values())
        start = max(a for a, done in completions.items() if done == t_k)
        first[k] = _micros(t_k - start)
        candidates = []
        for t_prev in times[k - 1]:
            if t_prev > t_k:
                continue
            for anchor in times[0]:
                if t_k - window <= anchor <= t_prev:
                    done = _greedy_reach(times, anchor, k - 1, anchor + window)
                    if done is not None and done <= t_prev:
                        candidates.append(t_prev)
        prev[k] = _micros(t_k - max(candidates))
    return PersonFunnel(level, first, prev)


def funnel_strict(
    person_events: list[tuple[datetime, set[int], str]], n: int, window: timedelta
) -> PersonFunnel | None:
    """PostHog strict: steps are consecutive events of the person (any event counts),
    ordered by (timestamp, first step matched (none last), uuid)."""
    ordered = sorted(person_events, key=lambda e: (e[0], min(e[1], default=n), e[2]))
    best, first, prev = 0, {}, {}
    for r, (t0, steps, _) in enumerate(ordered):
        if 0 not in steps:
            continue
        k = 1
        while (
            k < n
            and r + k < len(ordered)
            and k in ordered[r + k][1]
            and ordered[r + k][0] - t0 <= window
        ):
            if k not in first:
                first[k] = _micros(ordered[r + k][0] - t0)
                prev[k] = _micros(ordered[r + k][0] - ordered[r + k - 1][0])
            k += 1
        best = max(best, k)
    return PersonFunnel(best, first, prev) if best else None


def funnel_unordered(
    person_events: list[tuple[datetime, set[int]]], n: int, window: timedelta
) -> PersonFunnel | None:
    """PostHog any order: from any step event at t, the number of distinct steps in [t, t+w]."""
    elements = [(t, s) for t, steps in person_events for s in steps]
    if not any(s == 0 for _, s in elements):
        return None
    best = 0
    for t, _ in elements:
        best = max(best, len({s for u, s in elements if t <= u <= t + window}))
    return PersonFunnel(best, {}, {})


def attributed_value(
    person_events: list[tuple[datetime, set[int], str]], rule: str, step: int | None
) -> str:
    """Breakdown value of a person: first_touch / last_touch / step N (see docs/analytics.md)."""
    if rule == "first_touch":
        rows = [(t, v) for t, steps, v in person_events if 0 in steps]
        pick = min(t for t, _ in rows) if rows else None
    elif rule == "last_touch":
        rows = [(t, v) for t, steps, v in person_events if steps]
        pick = max(t for t, _ in rows) if rows else None
    else:
        assert step is not None
        rows = [(t, v) for t, steps, v in person_events if step - 1 in steps]
        pick = min(t for t, _ in rows) if rows else None
    if pick is None:
        return NONE_VALUE
    return min(v for t, v in rows if t == pick)


# ---------------------------------------------------------------- retention


def periods_between(earlier: datetime, later: datetime, period: str) -> int:
    if period == "month":
        return (later.year - earlier.year) * 12 + later.month - earlier.month
    days = (later - earlier).days
    return days // 7 if period == "week" else days


def retention(
    events: Sequence[Ev],
    *,
    tz: ZoneInfo,
    period: str,
    periods: int,
    retention_type: str,
    cohort_type: str,
    first_cohort: datetime,
    cohort_starts: Sequence[datetime],
    range_end_utc: datetime,
    now_utc: datetime,
    is_start: Callable[[Ev], bool],
    is_return: Callable[[Ev], bool],
    value: Callable[[Ev], str | None] = lambda e: None,
    breakdown: bool = False,
) -> dict[str | None, dict[datetime, list[int | None]]]:
    """{breakdown value: {cohort start: [size, retained in period 1, ...]}} by definition."""
    first_utc = first_cohort.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
    starts = [e for e in events if is_start(e) and e.ts < range_end_utc]
    membership: dict[tuple[str, datetime], list[Ev]] = defaultdict(list)
    if cohort_type == "first_time":
        by_person: dict[str, list[Ev]] = defaultdict(list)
        for e in starts:
            by_person[e.person].append(e)
        for person, evs in by_person.items():
            first = min(e.ts for e in evs)
            if first >= first_utc:
                cohort = bucket_of(local(first, tz), period)
                membership[(person, cohort)] = [e for e in evs if e.ts == first]
    else:
        for e in starts:
            if e.ts >= first_utc:
                membership[(e.person, bucket_of(local(e.ts, tz), period))].append(e)
    end = max(now_utc, range_end_utc)
    returned: dict[str, set[datetime]] = defaultdict(set)
    for e in events:
        if is_return(e) and first_utc <= e.ts < end:
            returned[e.person].add(bucket_of(local(e.ts, tz), period))
    now_local = local(now_utc, tz)
    out: dict[str | None, dict[datetime, list[int | None]]] = defaultdict(dict)
    groups: dict[tuple[str | None, datetime], list[str]] = defaultdict(list)
    for (person, cohort), evs in membership.items():
        earliest = min(e.ts for e in evs)
        values = [value(e) for e in evs if e.ts == earliest]
        bd = min(values) if values and values[0] is not None else None
        groups[(bd, cohort)].append(person)
    # Without a breakdown there is always one group; with one, only the values seen.
    for bd in {g for g, _ in groups} or (set() if breakdown else {None}):
        for cohort in cohort_starts:
            people = groups.get((bd, cohort), [])
            row: list[int | None] = [len(people)]
            for n in range(1, periods + 1):
                period_start = cohort
                for _ in range(n):
                    period_start = _next(period_start, period)
                if period_start > now_local:
                    row.append(None)
                    continue
                count = 0
                for person in people:
                    offsets = {periods_between(cohort, r, period) for r in returned[person]}
                    hit = n in offsets if retention_type == "on" else any(o >= n for o in offsets)
                    count += hit
                row.append(count)
            out[bd][cohort] = row
    return out


def _next(start: datetime, period: str) -> datetime:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(weeks=1)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def funnel_with_exclusions(
    person_events: list[tuple[datetime, set[int], set[int]]],
    n: int,
    window: timedelta,
    exclusions: Sequence[tuple[int, int]],
) -> PersonFunnel | None:
    """Ordered funnel with exclusion steps (0-based from/to), attempt by attempt: each step-1
    event starts an attempt that takes the earliest next step at or after the previous one;
    an exclusion event strictly between the attempt's step `from` and step `to` (or after
    step `from` up to the window end, when `to` is never reached) spoils it."""
    times = [sorted(t for t, steps, _ in person_events if i in steps) for i in range(n)]
    hits = [sorted(t for t, _, xs in person_events if x in xs) for x in range(len(exclusions))]
    clean = []
    for start in sorted(set(times[0])):
        path = [start]
        for i in range(1, n):
            later = [t for t in times[i] if t >= path[-1]]
            if not later or min(later) > start + window:
                break
            path.append(min(later))
        spoiled = False
        for x, (f, g) in enumerate(exclusions):
            if len(path) <= f:
                continue
            for t in hits[x]:
                before_end = t < path[g] if len(path) > g else t <= start + window
                spoiled = spoiled or (path[f] < t and before_end)
        if not spoiled:
            clean.append(path)
    if not clean:
        return None
    level = max(len(p) for p in clean)
    first, prev = {}, {}
    for k in range(1, level):
        reached = [p for p in clean if len(p) > k]
        earliest = min(p[k] for p in reached)
        best = max((p for p in reached if p[k] == earliest), key=lambda p: p[0])
        first[k] = _micros(best[k] - best[0])
        prev[k] = _micros(best[k] - best[k - 1])
    return PersonFunnel(level, first, prev)


# ---------------------------------------------------------------- lifecycle, stickiness


def lifecycle(
    events: Sequence[Ev],
    *,
    tz: ZoneInfo,
    interval: str,
    starts: Sequence[datetime],
    end_utc: datetime,
    active: Callable[[Ev], bool],
) -> dict[str, list[int]]:
    """PostHog lifecycle by definition: new (first event ever in the period), returning (also
    active the period before), resurrecting (active, not new, not the period before), dormant
    (active the period before, not in this one)."""
    by_person: dict[str, list[datetime]] = defaultdict(list)
    for e in events:
        if active(e) and e.ts < end_utc:
            by_person[e.person].append(e.ts)
    out = {s: [0] * len(starts) for s in ("new", "returning", "resurrecting", "dormant")}
    for times in by_person.values():
        periods = {bucket_of(local(t, tz), interval) for t in times}
        first = bucket_of(local(min(times), tz), interval)
        for i, start in enumerate(starts):
            previous = bucket_of(start - timedelta(days=1), interval)
            if start in periods:
                status = (
                    "new"
                    if first == start
                    else ("returning" if previous in periods else "resurrecting")
                )
                out[status][i] += 1
            elif previous in periods:
                out["dormant"][i] += 1
    return out


def stickiness(
    events: Sequence[Ev],
    *,
    tz: ZoneInfo,
    interval: str,
    days: Sequence[datetime],
    end_utc: datetime,
    active: Callable[[Ev], bool],
) -> tuple[dict[int, int], list[tuple[int, int, int]]]:
    """({N: people active in exactly N periods of the range}, [(dau, wau, mau) per day])."""
    person_days: dict[str, set[datetime]] = defaultdict(set)
    for e in events:
        if active(e) and e.ts < end_utc:
            person_days[e.person].add(bucket_of(local(e.ts, tz), "day"))
    histogram: dict[int, int] = defaultdict(int)
    for person_active in person_days.values():
        inside = {bucket_of(d, interval) for d in person_active if d >= days[0]}
        if inside:
            histogram[len(inside)] += 1
    daily = []
    for d in days:

        def within(n: int, d: datetime = d) -> int:
            return sum(
                1 for s in person_days.values() if any(d - timedelta(days=n) < x <= d for x in s)
            )

        daily.append((within(1), within(7), within(30)))
    return dict(histogram), daily


# ---------------------------------------------------------------- distribution, interval


def histogram(values: Sequence[float], bins: Sequence[int]) -> list[int]:
    """People per bin (lower edges; the last bin is open)."""
    out = [0] * len(bins)
    for v in values:
        out[max(i for i, edge in enumerate(bins) if v >= edge)] += 1
    return out


def events_per_person(events: Sequence[Ev], chosen: Callable[[Ev], bool]) -> list[float]:
    counts: dict[str, int] = defaultdict(int)
    for e in events:
        if chosen(e):
            counts[e.person] += 1
    return [float(c) for c in counts.values()]


def seconds_between(
    events: Sequence[Ev], is_from: Callable[[Ev], bool], is_to: Callable[[Ev], bool]
) -> list[float]:
    """Per person: first from-event to the first to-event at or after it, in seconds."""
    out = []
    for person in {e.person for e in events}:
        starts = [e.ts for e in events if e.person == person and is_from(e)]
        if not starts:
            continue
        first = min(starts)
        ends = [e.ts for e in events if e.person == person and is_to(e) and e.ts >= first]
        if ends:
            out.append((min(ends) - first).total_seconds())
    return out


# ---------------------------------------------------------------- paths


def person_paths(
    events: Sequence[Ev],
    *,
    label: Callable[[Ev], str],
    start: str | None,
    end: str | None,
    depth: int,
) -> dict[str, tuple[str, ...]]:
    """Each person's path: steps in (timestamp, uuid) order, repeats in a row collapsed; from
    the first `start` (next depth-1 steps), up to the first `end` (depth-1 steps before it), or
    from the first step."""
    by_person: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        by_person[e.person].append(e)
    out = {}
    for person, evs in by_person.items():
        steps: list[str] = []
        for e in sorted(evs, key=lambda e: (e.ts, e.uuid)):
            if not steps or steps[-1] != label(e):
                steps.append(label(e))
        if start is not None:
            if start not in steps:
                continue
            i = steps.index(start)
            out[person] = tuple(steps[i : i + depth])
        elif end is not None:
            if end not in steps:
                continue
            i = steps.index(end)
            out[person] = tuple(steps[max(0, i - depth + 1) : i + 1])
        else:
            out[person] = tuple(steps[:depth])
    return out


# ---------------------------------------------------------------- segments


def segment(
    events: Sequence[Ev],
    persons: dict[str, dict[str, Any]],
    conditions: Sequence[dict[str, Any]],
    match: str,
    now: datetime,
) -> set[str]:
    """People matching all/any of the conditions (see docs/analytics.md, segments)."""
    everyone = set(persons) | {e.person for e in events}
    sets = []
    for c in conditions:
        if c["type"] == "person":
            f = c["filter"]
            value = {p: persons.get(p, {}).get(f["key"]) for p in everyone}
            if f["operator"] == "=":
                sets.append({p for p, v in value.items() if v == f["value"]})
            else:  # "!=": people without the property are "not equal" too
                sets.append({p for p, v in value.items() if v != f["value"]})
            continue
        since = now - timedelta(days=c["days"]) if c["days"] is not None else datetime.min
        counts: dict[str, int] = defaultdict(int)
        for e in events:
            if since <= e.ts < now and c["event"]["event"] in (None, e.event):
                counts[e.person] += 1
        did = {p for p, n in counts.items() if n >= c["min_count"]}
        sets.append(everyone - did if c["negate"] else did)
    if match == "all":
        return set.intersection(*sets)
    return set.union(*sets)


def exclusion_funnels(
    events: list[Ev], steps: list[str], exclusions: list[tuple[str, int, int]], window: int
) -> dict[str, PersonFunnel]:
    """`funnel_with_exclusions` for everyone in `events`: steps and exclusions named by event
    (exclusions as (event, from_step, to_step), 1-based), the window in seconds."""
    by_person: dict[str, list[Ev]] = defaultdict(list)
    for e in events:
        by_person[e.person].append(e)
    want = {}
    for person, evs in by_person.items():
        rows = [
            (
                e.ts,
                {i for i, s in enumerate(steps) if s == e.event},
                {x for x, (name, _, _) in enumerate(exclusions) if name == e.event},
            )
            for e in evs
        ]
        found = funnel_with_exclusions(
            rows, len(steps), timedelta(seconds=window), [(f - 1, g - 1) for _, f, g in exclusions]
        )
        if found is not None:
            want[person] = found
    return want
