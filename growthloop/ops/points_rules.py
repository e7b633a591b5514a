"""Points rules: which event earns how many points, and the awards a list of events earns.

A rule gives `points` per event, or, with `per_amount`, `points` per whole `per_amount` of an
amount (the events.revenue column, or any numeric event property): 1 point per 1 CNY, 10 points
per 100 CNY. `once` earns at most once per person ever; `daily_cap` caps the points the rule gives
a person per day in the project time zone; `validity_days` makes the points expire that many
days after the event. Each award's idempotency key is the rule id plus the event uuid (or plus
the person for a once-rule), so replaying events never earns twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from growthloop.ops.audit import Conflict, NotFound
from growthloop.ops.points_ledger import PointsError
from growthloop.ops.points_models import PointsRule
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

FIELDS = (
    "name",
    "event",
    "points",
    "per_amount",
    "amount_property",
    "once",
    "daily_cap",
    "validity_days",
    "active",
)


@dataclass(frozen=True)
class Candidate:
    """What one event would earn under one rule, before caps and the idempotency check."""

    person_id: str
    rule_id: int
    key: str
    points: int
    at: datetime
    event_uuid: str
    expires_at: datetime | None
    daily_cap: int | None


def _check(values: dict[str, Any]) -> dict[str, Any]:
    """Named checks with messages that say which field is wrong."""
    out = dict(values)
    name = str(out.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise PointsError("name: 1 to 100 characters")
    event = str(out.get("event", "")).strip()
    if not 1 <= len(event) <= 200:
        raise PointsError("event: the event name that earns points (1 to 200 characters)")
    points = out.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= 1_000_000:
        raise PointsError(f"points: a whole number from 1 to 1000000, got {points!r}")
    per = out.get("per_amount")
    if per is not None:
        try:
            per = Decimal(str(per))
        except InvalidOperation:
            raise PointsError(f"per_amount: not a number: {per!r}") from None
        if per <= 0:
            raise PointsError(f"per_amount: must be above 0, got {per}")
    for field, top in (("daily_cap", 10**9), ("validity_days", 36500)):
        value = out.get(field)
        if value is not None and (not isinstance(value, int) or not 1 <= value <= top):
            raise PointsError(f"{field}: empty or a whole number from 1 to {top}, got {value!r}")
    prop = str(out.get("amount_property") or "revenue").strip()
    out.update(name=name, event=event, per_amount=per, amount_property=prop)
    out["once"] = bool(out.get("once", False))
    out["active"] = bool(out.get("active", True))
    return out


def list_rules(ws: Workspace, project_id: int, *, active_only: bool = False) -> list[PointsRule]:
    with ws.sessions() as session:
        query = select(PointsRule).where(PointsRule.project_id == project_id)
        if active_only:
            query = query.where(PointsRule.active.is_(True))
        return list(session.scalars(query.order_by(PointsRule.id)))


def create_rule(ws: Workspace, project_id: int, values: dict[str, Any]) -> PointsRule:
    checked = _check(values)
    with ws.sessions.begin() as session:
        if session.scalar(
            select(PointsRule.id).where(
                PointsRule.project_id == project_id, PointsRule.name == checked["name"]
            )
        ):
            raise PointsError(f"name: a rule named {checked['name']!r} already exists")
        rule = PointsRule(project_id=project_id, **{f: checked.get(f) for f in FIELDS})
        session.add(rule)
        session.flush()
        return rule


def update_rule(
    ws: Workspace, project_id: int, rule_id: int, version: int, changes: dict[str, Any]
) -> PointsRule:
    """Change a rule; `version` is the one the edit started from (a newer one is a conflict)."""
    with ws.sessions.begin() as session:
        rule = session.get(PointsRule, rule_id)
        if rule is None or rule.project_id != project_id:
            raise NotFound(f"points rule {rule_id} not found")
        if rule.version != version:
            raise Conflict(f"points rule {rule_id} changed since version {version}; reload it")
        merged = _check({**{f: getattr(rule, f) for f in FIELDS}, **changes})
        for field in FIELDS:
            setattr(rule, field, merged[field])
        rule.updated_at = utcnow()
        session.flush()
        return rule


def amount_of(rule: PointsRule, revenue: Any, properties: dict[str, Any]) -> Decimal | None:
    """The amount a per-amount rule reads from an event, None when it has none."""
    raw = properties.get(rule.amount_property)
    if rule.amount_property == "revenue" and revenue is not None:
        raw = revenue
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def points_for(rule: PointsRule, revenue: Any, properties: dict[str, Any]) -> int:
    """Points one event earns under a rule, before the daily cap."""
    if rule.per_amount is None:
        return rule.points
    amount = amount_of(rule, revenue, properties)
    if amount is None or amount <= 0:
        return 0
    return int(amount // Decimal(rule.per_amount)) * rule.points


def candidates(rules: list[PointsRule], rows: list[tuple[Any, ...]]) -> list[Candidate]:
    """Awards of event rows (uuid, event, person_id, timestamp, revenue, properties JSON),
    in event time order (then uuid, then rule), which is the order caps are applied in."""
    by_event: dict[str, list[PointsRule]] = {}
    for rule in rules:
        if rule.active:
            by_event.setdefault(rule.event, []).append(rule)
    out = []
    for uuid, event, person, ts, revenue, props in sorted(rows, key=lambda r: (r[3], str(r[0]))):
        for rule in by_event.get(event, []):
            properties = json.loads(props) if isinstance(props, str) else (props or {})
            points = points_for(rule, revenue, properties if isinstance(properties, dict) else {})
            if points <= 0:
                continue
            key = f"rule:{rule.id}:once:{person}" if rule.once else f"rule:{rule.id}:{uuid}"
            expires = ts + timedelta(days=rule.validity_days) if rule.validity_days else None
            out.append(
                Candidate(person, rule.id, key, points, ts, str(uuid), expires, rule.daily_cap)
            )
    return out
