"""The ordered funnel as one walk over each person's step events in time order: ClickHouse's
windowFunnel done the way ClickHouse does it, compiled by Numba.

DuckDB groups the step events by person (one hash aggregate, each person's events as a list of
keys `timestamp_us * 32 + step`); the walk sorts each person's keys and follows the chains that
`funnel_query.ordered_paths` builds with ASOF joins, with the same answers: docs/analytics.md
states the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from growthloop.analytics.funnel_query import step_elements

STEP_BITS = 5
"""Bits of a key that hold the 0-based step (MAX_STEPS is 20 < 32)."""


def step_keys(events: ir.Table, matches: Sequence[ir.BooleanValue], disjoint: bool) -> ir.Table:
    """(person_id, _key) per step an event matches: `_key = timestamp_us * 32 + step`.
    Steps of `disjoint` conditions (no event can match two) take one scan of the events."""
    if disjoint:
        step = ibis.cases(*((m, i) for i, m in enumerate(matches)), else_=None)
        rows = events.select("person_id", "timestamp", level=step.cast("int64"))
        rows = rows.filter(rows.level.notnull())
    else:
        rows = step_elements(events, matches)
    micros = rows.timestamp.delta(ibis.timestamp("1970-01-01 00:00:00"), unit="microsecond")
    key = micros * (1 << STEP_BITS) + rows.level.cast("int64")
    return rows.select("person_id", _key=key)


@dataclass(frozen=True)
class Walked:
    """Everyone with a step event: person_id, the level reached (0: no step-1 event) and, per
    step k+1 reached, microseconds from the chain's step 1 (`first[k-1]`) and from its step k
    (`prev[k-1]`), -1 where not reached."""

    person_id: pa.ChunkedArray
    level: npt.NDArray[np.int16]
    first: npt.NDArray[np.int64]
    prev: npt.NDArray[np.int64]
    steps: int

    def table(self) -> ir.Table:
        """`ordered_paths`' rows (person_id, level, first_k, prev_k) as an in-memory table."""
        columns: dict[str, pa.Array | pa.ChunkedArray] = {
            "person_id": self.person_id,
            "level": pa.array(self.level),
        }
        for k in range(1, self.steps):
            for name, values in (("first", self.first), ("prev", self.prev)):
                got = values[k - 1]
                columns[f"{name}_{k}"] = pa.array(got, pa.int64(), mask=got < 0)
        walked = ibis.memtable(pa.table(columns))
        # People with step events but no step-1 event are not in the funnel.
        return walked.filter(walked.level > 0)

    def summary(self) -> dict[str, Any]:
        """`Funnel.to_query`'s row for everyone, from the arrays: people at or beyond each
        step, and the median and mean of each time (µs; interpolated medians, as DuckDB's)."""
        row: dict[str, Any] = {"bd": None}
        for k in range(1, self.steps + 1):
            row[f"count_{k}"] = int(np.count_nonzero(self.level >= k))
        for k in range(1, self.steps):
            for name, values in (("first", self.first), ("prev", self.prev)):
                got = values[k - 1][values[k - 1] >= 0].astype(np.float64)
                row[f"median_{name}_{k}"] = float(np.median(got)) if got.size else None
                row[f"mean_{name}_{k}"] = float(got.mean()) if got.size else None
        return row


def walk_people(
    backend: ibis.BaseBackend,
    events: ir.Table,
    matches: Sequence[ir.BooleanValue],
    window_s: int,
    *,
    disjoint: bool = False,
) -> Walked:
    """The ordered funnel of everyone with a step event, from one walk per person: the
    engine lists each person's step events and Numba walks them. `disjoint`: no event
    matches two steps (steps of distinct event names), so the step events come from one
    scan."""
    keyed = step_keys(events, matches, disjoint)
    listed = keyed.group_by("person_id").aggregate(_keys=keyed._key.collect())
    table = backend.to_pyarrow(listed)
    lists = table["_keys"].combine_chunks()
    keys = np.array(lists.values.to_numpy(zero_copy_only=False), np.int64)
    offsets = np.asarray(lists.offsets, np.int64)
    from growthloop.analytics.funnel_kernel import walk_all

    level, first, prev = walk_all(keys, offsets, len(matches), window_s * 1_000_000)
    return Walked(table["person_id"], level, first, prev, len(matches))
