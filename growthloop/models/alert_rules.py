"""Stored alert rules (数据异常告警): create, read, change and delete, with the audit trail.

A stored rule becomes a `growthloop.models.alerts.AlertRule` for evaluation; every value is
checked by building that rule (its messages name what is wrong) plus the metric's name.
Secrets of robot destinations are stored but never shown: `rule_out` says only whether one is set.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from growthloop.accounts import Account
from growthloop.analytics.kpis import KPI_NAMES
from growthloop.models.alert_rules_models import AlertDelivery, AlertRuleRow
from growthloop.models.alerts import AlertRule, Destination
from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.ops import audit
from growthloop.workspace import Workspace

EVENTS = "events"
METRICS = (EVENTS, *KPI_NAMES)
SEVERITIES = ("low", "medium", "high")
DIRECTIONS = ("drop", "spike", "any")
FIELDS = (
    "name",
    "metric",
    "event",
    "condition",
    "threshold",
    "min_severity",
    "direction",
    "destinations",
    "enabled",
)
OBJECT = "alert_rule"


def as_rule(values: dict[str, Any]) -> AlertRule:
    """The evaluable rule; ModelInputError naming the first bad value."""
    name = str(values.get("name") or "").strip()
    if not 1 <= len(name) <= 200:
        raise ModelInputError(
            BAD_PARAMETER.format(name="name", rule="1 to 200 characters", value=repr(name))
        )
    metric = values.get("metric")
    if metric not in METRICS:
        raise ModelInputError(
            BAD_PARAMETER.format(name="metric", rule=f"one of {list(METRICS)}", value=repr(metric))
        )
    if values.get("event") and metric != EVENTS:
        raise ModelInputError(
            BAD_PARAMETER.format(name="event", rule="only set with metric 'events'", value=metric)
        )
    for field, allowed in (("min_severity", SEVERITIES), ("direction", DIRECTIONS)):
        if values.get(field) not in allowed:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name=field, rule=f"one of {list(allowed)}", value=repr(values.get(field))
                )
            )
    raw = values.get("destinations") or []
    destinations = tuple(
        Destination(str(d.get("kind")), str(d.get("target", "")), d.get("secret") or None)
        for d in raw
    )
    return AlertRule(
        name,
        str(metric),
        values.get("condition"),  # type: ignore[arg-type]  # checked by AlertRule
        destinations,
        values.get("threshold"),
        values["min_severity"],
        values["direction"],
    )


def rule_of(row: AlertRuleRow) -> AlertRule:
    """A stored rule, ready to evaluate."""
    return as_rule({f: getattr(row, f) for f in FIELDS})


def rule_out(row: AlertRuleRow) -> dict[str, Any]:
    """A stored rule for the API and pages: secrets shown only as set or not."""
    return {
        "id": row.id,
        **{f: getattr(row, f) for f in FIELDS if f != "destinations"},
        "destinations": [
            {"kind": d["kind"], "target": d["target"], "secret_set": bool(d.get("secret"))}
            for d in row.destinations
        ],
        "last_checked_at": row.last_checked_at,
        "last_error": row.last_error,
        "version": row.version,
        "created_at": row.created_at,
    }


def _redacted(changes: dict[str, Any]) -> dict[str, Any]:
    """Audit changes without destination secrets."""
    out = dict(changes)
    if "destinations" in out:
        out["destinations"] = [
            None if v is None else [{k: x for k, x in d.items() if k != "secret"} for d in v]
            for v in out["destinations"]
        ]
    return out


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, destinations as plain dicts; checked by building the rule."""
    out = {
        "event": None,
        "threshold": None,
        "min_severity": "medium",
        "direction": "any",
        "enabled": True,
        **values,
    }
    out["destinations"] = [
        {
            "kind": d["kind"],
            "target": d["target"],
            **({"secret": d["secret"]} if d.get("secret") else {}),
        }
        for d in out.get("destinations") or []
    ]
    out["name"] = str(out.get("name") or "").strip()
    as_rule(out)
    return {f: out[f] for f in FIELDS}


def list_rules(ws: Workspace, project_id: int) -> list[AlertRuleRow]:
    """The project's rules, oldest first."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(AlertRuleRow)
                .where(AlertRuleRow.project_id == project_id)
                .order_by(AlertRuleRow.id)
            )
        )


def get_rule(ws: Workspace, project_id: int, rule_id: int) -> AlertRuleRow:
    """One rule; audit.NotFound when the project has no such rule."""
    with ws.sessions() as s:
        row = s.get(AlertRuleRow, rule_id)
        if row is None or row.project_id != project_id:
            raise audit.NotFound(f"alert rule {rule_id}: no such rule in this project")
        return row


def create_rule(
    ws: Workspace, project_id: int, who: Account | None, values: dict[str, Any]
) -> AlertRuleRow:
    """A new rule; ModelInputError for a bad value."""
    clean = _clean(values)
    with ws.sessions.begin() as s:
        row = AlertRuleRow(project_id=project_id, created_by=who.id if who else None, **clean)
        s.add(row)
        s.flush()
        audit.record(
            s, project_id, who, OBJECT, row.id, "create", _redacted(audit.created(row, FIELDS))
        )
        return row


def update_rule(
    ws: Workspace,
    project_id: int,
    who: Account | None,
    rule_id: int,
    version: int,
    updates: dict[str, Any],
) -> AlertRuleRow:
    """Change a rule that is still at `version` (audit.Conflict otherwise)."""
    with ws.sessions.begin() as s:
        row = s.get(AlertRuleRow, rule_id)
        if row is None or row.project_id != project_id:
            raise audit.NotFound(f"alert rule {rule_id}: no such rule in this project")
        merged = _clean({**{f: getattr(row, f) for f in FIELDS}, **updates})
        changes = audit.apply_update(
            row, f"alert rule {rule_id}", version, {k: merged[k] for k in updates}
        )
        if changes:
            audit.record(s, project_id, who, OBJECT, row.id, "update", _redacted(changes))
        s.flush()
        return row


def delete_rule(ws: Workspace, project_id: int, who: Account | None, rule_id: int) -> None:
    """Delete a rule and its delivery log."""
    with ws.sessions.begin() as s:
        row = s.get(AlertRuleRow, rule_id)
        if row is None or row.project_id != project_id:
            raise audit.NotFound(f"alert rule {rule_id}: no such rule in this project")
        s.execute(delete(AlertDelivery).where(AlertDelivery.rule_id == rule_id))
        audit.record(s, project_id, who, OBJECT, row.id, "delete", {"name": [row.name, None]})
        s.delete(row)


def deliveries(ws: Workspace, rule_id: int, limit: int = 100) -> list[AlertDelivery]:
    """A rule's deliveries, latest day first."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(AlertDelivery)
                .where(AlertDelivery.rule_id == rule_id)
                .order_by(AlertDelivery.day.desc())
                .limit(limit)
            )
        )
