"""Saved insights and dashboards in the metadata database (API routes and pages call these).

Insights belong to a project and are visible to everyone in it. A dashboard is visible to its
owner, and to everyone in the project once shared; only its owner or an admin changes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select

from growthloop.accounts import Account, Role
from growthloop.store.metadata import Dashboard, DashboardItem, SavedInsight, utcnow
from growthloop.web.insights import spec_adapter
from growthloop.workspace import Workspace


class NotFound(LookupError):
    """No such object in the project (or not visible to the user); the message names it."""


class NotOwner(PermissionError):
    """The dashboard belongs to someone else."""


def list_insights(ws: Workspace, project_id: int) -> list[SavedInsight]:
    """The project's saved insights, oldest first."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(SavedInsight)
                .where(SavedInsight.project_id == project_id)
                .order_by(SavedInsight.id)
            )
        )


def get_insight(ws: Workspace, project_id: int, insight_id: int) -> SavedInsight:
    """One insight of the project; NotFound otherwise."""
    with ws.sessions() as s:
        insight = s.get(SavedInsight, insight_id)
    if insight is None or insight.project_id != project_id:
        raise NotFound(f"insight_id: no insight {insight_id} in this project")
    return insight


def save_insight(
    ws: Workspace, project_id: int, owner: Account, name: str, spec: dict[str, Any]
) -> SavedInsight:
    """Validate a spec (pydantic ValidationError when wrong) and store it under a name."""
    clean = spec_adapter.validate_python(spec).model_dump(mode="json")
    with ws.sessions.begin() as s:
        insight = SavedInsight(project_id=project_id, owner_id=owner.id, name=name, spec=clean)
        s.add(insight)
        s.flush()
        return insight


def update_insight(
    ws: Workspace,
    project_id: int,
    insight_id: int,
    name: str | None = None,
    spec: dict[str, Any] | None = None,
) -> SavedInsight:
    """Rename an insight or replace its (validated) spec."""
    get_insight(ws, project_id, insight_id)
    with ws.sessions.begin() as s:
        insight = s.get_one(SavedInsight, insight_id)
        if name is not None:
            insight.name = name
        if spec is not None:
            insight.spec = spec_adapter.validate_python(spec).model_dump(mode="json")
        insight.updated_at = utcnow()
        return insight


def delete_insight(ws: Workspace, project_id: int, insight_id: int) -> None:
    """Delete an insight and every pin of it."""
    get_insight(ws, project_id, insight_id)
    with ws.sessions.begin() as s:
        s.execute(delete(DashboardItem).where(DashboardItem.insight_id == insight_id))
        s.execute(delete(SavedInsight).where(SavedInsight.id == insight_id))


