"""Each row's next event of the same person: an ASOF join where the engine has one (DuckDB), and
the same answer from one sorted window pass elsewhere (Spark)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir


def next_event(
    rows: ir.Table,
    anchor: str,
    events: ir.Table,
    out: str,
    *,
    strict: bool = False,
    asof: bool = True,
) -> ir.Table:
    """`rows` (which have `person_id`) with column `out`: the earliest `events.timestamp` of
    the row's person at or after (`strict`: strictly after) the row's `anchor` time; null when
    there is none or the anchor is null. `events` has columns person_id and timestamp.

    Without ASOF joins, the rows and the events are sorted together per person (at equal
    times events first when `strict`, else last) and a backward running minimum over the
    events' times gives each row its next event.
    """
    if asof:
        found = events.select(_next_person="person_id", **{out: "timestamp"}).distinct()
        on = rows[anchor] < found[out] if strict else rows[anchor] <= found[out]
        joined = rows.asof_join(found, on=on, predicates=rows.person_id == found._next_person)
        return joined.drop("_next_person")
    schema = rows.schema()
    nullable = {name: dtype.copy(nullable=True) for name, dtype in schema.items()}
    ts_type = ibis.dtype("timestamp(6)")
    mine = rows.select(
        **{name: rows[name].cast(dtype) for name, dtype in nullable.items()},
        _at=rows[anchor].cast(ts_type),
        _order=ibis.literal(1 if strict else 0, "int8"),
        _is_row=ibis.literal(True),
    )
    theirs = events.select(
        **{
            name: (events.person_id if name == "person_id" else ibis.null(dtype)).cast(dtype)
            for name, dtype in nullable.items()
        },
        _at=events.timestamp.cast(ts_type),
        _order=ibis.literal(0 if strict else 1, "int8"),
        _is_row=ibis.literal(False),
    )
    both = mine.union(theirs)
    ahead = ibis.window(group_by="person_id", order_by=["_at", "_order"], rows=(0, None))
    soonest = ibis.ifelse(both._is_row, ibis.null(ts_type), both._at).min().over(ahead)
    both = both.mutate(**{out: ibis.ifelse(both._at.isnull(), ibis.null(ts_type), soonest)})
    kept = both.filter(both._is_row)
    return kept.select(*(kept[name].cast(dtype).name(name) for name, dtype in schema.items()), out)
