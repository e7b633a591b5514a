"""Levels (会员等级): reached by lifetime earned points or by spend, each with its benefits.

A person's level is the highest-placed level whose threshold they meet on its basis: `points`
= lifetime earned points (EARN and positive ADJUST; redeeming or expiring does not lower it),
`spend` = the sum of the events.revenue of their events. A change of level is written to an
outbox table in the same transaction as the account, then to the event store as a
`level_changed` event through the importer; its uuid is fixed by (project, person, change
number), so writing the outbox again after a crash stores nothing twice.
"""

from __future__ import annotations

import json
import tempfile
import uuid as uuidlib
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from growthloop.ingest.files import import_files
from growthloop.ops.points_ledger import PointsError, locked

if TYPE_CHECKING:
    from growthloop.ops.points_award import ProjectLike
from growthloop.ops.points_models import LevelEvent, PointsAccount, PointsLevel
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

EVENT = "level_changed"
BASES = ("points", "spend")
_NAMESPACE = uuidlib.UUID("6f1b1f2e-8a55-4c43-9d7e-2f0d6d1a7c11")


def list_levels(ws: Workspace, project_id: int) -> list[PointsLevel]:
    with ws.sessions() as session:
        return list(
            session.scalars(
                select(PointsLevel)
                .where(PointsLevel.project_id == project_id)
                .order_by(PointsLevel.position, PointsLevel.id)
            )
        )


def create_level(
    ws: Workspace,
    project_id: int,
    name: str,
    basis: str,
    threshold: Any,
    benefits: str = "",
    position: int | None = None,
) -> PointsLevel:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise PointsError("name: 1 to 100 characters")
    if basis not in BASES:
        raise PointsError(f"basis: one of {', '.join(BASES)}, got {basis!r}")
    try:
        value = Decimal(str(threshold))
    except InvalidOperation:
        raise PointsError(f"threshold: not a number: {threshold!r}") from None
    if not value.is_finite() or value < 0:
        raise PointsError(f"threshold: 0 or more, got {threshold!r}")
    existing = list_levels(ws, project_id)
    if any(level.name == name for level in existing):
        raise PointsError(f"name: a level named {name!r} already exists")
    with ws.sessions.begin() as session:
        level = PointsLevel(
            project_id=project_id,
            name=name,
            basis=basis,
            threshold=value,
            benefits=benefits[:5000],
            position=len(existing) if position is None else position,
        )
        session.add(level)
        session.flush()
        return level


def level_for(levels: list[PointsLevel], earned: int, spend: Decimal) -> str:
    """The highest-placed level met (levels in position order), '' when none is."""
    reached = ""
    for level in levels:
        value = Decimal(earned) if level.basis == "points" else spend
        if value >= Decimal(level.threshold):
            reached = level.name
    return reached


def person_spend(ws: Workspace, slug: str, persons: list[str]) -> dict[str, Decimal]:
    """Sum of events.revenue per person, read from the event store."""
    out: dict[str, Decimal] = {}
    cursor = ws.events(slug).con.cursor()
    try:
        for i in range(0, len(persons), 1000):
            part = persons[i : i + 1000]
            rows = cursor.execute(
                "SELECT person_id, sum(revenue) FROM events"
                " WHERE revenue IS NOT NULL AND person_id IN (SELECT unnest(?)) GROUP BY 1",
                [part],
            ).fetchall()
            out.update({p: Decimal(str(v)) for p, v in rows})
    finally:
        cursor.close()
    return out


def refresh(
    ws: Workspace,
    project: ProjectLike,
    persons: Iterable[str],
    at: dict[str, datetime] | None = None,
) -> int:
    """Recompute the persons' levels; queue a level_changed event per change. Returns changes."""
    levels = list_levels(ws, project.id)
    wanted = sorted(set(persons))
    if not wanted:
        return 0
    spend = person_spend(ws, project.slug, wanted)
    changes = 0
    for i in range(0, len(wanted), 200):
        part = wanted[i : i + 200]
        with locked(ws, project.id, part) as book:
            for person in part:
                account = book.account(person)
                account.spend = spend.get(person, Decimal(0))
                new = level_for(levels, account.earned, account.spend)
                if new == account.level:
                    continue
                account.level_changes += 1
                name = f"{project.id}:{person}:{account.level_changes}:{new}"
                book.session.add(
                    LevelEvent(
                        project_id=project.id,
                        person_id=person,
                        uuid=str(uuidlib.uuid5(_NAMESPACE, name)),
                        from_level=account.level,
                        to_level=new,
                        occurred_at=(at or {}).get(person) or utcnow(),
                    )
                )
                account.level = new
                changes += 1
    return changes


def write_events(ws: Workspace, project: ProjectLike) -> int:
    """Store the queued level_changed events through the importer; returns how many were new."""
    with ws.sessions() as session:
        pending = list(
            session.scalars(
                select(LevelEvent)
                .where(LevelEvent.project_id == project.id, LevelEvent.written_at.is_(None))
                .order_by(LevelEvent.id)
            )
        )
    if not pending:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "level_changed.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for e in pending:
                row = {
                    "uuid": e.uuid,
                    "event": EVENT,
                    "distinct_id": e.person_id,
                    "timestamp": e.occurred_at.isoformat(sep=" "),
                    "properties": {"from_level": e.from_level, "to_level": e.to_level},
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        summary = import_files(ws, "events", [path], timezone="UTC", project=project.slug)
    with ws.sessions.begin() as session:
        for e in pending:
            written = session.get(LevelEvent, e.id)
            if written is not None:
                written.written_at = utcnow()
    return summary.rows_stored


def account_of(ws: Workspace, project_id: int, person_id: str) -> PointsAccount | None:
    with ws.sessions() as session:
        return session.scalar(
            select(PointsAccount).where(
                PointsAccount.project_id == project_id, PointsAccount.person_id == person_id
            )
        )
