"""What one import did: its summary, and its record in the metadata database (import history)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from growthloop.store.metadata import ImportRun, Project
from growthloop.workspace import Workspace


@dataclass
class ImportSummary:
    kind: str
    files: list[str]
    rows_read: int = 0
    rows_stored: int = 0
    rows_duplicate: int = 0
    rows_skipped: int = 0
    rejects_path: Path | None = None
    details: dict[str, int] = field(default_factory=dict)


def record_run(ws: Workspace, project: str | None, summary: ImportSummary) -> None:
    project_row: Project = ws.ensure_project(project or ws.settings.default_project)
    with ws.sessions.begin() as session:
        session.add(
            ImportRun(
                project_id=project_row.id,
                kind=summary.kind,
                files=summary.files,
                rows_read=summary.rows_read,
                rows_stored=summary.rows_stored,
                rows_skipped=summary.rows_skipped,
                rows_duplicate=summary.rows_duplicate,
            )
        )
