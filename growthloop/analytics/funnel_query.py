"""The funnel's per-person computation in its three modes, as Ibis expressions.

Each mode turns the events of a date range into one row per person who did step 1:
`level` (how many steps they reached, 1..n) and, for ordered and strict funnels, microseconds
from step 1 (`first_k`) and from the previous step (`prev_k`) to step k+1 (k = 1..n-1), measured
on the conversion path that reached that step first. docs/analytics.md states the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from growthloop.analytics.asof import next_event
from growthloop.analytics.filters import all_filters
from growthloop.analytics.spec import PropertyFilter


def step_conditions(
    events: ir.Table, steps: Sequence[tuple[str, Sequence[PropertyFilter]]]
) -> list[ir.BooleanValue]:
    """Whether each event matches each step (event name and the step's filters)."""
    return [(events.event == name) & all_filters(events, filters) for name, filters in steps]


def step_elements(
    events: ir.Table, matches: Sequence[ir.BooleanValue], extra: Sequence[str] = ()
) -> ir.Table:
    """One row per (event, step it matches): person_id, timestamp, level (0-based step)."""
    parts = [
        events.filter(match).select(
            "person_id", "timestamp", *extra, level=ibis.literal(i, "int16")
        )
        for i, match in enumerate(matches)
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def ordered_paths(events: ir.Table, matches: Sequence[ir.BooleanValue], window_s: int) -> ir.Table:
    """ClickHouse windowFunnel: the furthest step reached by a chain of step events whose
    timestamps never decrease and whose last event is at most `window_s` after its first.

    Step by step: a step-j event continues the chains of the latest step-(j-1) event at or
    before it that is itself on a chain (an ASOF join); `a` carries the chain's step-1 time,
    the latest one possible, and `p` the step-(j-1) event's time. Such a chain still counts if
    a >= t - window. Along time `a` and `p` never decrease, so their minimum over a step's rows
    is their value where the person first reached it.
    """
    window = ibis.interval(seconds=window_s)
    ts_type = ibis.dtype("timestamp(6)")  # nullable, so that every step's rows union alike

    def chain_rows(person: ir.Value, ts: ir.Value, a: ir.Value, p: ir.Value) -> dict[str, ir.Value]:
        return {
            "person_id": person.cast("string"),
            "timestamp": ts.cast(ts_type),
            "a": a.cast(ts_type),
            "p": p.cast(ts_type),
        }

    first = events.filter(matches[0])
    valid = first.select(
        **chain_rows(first.person_id, first.timestamp, first.timestamp, ibis.null("timestamp"))
    )
    valid_first = valid
    reached = [valid.mutate(level=ibis.literal(1, "int16"))]
    for j in range(1, len(matches)):
        rows = events.filter(matches[j]).select("person_id", "timestamp")
        # Only people who did step j can continue: the semi join (a hash probe) keeps the
        # ASOF join from sorting everyone's step-(j-1) events.
        prev = valid.semi_join(rows, "person_id").select(
            _person="person_id", _ts="timestamp", _a="a"
        )
        joined = rows.asof_join(
            prev, on=rows.timestamp >= prev._ts, predicates=rows.person_id == prev._person
        )
        joined = joined.filter(joined._a >= joined.timestamp - window)
        valid = joined.select(
            **chain_rows(joined.person_id, joined.timestamp, joined._a, joined._ts)
        )
        reached.append(valid.mutate(level=ibis.literal(j + 1, "int16")))
    # Everyone who did step 1 is on level 1 at least; only the (far fewer) rows of later steps
    # need the per-person aggregates, so step-1 rows are only made distinct.
    entered = valid_first.select("person_id").distinct()
    if len(matches) == 1:
        return entered.mutate(level=ibis.literal(1, "int16"))
    t = ibis.union(*reached[1:])
    aggregates: dict[str, ir.Scalar] = {"_level": t.level.max()}
    for j in range(1, len(matches)):
        at = t.level == j + 1
        aggregates[f"_reach_{j}"] = t.timestamp.min(where=at)
        aggregates[f"_a_{j}"] = t.a.min(where=at)
        aggregates[f"_p_{j}"] = t.p.min(where=at)
    later = t.group_by(_person="person_id").aggregate(**aggregates)
    paths = entered.left_join(later, entered.person_id == later._person)
    times = {}
    for j in range(1, len(matches)):
        reach = paths[f"_reach_{j}"]
        times[f"first_{j}"] = reach.delta(paths[f"_a_{j}"], unit="microsecond")
        times[f"prev_{j}"] = reach.delta(paths[f"_p_{j}"], unit="microsecond")
    level = paths._level.fill_null(ibis.literal(1, "int16")).cast("int16")
    return paths.select("person_id", level=level, **times)


def ordered_paths_windowed(elements: ir.Table, n: int, window_s: int) -> ir.Table:
    """The same answers as `ordered_paths`, with window functions instead of ASOF joins (for
    engines without ASOF joins, such as Spark): over step elements sorted by (timestamp,
    level), `a_j` on a step-j row is the running maximum of `a_{j-1}` if it lies within the
    window, and `p_j` the latest step-(j-1) time on a chain. One sorted pass per step.
    """
    window = ibis.interval(seconds=window_s)
    running = ibis.window(group_by="person_id", order_by=["timestamp", "level"], rows=(None, 0))
    t = elements.mutate(
        a_0=ibis.ifelse(elements.level == 0, elements.timestamp, ibis.null("timestamp"))
    )
    for j in range(1, n):
        prev = t[f"a_{j - 1}"]
        t = t.mutate(
            _m=prev.max().over(running),
            _p=ibis.ifelse(prev.notnull(), t.timestamp, ibis.null("timestamp")).max().over(running),
        )
        reached = (t.level == j) & (t._m >= t.timestamp - window)
        t = t.mutate(
            **{
                f"a_{j}": ibis.ifelse(reached, t._m, ibis.null("timestamp")),
                f"p_{j}": ibis.ifelse(reached, t._p, ibis.null("timestamp")),
            }
        ).drop("_m", "_p")
    row_level = ibis.literal(0, "int16")
    for j in range(n):
        row_level = ibis.ifelse(t[f"a_{j}"].notnull(), j + 1, row_level)
    aggregates: dict[str, ir.Scalar] = {"level": row_level.max()}
    for j in range(1, n):
        aggregates[f"_reach_{j}"] = t.timestamp.min(where=t[f"a_{j}"].notnull())
        aggregates[f"_a_{j}"] = t[f"a_{j}"].min()
        aggregates[f"_p_{j}"] = t[f"p_{j}"].min()
    paths = t.group_by("person_id").aggregate(**aggregates)
    paths = paths.filter(paths.level > 0)
    times = {}
    for j in range(1, n):
        times[f"first_{j}"] = paths[f"_reach_{j}"].delta(paths[f"_a_{j}"], unit="microsecond")
        times[f"prev_{j}"] = paths[f"_reach_{j}"].delta(paths[f"_p_{j}"], unit="microsecond")
    return paths.select("person_id", "level", **times)


def strict_paths(events: ir.Table, matches: Sequence[ir.BooleanValue], window_s: int) -> ir.Table:
    """PostHog's strict order: step k+1 must be the very next event of the person (any event in
    the range counts), within the window of the step-1 event. Events are ordered by timestamp,
    then by the first step they match (events of no step last), then by uuid."""
    n = len(matches)
    first_step = ibis.literal(n, "int16")
    for i in reversed(range(n)):
        first_step = ibis.ifelse(matches[i], i, first_step)
    rows = events.select(
        "person_id",
        "timestamp",
        "uuid",
        _first=first_step,
        **{f"m_{i}": m for i, m in enumerate(matches)},
    )
    order = ibis.window(group_by="person_id", order_by=["timestamp", "_first", "uuid"])
    window = ibis.interval(seconds=window_s)
    ok = rows.m_0
    reached: list[ir.BooleanValue] = [ok]
    lead_ts = {0: rows.timestamp}
    for k in range(1, n):
        lead_ts[k] = rows.timestamp.lead(k).over(order)
        ok = (
            ok
            & rows[f"m_{k}"].lead(k).over(order).fill_null(False)
            & (lead_ts[k] <= rows.timestamp + window)
        )
        reached.append(ok)
    level = ibis.literal(0, "int16")
    for k in range(n):
        level = ibis.ifelse(reached[k], k + 1, level)
    extras: dict[str, ir.Value] = {"level": level, "_row": ibis.row_number().over(order)}
    for k in range(1, n):
        extras[f"first_{k}"] = ibis.ifelse(
            reached[k], lead_ts[k].delta(rows.timestamp, unit="microsecond"), ibis.null("int64")
        )
        extras[f"prev_{k}"] = ibis.ifelse(
            reached[k], lead_ts[k].delta(lead_ts[k - 1], unit="microsecond"), ibis.null("int64")
        )
    t = rows.mutate(**extras)
    aggregates: dict[str, ir.Scalar] = {"level": t.level.max()}
    for k in range(1, n):
        # The first anchor (in event order) that reached step k+1 gives the times.
        aggregates[f"first_{k}"] = t[f"first_{k}"].argmin(t._row, where=t[f"first_{k}"].notnull())
        aggregates[f"prev_{k}"] = t[f"prev_{k}"].argmin(t._row, where=t[f"prev_{k}"].notnull())
    paths = t.group_by("person_id").aggregate(**aggregates)
    return paths.filter(paths.level > 0)


def unordered_paths(elements: ir.Table, n: int, window_s: int) -> ir.Table:
    """PostHog's any order: from any step event at time t, count the distinct steps done in
    [t, t + window]; a person's level is the best such count, if they did step 1 at all."""
    ahead = ibis.range_window(
        preceding=0,
        following=ibis.interval(seconds=window_s),
        group_by="person_id",
        order_by="timestamp",
    )
    count = ibis.literal(0, "int16")
    for j in range(n):
        count = count + (elements.level == j).max().over(ahead).cast("int16")
    t = elements.mutate(_count=count)
    paths = t.group_by("person_id").aggregate(level=t._count.max(), _entered=(t.level == 0).max())
    return paths.filter(paths._entered).drop("_entered")


def attribution(elements: ir.Table, rule: str, step: int | None) -> ir.Table:
    """Each person's breakdown value (column `bd` of the elements): taken from their earliest
    step-1 event (first_touch), their latest event of any step (last_touch), or their earliest
    event of step `step` (1-based). Ties at the same moment take the smallest value."""
    if rule == "first_touch":
        rows, latest = elements.filter(elements.level == 0), False
    elif rule == "last_touch":
        rows, latest = elements, True
    else:
        assert step is not None
        rows, latest = elements.filter(elements.level == step - 1), False
    edge = rows.timestamp.max() if latest else rows.timestamp.min()
    rows = rows.mutate(_edge=edge.over(group_by="person_id"))
    rows = rows.filter(rows.timestamp == rows._edge)
    return rows.group_by("person_id").aggregate(bd=rows.bd.min())


def attempt_paths(
    elements: ir.Table,
    exclusions: Sequence[tuple[ir.Table, int, int]],
    n: int,
    window_s: int,
    *,
    asof: bool = True,
) -> ir.Table:
    """Ordered funnel with exclusions, attempt by attempt.

    An attempt starts at a step-1 event and takes, for each next step, the earliest matching
    event at or after the previous step's (ClickHouse's tie rules), within the window. An
    exclusion (events: person_id, timestamp; from step f, to step g, 0-based) spoils an attempt
    when one of its events lies strictly after the attempt's step f and strictly before its
    step g (or, if step g is never reached, before the window closes). A person's level is the
    best of their clean attempts; people with none are not in the funnel. Without `asof`
    (engines without ASOF joins) the next events come from window functions instead.
    """
    window = ibis.interval(seconds=window_s)
    att = elements.filter(elements.level == 0).select("person_id", t_0="timestamp").distinct()
    for i in range(1, n):
        step = elements.filter(elements.level == i).select("person_id", "timestamp")
        att = next_event(att, f"t_{i - 1}", step, "_t", asof=asof)
        att = att.mutate(
            **{f"t_{i}": ibis.ifelse(att._t <= att.t_0 + window, att._t, ibis.null("timestamp"))}
        ).drop("_t")
    for x, (events, f, g) in enumerate(exclusions):
        hits = events.select("person_id", "timestamp")
        att = next_event(att, f"t_{f}", hits, f"_xt{x}", strict=True, asof=asof)
        hit = att[f"_xt{x}"]
        end_ok = ibis.ifelse(att[f"t_{g}"].notnull(), hit < att[f"t_{g}"], hit <= att.t_0 + window)
        spoiled = (att[f"t_{f}"].notnull() & hit.notnull() & end_ok).fill_null(False)
        att = att.mutate(**{f"_spoiled{x}": spoiled}).drop(f"_xt{x}")
    if exclusions:
        att = att.filter(~ibis.or_(*(att[f"_spoiled{x}"] for x in range(len(exclusions)))))
    level = ibis.literal(1, "int16")
    for i in range(1, n):
        level = ibis.ifelse(att[f"t_{i}"].notnull(), i + 1, level)
    att = att.mutate(level=level)
    for k in range(1, n):
        # The attempt reaching step k+1 first; among ties the one with the latest step-1 event.
        t_k = att[f"t_{k}"]
        rank = ibis.row_number().over(
            group_by="person_id", order_by=[t_k.isnull(), t_k, ibis.desc(att.t_0)]
        )
        att = att.mutate(**{f"_chosen_{k}": (rank == 0) & t_k.notnull()})
    aggregates: dict[str, ir.Scalar] = {"level": att.level.max()}
    for k in range(1, n):
        chosen, t_k = att[f"_chosen_{k}"], att[f"t_{k}"]
        aggregates[f"first_{k}"] = ibis.ifelse(
            chosen, t_k.delta(att.t_0, unit="microsecond"), ibis.null("int64")
        ).max()
        aggregates[f"prev_{k}"] = ibis.ifelse(
            chosen, t_k.delta(att[f"t_{k - 1}"], unit="microsecond"), ibis.null("int64")
        ).max()
    return att.group_by("person_id").aggregate(**aggregates)
