"""Projects: everyone sees the list; only an admin sees ingestion keys and adds projects."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from growthloop.accounts import Role
from growthloop.store.metadata import Project
from growthloop.web.security import Admin, Viewer, workspace_of

router = APIRouter(prefix="/api/projects", tags=["projects"])
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ProjectOut(BaseModel):
    """A project; the ingestion key only for admins."""

    slug: str
    name: str
    ingestion_key: str | None = Field(default=None, description="Only for admins.")


class NewProject(BaseModel):
    """A project to add."""

    slug: str = Field(pattern=SLUG.pattern, description="Lowercase letters, digits, - and _.")
    name: str = Field(min_length=1, max_length=200)


def project_out(p: Project, with_key: bool) -> ProjectOut:
    """The API view of a project."""
    return ProjectOut(slug=p.slug, name=p.name, ingestion_key=p.ingestion_key if with_key else None)


@router.get("")
def projects(principal: Viewer, request: Request) -> list[ProjectOut]:
    """Projects in this data directory."""
    admin = principal.account.may(Role.admin)
    return [project_out(p, admin) for p in workspace_of(request).projects()]


@router.post("", status_code=201)
def create_project(principal: Admin, request: Request, body: NewProject) -> ProjectOut:
    """Add a project with its own event store and ingestion key."""
    ws = workspace_of(request)
    if any(p.slug == body.slug for p in ws.projects()):
        raise HTTPException(409, f"slug: project {body.slug!r} already exists")
    return project_out(ws.ensure_project(body.slug, body.name), True)
