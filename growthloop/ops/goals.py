"""Goal trees (目标拆解) in the metadata database: create, change, delete, split, evaluate.

Every change writes the audit trail in the same transaction. A node's target is entered, split
from its parent (a quarter over its months), or derived on reading when it is the one child of
a product or sum whose target is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.measure import Actual, measure, parse_metric
from growthloop.ops.models import Goal
from growthloop.ops.progress import Progress, progress
from growthloop.ops.targets import (
    GoalPeriod,
    TargetError,
    derived_target,
    months_of,
    period_of,
    split_by_days,
    split_by_weights,
    year_before,
)
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

OBJECT = "goal"
FIELDS = ("name", "period_kind", "period_start", "metric", "combine", "target", "parent_id")
COMBINES = ("product", "sum")
# GMV = visitors x conversion rate x AOV, the decomposition every e-commerce team starts from.
GMV_FACTORS = (("visitors", "visitors"), ("conversion_rate", "conversion rate"), ("aov", "AOV"))


def _check(values: dict[str, Any]) -> GoalPeriod:
    combine = values.get("combine")
    if combine is not None and combine not in COMBINES:
        raise TargetError(f"combine: {combine!r} is not product or sum")
    values["metric"] = parse_metric(values.get("metric"))
    return period_of(values["period_kind"], values["period_start"])


def _get(s: Session, project_id: int, goal_id: int) -> Goal:
    goal = s.get(Goal, goal_id)
    if goal is None or goal.project_id != project_id:
        raise audit.NotFound(f"goal_id: no goal {goal_id} in this project")
    return goal


def get_goal(ws: Workspace, project_id: int, goal_id: int) -> Goal:
    """One goal of the project; NotFound otherwise."""
    with ws.sessions() as s:
        return _get(s, project_id, goal_id)


def list_goals(ws: Workspace, project_id: int) -> list[Goal]:
    """Every goal node of the project, parents before children."""
    with ws.sessions() as s:
        goals = s.scalars(
            select(Goal).where(Goal.project_id == project_id).order_by(Goal.position, Goal.id)
        )
        return list(goals)


def _add(s: Session, project_id: int, who: Account, values: dict[str, Any]) -> Goal:
    period = _check(values)
    parent_id = values.get("parent_id")
    if parent_id is not None:
        parent = _get(s, project_id, parent_id)
        if not (parent.period_start <= period.start and period.end <= parent.period_end):
            raise TargetError(
                f"period_start: {period.start}..{period.end} lies outside the parent's period"
                f" {parent.period_start}..{parent.period_end}"
            )
    siblings = s.scalars(select(Goal.id).where(Goal.parent_id == parent_id)).all()
    goal = Goal(
        project_id=project_id,
        parent_id=parent_id,
        name=values["name"],
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        metric=values.get("metric"),
        combine=values.get("combine"),
        target=values.get("target"),
        target_source=values.get("target_source", "entered"),
        position=len(siblings),
        created_by=who.id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    s.add(goal)
    s.flush()
    audit.record(s, project_id, who, OBJECT, goal.id, "create", audit.created(goal, FIELDS))
    return goal


def create_goal(ws: Workspace, project_id: int, who: Account, values: dict[str, Any]) -> Goal:
    """A new node (a root without parent_id); TargetError/NotFound say which field is wrong."""
    with ws.sessions.begin() as s:
        return _add(s, project_id, who, dict(values))


def update_goal(
    ws: Workspace,
    project_id: int,
    who: Account,
    goal_id: int,
    version: int,
    updates: dict[str, Any],
) -> Goal:
    """Change fields of a node that is still at `version`; Conflict otherwise."""
    try:
        with ws.sessions.begin() as s:
            goal = _get(s, project_id, goal_id)
            values = {f: getattr(goal, f) for f in FIELDS} | updates
            period = _check(values)
            values.update(period_kind=period.kind, period_start=period.start)
            values["period_end"] = period.end
            if "target" in updates:
                values["target_source"] = "entered"
            values.pop("parent_id")
            changes = audit.apply_update(goal, f"goal {goal_id}", version, values)
            if changes:
                audit.record(s, project_id, who, OBJECT, goal.id, "update", changes)
            return goal
    except StaleDataError:
        raise audit.Conflict(
            f"version: goal {goal_id} was changed by someone else while you saved;"
            " reload it and apply your change again"
        ) from None


def delete_goal(ws: Workspace, project_id: int, who: Account, goal_id: int) -> int:
    """Delete a node and everything under it; the number of nodes deleted."""
    with ws.sessions.begin() as s:
        goal = _get(s, project_id, goal_id)
        doomed, frontier = [goal], [goal.id]
        while frontier:
            children = list(s.scalars(select(Goal).where(Goal.parent_id.in_(frontier))))
            doomed += children
            frontier = [c.id for c in children]
        for node in reversed(doomed):  # children first: no dangling parent_id on any engine
            gone = {f: [getattr(node, f), None] for f in FIELDS}
            audit.record(s, project_id, who, OBJECT, node.id, "delete", gone)
            s.delete(node)
            s.flush()
        return len(doomed)


def _has_children(s: Session, goal_id: int) -> bool:
    return s.scalars(select(Goal.id).where(Goal.parent_id == goal_id).limit(1)).first() is not None


def _set_combine(s: Session, project_id: int, who: Account, goal: Goal, combine: str) -> None:
    if _has_children(s, goal.id):
        raise TargetError(
            f"goal_id: goal {goal.id} is already decomposed; delete its children first"
        )
    changes = audit.apply_update(goal, f"goal {goal.id}", goal.version, {"combine": combine})
    if changes:
        audit.record(s, project_id, who, OBJECT, goal.id, "update", changes)


def decompose_gmv(ws: Workspace, project_id: int, who: Account, goal_id: int) -> list[Goal]:
    """Children visitors x conversion rate x AOV for a GMV node, for the same period."""
    with ws.sessions.begin() as s:
        goal = _get(s, project_id, goal_id)
        if goal.metric != {"kind": "kpi", "name": "gmv"}:
            raise TargetError(f"goal_id: goal {goal_id} is not bound to the GMV KPI")
        _set_combine(s, project_id, who, goal, "product")
        base = {"period_kind": goal.period_kind, "period_start": goal.period_start}
        return [
            _add(
                s,
                project_id,
                who,
                {
                    **base,
                    "name": label,
                    "parent_id": goal.id,
                    "metric": {"kind": "kpi", "name": kpi},
                },
            )
            for kpi, label in GMV_FACTORS
        ]


def channel_metric(channel: str) -> dict[str, Any]:
    """New users from one channel: people with a signup event whose channel column is it."""
    series = {"event": "signup", "math": "unique_users"}
    where = {"key": "channel", "type": "column", "operator": "=", "value": channel}
    return {"kind": "trends", "spec": {"series": [series], "filters": [where]}}


def decompose_channels(
    ws: Workspace, project_id: int, who: Account, goal_id: int, channels: list[str]
) -> list[Goal]:
    """Children of a new-users node, one per channel (events.channel of the signup), as a sum."""
    if not channels:
        raise TargetError("channels: name at least one channel (e.g. Direct, Paid Search)")
    with ws.sessions.begin() as s:
        goal = _get(s, project_id, goal_id)
        if goal.metric != {"kind": "kpi", "name": "new_users"}:
            raise TargetError(f"goal_id: goal {goal_id} is not bound to the new users KPI")
        _set_combine(s, project_id, who, goal, "sum")
        base = {"period_kind": goal.period_kind, "period_start": goal.period_start}
        return [
            _add(
                s,
                project_id,
                who,
                {**base, "name": channel, "parent_id": goal.id, "metric": channel_metric(channel)},
            )
            for channel in channels
        ]


def split_into_months(
    ws: Workspace,
    project_id: int,
    who: Account,
    goal_id: int,
    weights: list[float] | None = None,
) -> list[Goal]:
    """Month children of a quarterly node with its target split by days (or by `weights`)."""
    with ws.sessions.begin() as s:
        goal = _get(s, project_id, goal_id)
        if goal.target is None:
            raise TargetError(f"target: goal {goal_id} has no target to split")
        months = months_of(period_of(goal.period_kind, goal.period_start))
        if weights is None:
            parts = split_by_days(goal.target, months)
        else:
            parts = split_by_weights(goal.target, weights)
        _set_combine(s, project_id, who, goal, "sum")
        return [
            _add(
                s,
                project_id,
                who,
                {
                    "name": f"{goal.name} {month.start:%Y-%m}",
                    "parent_id": goal.id,
                    "period_kind": "month",
                    "period_start": month.start,
                    "metric": goal.metric,
                    "target": part,
                    "target_source": "split",
                },
            )
            for month, part in zip(months, parts, strict=True)
        ]


def last_year_shape(
    cursor: duckdb.DuckDBPyConnection, goal: Goal, tz: ZoneInfo, currency: str
) -> list[float]:
    """The node's metric in each month of the same quarter one year earlier."""
    if goal.metric is None:
        raise TargetError(f"metric: goal {goal.id} is bound to no metric, so it has no history")
    earlier = year_before(period_of(goal.period_kind, goal.period_start))
    shape = []
    for month in months_of(earlier):
        got = measure(cursor, goal.metric, month, month.end, tz, currency)
        shape.append(got.value if got and got.value else 0.0)
    if sum(shape) <= 0:
        raise TargetError(
            f"by: no data for last year's months {earlier.start}..{earlier.end}; split by days"
        )
    return shape


