"""Identity: anonymous ids merged into logged-in persons by $identify, alias and an import column;
person properties from $set / $set_once; sessions. Checked against a brute-force reference."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from growthloop.ingest.files import import_files
from growthloop.workspace import Workspace

T0 = datetime(2026, 5, 1, 0, 0)


def ev(event: str, distinct_id: str, minutes: float, **props: object) -> dict[str, object]:
    ts = (T0 + timedelta(minutes=minutes)).isoformat() + "Z"
    return {"event": event, "distinct_id": distinct_id, "timestamp": ts, "properties": props}


def load(ws: Workspace, tmp_path: Path, name: str, rows: list[dict[str, object]]) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    import_files(ws, "events", [path])


def persons_of(ws: Workspace) -> dict[str, str]:
    return dict(
        ws.events().con.execute("SELECT distinct_id, person_id FROM person_identities").fetchall()
    )


def test_identify_merges_anonymous_history(workspace: Workspace, tmp_path: Path) -> None:
    load(workspace, tmp_path, "a", [ev("$pageview", "anon_a", 0), ev("$pageview", "anon_a", 5)])
    assert persons_of(workspace) == {"anon_a": "anon_a"}
    load(
        workspace,
        tmp_path,
        "b",
        [
            ev(
                "$identify",
                "user_1",
                10,
                **{"$anon_distinct_id": "anon_a", "$set": {"city": "上海"}},
            ),
            ev("purchase", "user_1", 12),
        ],
    )
    assert persons_of(workspace) == {"anon_a": "user_1", "user_1": "user_1"}
    con = workspace.events().con
    # The anonymous events stored earlier now belong to the logged-in person.
    assert con.execute("SELECT DISTINCT person_id FROM events").fetchall() == [("user_1",)]
    assert con.execute(
        "SELECT person_id, is_identified, properties->>'city' FROM persons"
    ).fetchall() == [("user_1", True, "上海")]


def test_identify_never_joins_two_logged_in_users(workspace: Workspace, tmp_path: Path) -> None:
    load(
        workspace,
        tmp_path,
        "a",
        [
            ev("$identify", "user_1", 0, **{"$anon_distinct_id": "device_x"}),
            # Same device, another user logs in: PostHog does not merge the two users.
            ev("$identify", "user_2", 60, **{"$anon_distinct_id": "device_x"}),
        ],
    )
    assert persons_of(workspace) == {"device_x": "user_1", "user_1": "user_1", "user_2": "user_2"}


def test_alias_and_import_column_merge(workspace: Workspace, tmp_path: Path) -> None:
    load(workspace, tmp_path, "a", [ev("$create_alias", "user_1", 0, alias="crm_77")])
    path = tmp_path / "b.csv"
    path.write_text(
        "event,distinct_id,timestamp,user_id\nview,app_dev_9,2026-05-02 10:00:00,crm_77\n"
        "view,app_dev_9,2026-05-02 10:05:00,\n"
    )
    import_files(workspace, "events", [path])
    ids = persons_of(workspace)
    assert ids["crm_77"] == ids["app_dev_9"] == ids["user_1"] == "user_1"


def test_set_once_keeps_first_and_set_keeps_latest(workspace: Workspace, tmp_path: Path) -> None:
    load(
        workspace,
        tmp_path,
        "a",
        [
            ev("e", "u", 0, **{"$set": {"plan": "free"}, "$set_once": {"source": "baidu"}}),
            ev("e", "u", 1, **{"$set": {"plan": "pro"}, "$set_once": {"source": "douyin"}}),
        ],
    )
    load(workspace, tmp_path, "b", [ev("e", "u", 2, **{"$set_once": {"source": "zhihu", "x": 1}})])
    props = workspace.events().con.execute("SELECT properties FROM persons").fetchone()
    assert props is not None
    assert json.loads(props[0]) == {"plan": "pro", "source": "baidu", "x": 1}


def _reference_persons(rows: list[tuple[str, str, str | None]]) -> dict[str, str]:
    """Brute force: replay (kind, distinct_id, other) in order with plain dicts of sets."""
    person: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    identified: set[str] = set()

    def get(d: str) -> str:
        if d not in person:
            person[d] = d
            members[d] = {d}
        return person[d]

    for kind, d, other in rows:
        get(d)
        if kind == "$identify":
            identified.add(person[d])
        if other is None:
            continue
        pa_, pb = get(other), person[d]
        if pa_ == pb or (kind == "$identify" and pa_ in identified):
            continue
        for m in members.pop(pa_):
            person[m] = pb
            members[pb].add(m)
        identified.add(pb)
    return person


def test_random_identity_graphs_match_reference(workspace: Workspace, tmp_path: Path) -> None:
    rng = random.Random(7)
    rows: list[dict[str, object]] = []
    replay: list[tuple[str, str, str | None]] = []
    ids = [f"anon_{i}" for i in range(40)] + [f"user_{i}" for i in range(15)]
    for n in range(400):
        kind = rng.choice(["view", "view", "$identify", "$create_alias"])
        d = rng.choice(ids[40:] if kind != "view" else ids)
        other = rng.choice(ids) if kind != "view" else None
        props = (
            {"$anon_distinct_id": other}
            if kind == "$identify"
            else {"alias": other}
            if other
            else {}
        )
        rows.append(ev(kind, d, n, **props))
        replay.append((kind, d, other))
    # Load in three batches: merges must also rewrite what earlier batches stored.
    for k, part in enumerate((rows[:130], rows[130:260], rows[260:])):
        load(workspace, tmp_path, f"p{k}", part)
    expected = _reference_persons(replay)
    assert persons_of(workspace) == expected
    con = workspace.events().con
    stamped = dict(con.execute("SELECT DISTINCT distinct_id, person_id FROM events").fetchall())
    assert stamped == {d: expected[d] for d in stamped}
    assert {r[0] for r in con.execute("SELECT person_id FROM persons").fetchall()} == set(
        expected.values()
    )


def test_sessions_split_on_30_minute_gaps_across_batches(
    workspace: Workspace, tmp_path: Path
) -> None:
    minutes = [0, 10, 39, 70, 71, 200]
    load(workspace, tmp_path, "a", [ev("v", "u", m) for m in minutes[:3]])
    load(workspace, tmp_path, "b", [ev("v", "u", m) for m in minutes[3:]])
    got = (
        workspace.events()
        .con.execute("SELECT session_id FROM events ORDER BY timestamp")
        .fetchall()
    )
    sessions = [g[0] for g in got]
    # gaps: 10, 29, 31 (new), 1, 129 (new) -> three sessions; the second batch continues none
    assert sessions[0] == sessions[1] == sessions[2]
    assert sessions[3] == sessions[4] != sessions[2]
    assert sessions[5] not in (sessions[0], sessions[3])
    load(workspace, tmp_path, "c", [ev("v", "u", 215)])
    last = (
        workspace.events()
        .con.execute("SELECT session_id FROM events ORDER BY timestamp DESC LIMIT 1")
        .fetchone()
    )
    assert last is not None and last[0] == sessions[5]  # continues the stored session


def test_a_repeated_identify_in_one_import_is_not_applied(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The second row with a uuid is left out, and so are its identity link and `$set`."""
    uuid = "0190f5a2-0000-7000-8000-000000000001"
    first = ev("$identify", "user_1", 10, **{"$anon_distinct_id": "anon_a", "$set": {"tier": 1}})
    again = ev("$identify", "user_1", 11, **{"$anon_distinct_id": "anon_b", "$set": {"tier": 2}})
    rows = [dict(first, uuid=uuid), ev("$pageview", "anon_b", 1), dict(again, uuid=uuid)]
    load(workspace, tmp_path, "dup", rows)
    assert persons_of(workspace) == {"anon_a": "user_1", "anon_b": "anon_b", "user_1": "user_1"}
    tier = workspace.events().con.execute(
        "SELECT properties->>'tier' FROM persons WHERE person_id = 'user_1'"
    )
    assert tier.fetchall() == [("1",)]
