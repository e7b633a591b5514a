"""Monthly operations plans (月度运营规划表): strategy directions with their action items.

Every create, change and delete writes the audit trail; changes carry the version they started
from. An action is overdue when its due date has passed and it is not done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.models import Campaign, Goal, PlanAction, PlanStrategy
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

STATUSES = ("todo", "doing", "done", "blocked")
STRATEGY_FIELDS = ("month", "title", "description")
ACTION_FIELDS = ("title", "owner", "due", "status", "goal_id", "campaign_id", "content_ref")


@dataclass(frozen=True)
class StrategyView:
    """A strategy with its actions in order."""

    strategy: PlanStrategy
    actions: list[PlanAction]


def is_overdue(action: PlanAction, today: date) -> bool:
    """Due before `today` and not done."""
    return action.due is not None and action.due < today and action.status != "done"


def month_start(month: date) -> date:
    """The first day of the month of `month`."""
    return month.replace(day=1)


def _strategy(s: Session, project_id: int, strategy_id: int) -> PlanStrategy:
    found = s.get(PlanStrategy, strategy_id)
    if found is None or found.project_id != project_id:
        raise audit.NotFound(f"strategy_id: no strategy {strategy_id} in this project")
    return found


def _action(s: Session, project_id: int, action_id: int) -> tuple[PlanAction, PlanStrategy]:
    found = s.get(PlanAction, action_id)
    if found is None:
        raise audit.NotFound(f"action_id: no action {action_id} in this project")
    strategy = s.get(PlanStrategy, found.strategy_id)
    if strategy is None or strategy.project_id != project_id:
        raise audit.NotFound(f"action_id: no action {action_id} in this project")
    return found, strategy


def check_links(s: Session, project_id: int, values: dict[str, Any]) -> None:
    """Status is known and linked goal/campaign exist in the project; TargetError otherwise."""
    if values.get("status", "todo") not in STATUSES:
        raise TargetError(f"status: {values['status']!r} is not one of {', '.join(STATUSES)}")
    goal_id, campaign_id = values.get("goal_id"), values.get("campaign_id")
    if goal_id is not None:
        goal = s.get(Goal, goal_id)
        if goal is None or goal.project_id != project_id:
            raise TargetError(f"goal_id: no goal {goal_id} in this project")
    if campaign_id is not None:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.project_id != project_id:
            raise TargetError(f"campaign_id: no campaign {campaign_id} in this project")


def plan_of(ws: Workspace, project_id: int, month: date) -> list[StrategyView]:
    """The month's strategies, each with its actions."""
    with ws.sessions() as s:
        strategies = list(
            s.scalars(
                select(PlanStrategy)
                .where(
                    PlanStrategy.project_id == project_id, PlanStrategy.month == month_start(month)
                )
                .order_by(PlanStrategy.position, PlanStrategy.id)
            )
        )
        out = []
        for st in strategies:
            actions = s.scalars(
                select(PlanAction)
                .where(PlanAction.strategy_id == st.id)
                .order_by(PlanAction.position, PlanAction.id)
            )
            out.append(StrategyView(st, list(actions)))
        return out


