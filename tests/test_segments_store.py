"""Saved segments in the metadata database (SQLite and PostgreSQL): create, compute, history,
edit with optimistic concurrency, delete; membership against a brute-force count."""

from __future__ import annotations

from datetime import timedelta
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
from growthloop.analytics.spec import SegmentDefinition
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, insert_events

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
        project_id = ws.projects()[0].id
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
        assert (static.kind, static.source, static.refresh_hours) == ("static", "rfm:champions", None)
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
                {
                    "definition": {
                        "conditions": [{"type": "segment", "segment_id": nested.id}]
                    }
                },
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
