"""Research notes (调研笔记): user-survey findings and competitor analyses as tagged notes, each
optionally linked to the plan strategy it informs. Changes are audited and version-checked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.models import PlanStrategy, ResearchNote
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

NOTE_KINDS = ("survey", "competitor")
FIELDS = ("kind", "title", "body", "tags", "strategy_id")


def _clean(s: Any, project_id: int, values: dict[str, Any]) -> dict[str, Any]:
    if values.get("kind") not in NOTE_KINDS:
        raise TargetError(f"kind: {values.get('kind')!r} is not one of {', '.join(NOTE_KINDS)}")
    # Tags compare case-insensitively and without surrounding spaces; order kept, repeats dropped.
    tags = []
    for tag in values.get("tags") or []:
        clean = str(tag).strip().lower()
        if clean and clean not in tags:
            tags.append(clean)
    values["tags"] = tags
    ref = values.get("strategy_id")
    if ref is not None:
        st = s.get(PlanStrategy, ref)
        if st is None or st.project_id != project_id:
            raise TargetError(f"strategy_id: no strategy {ref} in this project")
    return values


def create_note(
    ws: Workspace, project_id: int, who: Account, values: dict[str, Any]
) -> ResearchNote:
    """A new research note."""
    with ws.sessions.begin() as s:
        clean = _clean(s, project_id, dict(values))
        note = ResearchNote(
            project_id=project_id, created_at=utcnow(), updated_at=utcnow(), **clean
        )
        s.add(note)
        s.flush()
        audit.record(s, project_id, who, "note", note.id, "create", audit.created(note, FIELDS))
        return note


def update_note(
    ws: Workspace,
    project_id: int,
    who: Account,
    note_id: int,
    version: int,
    updates: dict[str, Any],
) -> ResearchNote:
    """Change a note still at `version`."""
    try:
        with ws.sessions.begin() as s:
            note = s.get(ResearchNote, note_id)
            if note is None or note.project_id != project_id:
                raise audit.NotFound(f"note_id: no note {note_id} in this project")
            merged = _clean(s, project_id, {f: getattr(note, f) for f in FIELDS} | updates)
            changes = audit.apply_update(
                note, f"note {note_id}", version, {f: merged[f] for f in updates}
            )
            if changes:
                audit.record(s, project_id, who, "note", note.id, "update", changes)
            return note
    except StaleDataError:
        raise audit.Conflict(
            f"version: note {note_id} was changed by someone else while you saved"
        ) from None


def delete_note(ws: Workspace, project_id: int, who: Account, note_id: int) -> None:
    """Delete a note."""
    with ws.sessions.begin() as s:
        note = s.get(ResearchNote, note_id)
        if note is None or note.project_id != project_id:
            raise audit.NotFound(f"note_id: no note {note_id} in this project")
        audit.record(
            s,
            project_id,
            who,
            "note",
            note.id,
            "delete",
            {f: [getattr(note, f), None] for f in FIELDS},
        )
        s.delete(note)


def notes(
    ws: Workspace, project_id: int, tag: str | None = None, strategy_id: int | None = None
) -> list[ResearchNote]:
    """The project's notes, newest first; only those carrying `tag` / linked to `strategy_id`."""
    with ws.sessions() as s:
        query = select(ResearchNote).where(ResearchNote.project_id == project_id)
        if strategy_id is not None:
            query = query.where(ResearchNote.strategy_id == strategy_id)
        found = list(s.scalars(query.order_by(ResearchNote.id.desc())))
    # Tags live in a JSON list; filtering here keeps the query the same on SQLite and PostgreSQL.
    wanted = tag.strip().lower() if tag else None
    return [n for n in found if wanted is None or wanted in n.tags]
