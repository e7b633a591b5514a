"""Saved segments in the metadata database (SQLite and PostgreSQL): create, compute, history,
edit with optimistic concurrency, delete; membership against a brute-force count."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from growthloop.analytics.saved_segments import (
    SegmentError,
    SegmentNotFoundError,
    StaleSegmentError,
    create_segment,
    create_static_segment,
    delete_segment,
    get_segment,
    membership,
    recompute,
    segment_members,
    size_history,
    update_segment,
)
from growthloop.analytics.saved_segments_export import members_csv, segments_of_person
from growthloop.analytics.saved_segments_schedule import SegmentRun, due_segments, run_due
from growthloop.analytics.spec import SegmentDefinition
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, insert_events, insert_persons

NOW = BASE + timedelta(days=40)


def _buyers(min_count: int) -> SegmentDefinition:
    return SegmentDefinition.model_validate(
        {
            "conditions": [
                {
                    "type": "behaviour",
                    "event": {"event": "buy"},
                    "min_count": min_count,
                    "days": 30,
                }
            ]
        }
    )


def test_segment_metadata_round_trip(tmp_path: Path, metadata_url: str) -> None:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as ws:
        project_id = ws.ensure_project(ws.settings.default_project).id
        # p0 buys 3 times in the window, p1 twice (one of them 31 days ago), p2 once.
        events = [
            Ev("p0", "buy", NOW - timedelta(days=1)),
            Ev("p0", "buy", NOW - timedelta(days=2)),
            Ev("p0", "buy", NOW - timedelta(days=29, hours=23)),
            Ev("p1", "buy", NOW - timedelta(days=3)),
            Ev("p1", "buy", NOW - timedelta(days=31)),
            Ev("p2", "buy", NOW - timedelta(hours=1)),
            Ev("p3", "view", NOW - timedelta(hours=1)),
        ]
        insert_events(ws.events().con, events)
        want = sorted(
            {
                p
                for p in {e.person for e in events}
                if sum(
                    e.person == p and e.event == "buy" and NOW - timedelta(days=30) <= e.ts < NOW
                    for e in events
                )
                >= 2
            }
        )
        assert want == ["p0"]
        seg = create_segment(ws, project_id, " Repeat buyers ", _buyers(2), created_by="ann")
        assert (seg.name, seg.kind, seg.refresh_hours, seg.created_by) == (
            "Repeat buyers",
            "rule",
            24,
            "ann",
        )
        # Never computed: asking for members computes them once.
        assert segment_members(ws, project_id, seg.id, NOW) == want
        assert [h.size for h in size_history(ws, project_id, seg.id)] == [1]
        assert segment_members(ws, project_id, seg.id, NOW + timedelta(days=9)) == want
        assert len(size_history(ws, project_id, seg.id)) == 1

        # Edit the rule to one purchase: p0, p1, p2 (recomputed at the same moment).
        edited = update_segment(
            ws, project_id, seg.id, seg.version, {"definition": _buyers(1), "name": "Buyers"}
        )
        assert edited.version == seg.version + 1
        with pytest.raises(StaleSegmentError, match="version"):
            update_segment(ws, project_id, seg.id, seg.version, {"name": "late"})
        assert recompute(ws, project_id, seg.id, NOW) == 3
        history = size_history(ws, project_id, seg.id)
        assert [(h.size, h.added, h.removed) for h in history] == [(1, 1, 0), (3, 2, 0)]
        assert segment_members(ws, project_id, seg.id) == ["p0", "p1", "p2"]
        state = membership(ws, seg.id)
        assert state is not None and state.computed_at == NOW and state.error is None

        static = create_static_segment(
            ws, project_id, "RFM champions", ["p9", "p3", "p9"], source="rfm:champions"
        )
        assert (static.kind, static.source, static.refresh_hours) == (
            "static",
            "rfm:champions",
            None,
        )
        assert segment_members(ws, project_id, static.id) == ["p3", "p9"]
        assert recompute(ws, project_id, static.id, NOW) == 2

        nested = create_segment(
            ws,
            project_id,
            "Buyers in RFM",
            SegmentDefinition.model_validate(
                {"conditions": [{"type": "segment", "segment_id": static.id}]}
            ),
        )
        with pytest.raises(SegmentError, match="used by segment"):
            delete_segment(ws, project_id, static.id)
        with pytest.raises(SegmentError, match="cannot contain itself"):
            update_segment(
                ws,
                project_id,
                nested.id,
                nested.version,
                {"definition": {"conditions": [{"type": "segment", "segment_id": nested.id}]}},
            )
        delete_segment(ws, project_id, nested.id)
        delete_segment(ws, project_id, static.id)
        with pytest.raises(SegmentNotFoundError):
            get_segment(ws, project_id, static.id)
        with pytest.raises(SegmentError, match=r"person_ids\[1\]"):
            create_static_segment(ws, project_id, "bad", ["ok", ""], source="x")
        with pytest.raises(SegmentError, match="no segment 999"):
            create_segment(
                ws,
                project_id,
                "x",
                SegmentDefinition.model_validate(
                    {"conditions": [{"type": "segment", "segment_id": 999}]}
                ),
            )


def test_schedule_is_idempotent_and_records_errors(tmp_path: Path, metadata_url: str) -> None:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as ws:
        # A project of its own: PostgreSQL is one database for the whole session, and the job
        # runs over every project; the test asks for this one only.
        slug = "schedule-" + secrets.token_hex(4)
        project_id = ws.ensure_project(slug).id
        insert_events(ws.events(slug).con, [Ev("p0", "buy", NOW - timedelta(days=1))])
        daily = create_segment(ws, project_id, "daily", _buyers(1))
        hourly = create_segment(ws, project_id, "hourly", _buyers(1), refresh_hours=1)
        manual = create_segment(ws, project_id, "manual", _buyers(1), refresh_hours=None)
        broken = create_segment(
            ws,
            project_id,
            "broken",
            SegmentDefinition.model_validate(
                {
                    "conditions": [
                        {
                            "type": "funnel",
                            "steps": [{"event": "a"}, {"event": "b"}],
                            "step": 2,
                            "date_range": {"date_from": "last fortnight"},
                        }
                    ]
                }
            ),
        )
        create_static_segment(ws, project_id, "static", ["p0"], source="test")

        def run(at: datetime) -> list[SegmentRun]:
            return run_due(ws, at, [project_id])

        runs = run(NOW)
        assert [(r.segment_id, r.size) for r in runs] == [
            (daily.id, 1),
            (hourly.id, 1),
            (broken.id, None),
        ]
        assert runs[2].error is not None and "date_range" in runs[2].error
        state = membership(ws, broken.id)
        assert (
            state is not None and state.computed_at is None and "date_range" in (state.error or "")
        )
        assert run(NOW) == []  # the same moment again: nothing twice
        assert run(NOW + timedelta(minutes=59)) == []
        assert [r.segment_id for r in run(NOW + timedelta(hours=1))] == [hourly.id]
        later = run(NOW + timedelta(hours=24))
        assert [r.segment_id for r in later] == [daily.id, hourly.id, broken.id]
        assert [h.size for h in size_history(ws, project_id, daily.id)] == [1, 1]
        assert len(size_history(ws, project_id, hourly.id)) == 3
        assert size_history(ws, project_id, manual.id) == []
        due = [s.id for s in due_segments(ws, NOW + timedelta(days=365), [project_id])]
        assert due == [daily.id, hourly.id, broken.id]


def test_members_csv(tmp_path: Path, metadata_url: str) -> None:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as ws:
        slug = "csv-" + secrets.token_hex(4)  # PostgreSQL: one database for the session
        project_id = ws.ensure_project(slug).id
        con = ws.events(slug).con
        insert_persons(con, {"p1": {"name": "李雷", "email": "li@example.com"}, "p2": {}})
        for distinct, person in [("anon_9", "p1"), ("li", "p1"), ("p2", "p2")]:
            con.execute("INSERT INTO person_identities VALUES (?, ?, ?)", [distinct, person, BASE])
        seg = create_static_segment(ws, project_id, "csv", ["p2", "p1", "ghost"], source="test")
        rows = list(csv.reader(io.StringIO(members_csv(ws, project_id, seg.id))))
        assert rows == [
            ["person_id", "distinct_ids", "properties"],
            ["ghost", "", "{}"],
            ["p1", "anon_9;li", '{"email": "li@example.com", "name": "李雷"}'],
            ["p2", "p2", "{}"],
        ]
        assert [s.name for s in segments_of_person(ws, project_id, "p1")] == ["csv"]
        assert segments_of_person(ws, project_id, "p3") == []
