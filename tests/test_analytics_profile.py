"""User profile: a person found by any of their ids, with properties and timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from growthloop.analytics import parse_spec, run_analysis
from growthloop.analytics.context import QueryContext
from growthloop.analytics.profile import ProfileResult
from growthloop.analytics.validation import SpecError
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, insert_events, insert_persons


def test_profile_by_anonymous_id(workspace: Workspace) -> None:
    con = workspace.events().con
    insert_persons(con, {"u_000123": {"city": "Hangzhou", "age_group": "25-34"}})
    for distinct_id in ("anon_ab12", "u_000123"):
        con.execute("INSERT INTO person_identities VALUES (?, 'u_000123', ?)", [distinct_id, BASE])
    events = [
        Ev("u_000123", "$pageview", BASE + timedelta(minutes=m), {"platform": "iOS"})
        for m in range(5)
    ]
    events.append(Ev("someone_else", "$pageview", BASE))
    insert_events(con, events)
    ctx = QueryContext(
        QueryContext.for_workspace(workspace).backend,
        ZoneInfo("Asia/Shanghai"),
        BASE + timedelta(days=1),
    )
    result = run_analysis(parse_spec({"kind": "profile", "person": "anon_ab12", "limit": 3}), ctx)
    assert isinstance(result, ProfileResult)
    assert result.person_id == "u_000123"
    assert result.properties == {"city": "Hangzhou", "age_group": "25-34"}
    assert result.distinct_ids == ("anon_ab12", "u_000123")
    assert result.event_count == 5
    assert result.first_seen == datetime(2024, 3, 4, 8, 0)  # Shanghai wall time
    assert [e.timestamp.minute for e in result.events] == [4, 3, 2]
    assert result.events[0].properties == {"platform": "iOS"}
    with pytest.raises(SpecError, match="no person or events for 'nobody'"):
        run_analysis(parse_spec({"kind": "profile", "person": "nobody"}), ctx)
