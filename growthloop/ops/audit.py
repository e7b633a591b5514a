"""The audit trail of ops objects and the version check that keeps concurrent edits apart.

Every create, update and delete of an ops object writes one AuditEntry in the same transaction
as the change itself, so the trail and the data cannot disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from growthloop.accounts import Account
from growthloop.ops.models import AuditEntry
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace


class NotFound(LookupError):
    """No such ops object in the project; the message names it."""


class Conflict(RuntimeError):
    """The object changed since the version the request started from."""


def plain(value: Any) -> Any:
    """A JSON-storable form of a field value (dates as ISO text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def record(
    s: Session,
    project_id: int,
    who: Account | None,
    object_type: str,
    object_id: int,
    action: str,
    changes: dict[str, Any],
) -> None:
    """Add one audit entry to the session's transaction."""
    s.add(
        AuditEntry(
            project_id=project_id,
            user_id=who.id if who else None,
            user_name=who.name if who else "system",
            object_type=object_type,
            object_id=object_id,
            action=action,
            changes={k: [plain(v) for v in pair] for k, pair in changes.items()},
            at=utcnow(),
        )
    )


def created(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """The changes of a creation: every field from None to its value."""
    return {f: [None, getattr(obj, f)] for f in fields}


def apply_update(obj: Any, what: str, version: int, updates: dict[str, Any]) -> dict[str, Any]:
    """Set `updates` on `obj` if it is still at `version`; the changed fields, before and after.

    Conflict when someone saved a newer version in the meantime.
    """
    if obj.version != version:
        raise Conflict(
            f"version: {what} was changed by someone else (now version {obj.version}, your edit"
            f" started from version {version}); reload it and apply your change again"
        )
    changes = {}
    for field, value in updates.items():
        before = getattr(obj, field)
        if before != value:
            changes[field] = [before, value]
            setattr(obj, field, value)
    # The mapper's version_id_col raises the version when the row is flushed.
    if changes and hasattr(obj, "updated_at"):
        obj.updated_at = utcnow()
    return changes


def history(ws: Workspace, project_id: int, object_type: str, object_id: int) -> list[AuditEntry]:
    """The audit entries of one object, oldest first."""
    with ws.sessions() as s:
        return list(
            s.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.project_id == project_id,
                    AuditEntry.object_type == object_type,
                    AuditEntry.object_id == object_id,
                )
                .order_by(AuditEntry.id)
            )
        )


def entry_out(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as JSON."""
    return {
        "at": entry.at.isoformat(),
        "user": entry.user_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "changes": entry.changes,
    }
