"""A segment's members as CSV (person_id, distinct_ids, properties), and a person's segments."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import ibis

from growthloop.analytics.context import ibis_table
from growthloop.analytics.saved_segments import (
    get_segment,
    list_segments,
    memberships,
    query_context,
    segment_members,
    utcnow,
)
from growthloop.analytics.saved_segments_models import SavedSegment, unpack_members
from growthloop.store.schema import PERSON_IDENTITIES
from growthloop.workspace import Workspace

CSV_COLUMNS = ("person_id", "distinct_ids", "properties")


def members_csv(
    ws: Workspace, project_id: int, segment_id: int, now_utc: datetime | None = None
) -> str:
    """One row per member, sorted by person_id: the person's distinct_ids (';'-separated,
    sorted) and person properties as JSON ('{}' for a person with events only)."""
    get_segment(ws, project_id, segment_id)
    now = now_utc or utcnow()
    ids = segment_members(ws, project_id, segment_id, now)
    with query_context(ws, project_id, now) as ctx:
        members = ibis.memtable({"person_id": ids}, schema={"person_id": "string"})
        persons = ctx.persons()
        identities = ibis_table(PERSON_IDENTITIES)
        names = identities.group_by("person_id").aggregate(
            distinct_ids=identities.distinct_id.collect(order_by=identities.distinct_id)
        )
        props = persons.select(_p=persons.person_id, properties=persons.properties.cast("string"))
        joined = members.left_join(props, members.person_id == props._p).drop("_p")
        names = names.rename(_n="person_id")
        joined = joined.left_join(names, joined.person_id == names._n).drop("_n")
        rows = ctx.execute(
            joined.select("person_id", "distinct_ids", "properties").order_by("person_id")
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        props = json.loads(r["properties"]) if r["properties"] else {}
        writer.writerow(
            [
                r["person_id"],
                ";".join(r["distinct_ids"] or []),
                json.dumps(props, ensure_ascii=False, sort_keys=True),
            ]
        )
    return out.getvalue()


def segments_of_person(ws: Workspace, project_id: int, person_id: str) -> list[SavedSegment]:
    """The project's saved segments whose last computed membership holds the person."""
    segments = list_segments(ws, project_id)
    states = memberships(ws, [s.id for s in segments])
    return [
        s
        for s in segments
        if s.id in states and person_id in set(unpack_members(states[s.id].members))
    ]
