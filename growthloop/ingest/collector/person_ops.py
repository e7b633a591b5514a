"""Person updates that are not $set / $set_once: Sensors' profile_increment, profile_append,
profile_unset and profile_delete.

They arrive as events ($profile_increment with {"$increment": {...}}, ...) and are stored like
any other; then each one not yet applied is applied to its person, in time order, and marked
applied in the same transaction (table collector_person_ops). So a crash or a replay of the
spool never applies one twice.
"""

from __future__ import annotations

import json
from typing import Any

from growthloop.store.events import EventStore

EVENTS = {
    "$profile_increment": "$increment",
    "$profile_append": "$append",
    "$profile_unset": "$unset",
    "$profile_delete": "$delete",
}
_MARKS = "collector_person_ops"


def apply_pending(store: EventStore) -> int:
    """Apply every stored person operation not applied yet; returns how many were applied."""
    con = store.con
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {_MARKS} (uuid UUID PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    names = list(EVENTS)
    with store.transaction():
        rows = con.execute(
            f"""SELECT e.uuid, e.person_id, e.event, CAST(e.properties AS VARCHAR)
                FROM events e ANTI JOIN {_MARKS} m ON m.uuid = e.uuid
                WHERE e.event IN (?, ?, ?, ?)
                ORDER BY e.timestamp, e.uuid""",
            names,
        ).fetchall()
        if not rows:
            return 0
        people = sorted({r[1] for r in rows})
        current = dict(
            con.execute(
                "SELECT person_id, CAST(properties AS VARCHAR) FROM persons"
                " WHERE list_contains(?, person_id)",
                [people],
            ).fetchall()
        )
        state = {p: json.loads(current.get(p) or "{}") for p in people}
        for _, person, event, properties in rows:
            apply(state[person], EVENTS[event], json.loads(properties or "{}").get(EVENTS[event]))
        con.executemany(
            "UPDATE persons SET properties = CAST(? AS JSON), updated_at = timezone('UTC', now())"
            " WHERE person_id = ?",
            [[json.dumps(props, ensure_ascii=False), p] for p, props in state.items()],
        )
        con.executemany(
            f"INSERT INTO {_MARKS} VALUES (?, timezone('UTC', now()))", [[r[0]] for r in rows]
        )
    return len(rows)


def apply(props: dict[str, Any], op: str, value: Any) -> None:
    """One operation on a person's properties, in place (Sensors' semantics)."""
    if op == "$increment" and isinstance(value, dict):
        for key, amount in value.items():
            old = props.get(key)
            base = old if isinstance(old, int | float) and not isinstance(old, bool) else 0
            props[key] = base + amount
    elif op == "$append" and isinstance(value, dict):
        for key, items in value.items():
            old = props.get(key)
            props[key] = [*(old if isinstance(old, list) else []), *items]
    elif op == "$unset" and isinstance(value, list):
        for key in value:
            props.pop(key, None)
    elif op == "$delete":
        props.clear()