def add_strategy(
    s: Session, project_id: int, who: Account, month: date, title: str, description: str = ""
) -> PlanStrategy:
    """A new strategy at the end of the month's plan (inside the caller's transaction)."""
    first = month_start(month)
    count = len(
        s.scalars(
            select(PlanStrategy.id).where(
                PlanStrategy.project_id == project_id, PlanStrategy.month == first
            )
        ).all()
    )
    st = PlanStrategy(
        project_id=project_id,
        month=first,
        title=title,
        description=description,
        position=count,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    s.add(st)
    s.flush()
    audit.record(
        s, project_id, who, "strategy", st.id, "create", audit.created(st, STRATEGY_FIELDS)
    )
    return st


def add_action(
    s: Session, project_id: int, who: Account, strategy: PlanStrategy, values: dict[str, Any]
) -> PlanAction:
    """A new action at the end of a strategy (inside the caller's transaction)."""
    check_links(s, project_id, values)
    count = len(s.scalars(select(PlanAction.id).where(PlanAction.strategy_id == strategy.id)).all())
    action = PlanAction(
        strategy_id=strategy.id,
        title=values["title"],
        owner=values.get("owner") or "",
        due=values.get("due"),
        status=values.get("status") or "todo",
        goal_id=values.get("goal_id"),
        campaign_id=values.get("campaign_id"),
        content_ref=values.get("content_ref") or "",
        position=count,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    s.add(action)
    s.flush()
    audit.record(
        s, project_id, who, "action", action.id, "create", audit.created(action, ACTION_FIELDS)
    )
    return action


def create_strategy(
    ws: Workspace, project_id: int, who: Account, month: date, title: str, description: str = ""
) -> PlanStrategy:
    """A new strategy direction in the month's plan."""
    with ws.sessions.begin() as s:
        return add_strategy(s, project_id, who, month, title, description)


def create_action(
    ws: Workspace, project_id: int, who: Account, strategy_id: int, values: dict[str, Any]
) -> PlanAction:
    """A new action item under a strategy."""
    with ws.sessions.begin() as s:
        return add_action(s, project_id, who, _strategy(s, project_id, strategy_id), values)


def _stale(what: str) -> audit.Conflict:
    return audit.Conflict(
        f"version: {what} was changed by someone else while you saved; reload and apply your"
        " change again"
    )


def update_strategy(
    ws: Workspace,
    project_id: int,
    who: Account,
    strategy_id: int,
    version: int,
    updates: dict[str, Any],
) -> PlanStrategy:
    """Rename or describe a strategy still at `version`."""
    try:
        with ws.sessions.begin() as s:
            st = _strategy(s, project_id, strategy_id)
            changes = audit.apply_update(st, f"strategy {strategy_id}", version, updates)
            if changes:
                audit.record(s, project_id, who, "strategy", st.id, "update", changes)
            return st
    except StaleDataError:
        raise _stale(f"strategy {strategy_id}") from None


def update_action(
    ws: Workspace,
    project_id: int,
    who: Account,
    action_id: int,
    version: int,
    updates: dict[str, Any],
) -> PlanAction:
    """Change an action still at `version` (status, owner, due date, links...)."""
    try:
        with ws.sessions.begin() as s:
            action, _ = _action(s, project_id, action_id)
            check_links(s, project_id, {f: getattr(action, f) for f in ACTION_FIELDS} | updates)
            changes = audit.apply_update(action, f"action {action_id}", version, updates)
            if changes:
                audit.record(s, project_id, who, "action", action.id, "update", changes)
            return action
    except StaleDataError:
        raise _stale(f"action {action_id}") from None


def _drop_action(s: Session, project_id: int, who: Account, action: PlanAction) -> None:
    gone = {f: [getattr(action, f), None] for f in ACTION_FIELDS}
    audit.record(s, project_id, who, "action", action.id, "delete", gone)
    s.delete(action)


def delete_action(ws: Workspace, project_id: int, who: Account, action_id: int) -> None:
    """Delete one action item."""
    with ws.sessions.begin() as s:
        action, _ = _action(s, project_id, action_id)
        _drop_action(s, project_id, who, action)


def drop_strategy(s: Session, project_id: int, who: Account, st: PlanStrategy) -> None:
    """Delete a strategy and its actions (inside the caller's transaction)."""
    for action in s.scalars(select(PlanAction).where(PlanAction.strategy_id == st.id)):
        _drop_action(s, project_id, who, action)
    s.flush()
    gone = {f: [getattr(st, f), None] for f in STRATEGY_FIELDS}
    audit.record(s, project_id, who, "strategy", st.id, "delete", gone)
    s.execute(delete(PlanStrategy).where(PlanStrategy.id == st.id))


def delete_strategy(ws: Workspace, project_id: int, who: Account, strategy_id: int) -> None:
    """Delete a strategy with its actions."""
    with ws.sessions.begin() as s:
        drop_strategy(s, project_id, who, _strategy(s, project_id, strategy_id))