@dataclass
class Node:
    """A goal with its live progress and its children, for the tree view."""

    goal: Goal
    target: float | None
    target_source: str
    progress: Progress
    children: list[Node] = field(default_factory=list)


def evaluate_tree(
    goals: list[Goal],
    cursor: duckdb.DuckDBPyConnection,
    as_of: date,
    tz: ZoneInfo,
    currency: str,
) -> list[Node]:
    """Roots with nested children, each measured up to `as_of`, missing targets derived."""
    kids: dict[int | None, list[Goal]] = {}
    for g in goals:
        kids.setdefault(g.parent_id, []).append(g)

    def build(goal: Goal, target: float | None, source: str) -> Node:
        period = period_of(goal.period_kind, goal.period_start)
        actual: Actual | None = None
        if goal.metric is not None:
            actual = measure(cursor, goal.metric, period, as_of, tz, currency)
        node = Node(goal, target, source, progress(actual, target, period, as_of))
        children = kids.get(goal.id, [])
        missing = [c for c in children if c.target is None]
        derived: float | None = None
        if goal.combine and target is not None and len(missing) == 1:
            known = [c.target for c in children if c.target is not None]
            try:
                derived = derived_target(goal.combine, target, known)
            except TargetError:
                derived = None
        for child in children:
            if child.target is not None:
                node.children.append(build(child, child.target, child.target_source))
            else:
                node.children.append(build(child, derived, "derived" if derived else "none"))
        return node

    return [build(g, g.target, g.target_source) for g in kids.get(None, [])]
