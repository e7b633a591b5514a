"""Per-request context shared by API routes and pages: the chosen project and its event store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends as _Depends
from fastapi import HTTPException, Query, Request

from growthloop.store.events import EventStore
from growthloop.web.security import workspace_of


@dataclass(frozen=True)
class ProjectRef:
    """The project a request works on, with its event store."""

    id: int
    slug: str
    name: str
    store: EventStore


def project_ref(
    request: Request,
    project: Annotated[
        str | None, Query(description="Project slug; default: the default project.")
    ] = None,
) -> ProjectRef:
    """The project named by ?project= (default project when absent); 404 for an unknown one."""
    ws = workspace_of(request)
    slug = project or ws.settings.default_project
    for p in ws.projects():
        if p.slug == slug:
            request.state.project = p.slug
            return ProjectRef(p.id, p.slug, p.name, ws.events(p.slug))
    raise HTTPException(404, f"project: no project {slug!r} (see growthloop projects list)")


CurrentProject = Annotated[ProjectRef, _Depends(project_ref)]