def visible_dashboards(ws: Workspace, project_id: int, user: Account) -> list[Dashboard]:
    """The user's own dashboards and the project's shared ones."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(Dashboard)
                .where(
                    Dashboard.project_id == project_id,
                    or_(Dashboard.owner_id == user.id, Dashboard.shared.is_(True)),
                )
                .order_by(Dashboard.id)
            )
        )


def get_dashboard(ws: Workspace, project_id: int, dashboard_id: int, user: Account) -> Dashboard:
    """A dashboard the user may see; NotFound otherwise."""
    with ws.sessions() as s:
        board = s.get(Dashboard, dashboard_id)
    if (
        board is None
        or board.project_id != project_id
        or not (board.shared or board.owner_id == user.id)
    ):
        raise NotFound(f"dashboard_id: no dashboard {dashboard_id} in this project")
    return board


def editable_dashboard(
    ws: Workspace, project_id: int, dashboard_id: int, user: Account
) -> Dashboard:
    """A dashboard the user may change (owner or admin); NotOwner otherwise."""
    board = get_dashboard(ws, project_id, dashboard_id, user)
    if board.owner_id != user.id and not user.may(Role.admin):
        raise NotOwner(f"dashboard_id: dashboard {dashboard_id} belongs to another user")
    return board


def create_dashboard(
    ws: Workspace, project_id: int, owner: Account, name: str, shared: bool = False
) -> Dashboard:
    """A new, empty dashboard owned by `owner`."""
    with ws.sessions.begin() as s:
        board = Dashboard(project_id=project_id, owner_id=owner.id, name=name, shared=shared)
        s.add(board)
        s.flush()
        return board


def update_dashboard(
    ws: Workspace,
    board: Dashboard,
    name: str | None = None,
    shared: bool | None = None,
) -> Dashboard:
    """Rename, share or unshare a dashboard."""
    with ws.sessions.begin() as s:
        row = s.get_one(Dashboard, board.id)
        if name is not None:
            row.name = name
        if shared is not None:
            row.shared = shared
        return row


def delete_dashboard(ws: Workspace, board: Dashboard) -> None:
    """Delete a dashboard and its pins (the insights stay)."""
    with ws.sessions.begin() as s:
        s.execute(delete(DashboardItem).where(DashboardItem.dashboard_id == board.id))
        s.execute(delete(Dashboard).where(Dashboard.id == board.id))


def dashboard_items(ws: Workspace, board: Dashboard) -> list[tuple[DashboardItem, SavedInsight]]:
    """Items in display order with their insights."""
    with ws.sessions() as s:
        rows = s.execute(
            select(DashboardItem, SavedInsight)
            .join(SavedInsight, SavedInsight.id == DashboardItem.insight_id)
            .where(DashboardItem.dashboard_id == board.id)
            .order_by(DashboardItem.position, DashboardItem.id)
        ).all()
    return [(item, insight) for item, insight in rows]


def pin(ws: Workspace, board: Dashboard, insight: SavedInsight, width: int = 1) -> DashboardItem:
    """Append an insight to a dashboard (once; pinning again returns the existing item)."""
    if insight.project_id != board.project_id:
        raise NotFound(f"insight_id: no insight {insight.id} in this project")
    with ws.sessions.begin() as s:
        existing = s.scalar(
            select(DashboardItem).where(
                DashboardItem.dashboard_id == board.id, DashboardItem.insight_id == insight.id
            )
        )
        if existing is not None:
            return existing
        last = s.scalar(
            select(func.max(DashboardItem.position)).where(DashboardItem.dashboard_id == board.id)
        )
        item = DashboardItem(
            dashboard_id=board.id,
            insight_id=insight.id,
            position=(last or 0) + 1,
            width=max(1, min(width, 4)),
        )
        s.add(item)
        s.flush()
        return item


def unpin(ws: Workspace, board: Dashboard, item_id: int) -> None:
    """Remove an item from a dashboard."""
    with ws.sessions.begin() as s:
        gone = s.execute(
            delete(DashboardItem).where(
                DashboardItem.id == item_id, DashboardItem.dashboard_id == board.id
            )
        )
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"item_id: no item {item_id} on dashboard {board.id}")


def arrange(ws: Workspace, board: Dashboard, layout: list[tuple[int, int]]) -> None:
    """Set the order (list order) and widths of all items: [(item_id, width), ...]."""
    with ws.sessions.begin() as s:
        items = {
            i.id: i
            for i in s.scalars(select(DashboardItem).where(DashboardItem.dashboard_id == board.id))
        }
        given = [item_id for item_id, _ in layout]
        if sorted(given) != sorted(items):
            raise NotFound(
                f"items: the layout must list each item of dashboard {board.id} once: {sorted(items)}"
            )
        for position, (item_id, width) in enumerate(layout, start=1):
            items[item_id].position = position
            items[item_id].width = max(1, min(width, 4))


def move(ws: Workspace, board: Dashboard, item_id: int, delta: int) -> None:
    """Move one item earlier (delta < 0) or later in the order."""
    order = [(item.id, item.width) for item, _ in dashboard_items(ws, board)]
    index = next((i for i, (iid, _) in enumerate(order) if iid == item_id), None)
    if index is None:
        raise NotFound(f"item_id: no item {item_id} on dashboard {board.id}")
    target = max(0, min(len(order) - 1, index + delta))
    order.insert(target, order.pop(index))
    arrange(ws, board, order)
