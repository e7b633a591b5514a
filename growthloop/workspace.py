"""A workspace is one data directory: settings, the metadata database and each project's event store."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from growthloop.config import Settings, load_settings
from growthloop.store.events import EventStore
from growthloop.store.metadata import Project, make_engine, migrate, session_factory


@dataclass(frozen=True)
class ProjectStatus:
    slug: str
    name: str
    store_path: Path
    counts: dict[str, int]
    first_event: str | None
    last_event: str | None


class Workspace:
    """Open with `Workspace.open(data_dir)`; close when done (or use it as a context manager)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.metadata_database_url
        migrate(url)
        self.engine = make_engine(url)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self._stores: dict[str, EventStore] = {}
        # The web app's threads (requests, the collector's loader, the job runner) may open a
        # store at the same moment; one EventStore per file, opened under this lock.
        self._stores_lock = threading.Lock()
        self.ensure_project(settings.default_project)

    @classmethod
    def open(cls, data_dir: Path | str | None = None, **overrides: Any) -> Workspace:
        return cls(load_settings(data_dir, **overrides))

    def ensure_project(self, slug: str, name: str | None = None) -> Project:
        with self.sessions.begin() as session:
            project = session.scalar(select(Project).where(Project.slug == slug))
            if project is None:
                project = Project(
                    slug=slug, name=name or slug, ingestion_key="gl_" + secrets.token_urlsafe(24)
                )
                session.add(project)
                session.flush()
            return project

    def projects(self) -> list[Project]:
        with self.sessions() as session:
            return list(session.scalars(select(Project).order_by(Project.id)))

    def events(self, project: str | None = None) -> EventStore:
        """The project's event store, opened for writing on first use and kept open."""
        slug = project or self.settings.default_project
        with self._stores_lock:
            if slug not in self._stores:
                self._stores[slug] = EventStore(
                    self.settings.event_store_path(slug),
                    memory_limit=self.settings.duckdb_memory_limit,
                )
            return self._stores[slug]

    def status(self) -> list[ProjectStatus]:
        out = []
        for project in self.projects():
            path = self.settings.event_store_path(project.slug)
            store = self.events(project.slug)
            row = store.con.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchall()[
                0
            ]
            first, last = (str(row[0]), str(row[1])) if row and row[0] else (None, None)
            out.append(ProjectStatus(project.slug, project.name, path, store.counts(), first, last))
        return out

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
