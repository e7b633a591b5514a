"""The weekly report's goal section: each goal whose period holds the week's Sunday, against
its target, measured by the goal trees (growthloop.ops.goals) up to that Sunday.

Only present when the project has such goals. The numbers come from the goal's own metric
binding (an overview KPI or a trends spec), so the report records the goals it read (id, name,
metric, period, target) next to its specs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from growthloop.ops.goals import Node, evaluate_tree, list_goals
from growthloop.reports.document import Finding, Kind, Section, Table, Value
from growthloop.reports.weekly_specs import Week
from growthloop.workspace import Workspace

_KINDS: dict[str, Kind] = {"gmv": "money", "aov": "money", "conversion_rate": "pct"}


def _flatten(nodes: list[Node], depth: int = 0) -> list[tuple[int, Node]]:
    out = []
    for node in nodes:
        out.append((depth, node))
        out += _flatten(node.children, depth + 1)
    return out


def _kind(node: Node) -> Kind:
    metric = node.goal.metric or {}
    return _KINDS.get(str(metric.get("name")), "int") if metric.get("kind") == "kpi" else "int"


def goal_section(
    ws: Workspace, project: str, cursor: duckdb.DuckDBPyConnection, week: Week
) -> tuple[Section, list[dict[str, Any]]] | None:
    """The goals section and the goals it read, or None when no goal's period holds the week."""
    return goal_section_at(ws, project, cursor, week.end)


def goal_section_at(
    ws: Workspace, project: str, cursor: duckdb.DuckDBPyConnection, day: date
) -> tuple[Section, list[dict[str, Any]]] | None:
    """Goals whose period holds `day`, measured up to it; None when there are none."""
    project_id = next((p.id for p in ws.projects() if p.slug == project), None)
    if project_id is None:
        return None
    goals = list_goals(ws, project_id)
    nodes = evaluate_tree(goals, cursor, day, ws.settings.tz, ws.settings.currency)
    current = [
        (depth, n)
        for depth, n in _flatten(nodes)
        if n.goal.period_start <= day <= n.goal.period_end and n.progress.actual is not None
    ]
    if not current:
        return None
    rows = []
    row_kinds: list[tuple[Kind, ...]] = []
    for depth, node in current:
        p, kind = node.progress, _kind(node)
        name = "\u3000" * depth + node.goal.name  # an ideographic space per tree level
        rows.append((name, p.target, p.actual, p.achieved, p.expected_to_date, p.pace, p.forecast))
        row_kinds.append(("text", kind, kind, "pct", kind, "pct", kind))
    paced = [(d, n) for d, n in current if n.progress.pace is not None]
    findings = []
    if paced:
        _, worst = min(paced, key=lambda dn: dn[1].progress.pace or 0.0)
        p, kind = worst.progress, _kind(worst)
        findings.append(
            Finding(
                "goal_pace",
                {
                    "goal": Value("text", worst.goal.name),
                    "actual": Value(kind, p.actual),
                    "target": Value(kind, p.target),
                    "day": Value("date", day),
                    "achieved": Value("pct", p.achieved),
                    "pace": Value("pct", p.pace),
                    "forecast": Value(kind, p.forecast),
                },
            )
        )
    on_track = sum(1 for _, n in current if n.progress.on_track)
    findings.append(
        Finding(
            "goal_summary",
            {"on_track": Value("int", on_track), "goals": Value("int", len(current))},
        )
    )
    table = Table(
        ("goal", "target", "actual", "achieved", "expected", "pace", "forecast"),
        ("text", "int", "int", "pct", "int", "pct", "int"),
        tuple(rows),
        tuple(row_kinds),
    )
    read = [
        {"id": n.goal.id, "name": n.goal.name, "metric": n.goal.metric,
         "period": [n.goal.period_start.isoformat(), n.goal.period_end.isoformat()],
         "target": n.target, "measured_to": day.isoformat()}
        for _, n in current
    ]  # fmt: skip
    return Section("goals", tuple(findings), table, ("goals",)), read
