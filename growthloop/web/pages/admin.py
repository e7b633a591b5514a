"""Admin pages: users (add with a one-time password, change role, disable) and projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.accounts import AccountError, Role, add_user, list_users, update_user
from growthloop.web.api.projects import SLUG
from growthloop.web.api.settings import visible_settings
from growthloop.web.rendering import render
from growthloop.web.security import Admin, workspace_of

router = APIRouter(prefix="/admin", include_in_schema=False)


def _users(request: Request, created: tuple[str, str] | None = None) -> Response:
    users = list_users(workspace_of(request))
    return render(
        request, "users.html", {"users": users, "roles": [r.name for r in Role], "created": created}
    )


@router.get("/users")
def users_page(principal: Admin, request: Request) -> Response:
    """All users."""
    return _users(request)


@router.post("/users")
def add(
    principal: Admin,
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form()],
) -> Response:
    """Add a user and show their one-time password."""
    try:
        account, password = add_user(workspace_of(request), name, role)
    except AccountError as exc:
        raise HTTPException(422, f"name: {exc}") from None
    return _users(request, (account.name, password))


@router.post("/users/{user_id}")
def change(
    principal: Admin,
    request: Request,
    user_id: int,
    role: Annotated[str, Form()],
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Change a user's role or active flag."""
    ws = workspace_of(request)
    user = next((u for u in list_users(ws) if u.id == user_id), None)
    if user is None:
        raise HTTPException(404, f"user_id: no user {user_id}")
    if user_id == principal.account.id and (role != "admin" or not active):
        raise HTTPException(422, "user_id: you cannot disable or demote yourself")
    try:
        update_user(ws, user.name, role=role, active=active)
    except AccountError as exc:
        raise HTTPException(422, f"role: {exc}") from None
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/projects")
def projects_page(principal: Admin, request: Request) -> Response:
    """Projects with their ingestion keys."""
    return render(request, "projects.html", {"all_projects": workspace_of(request).projects()})


@router.post("/projects")
def add_project(
    principal: Admin,
    request: Request,
    slug: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
) -> Response:
    """Add a project (its own event store and ingestion key)."""
    ws = workspace_of(request)
    if not SLUG.match(slug):
        raise HTTPException(422, "slug: use lowercase letters, digits, - and _ (at most 64)")
    if any(p.slug == slug for p in ws.projects()):
        raise HTTPException(422, f"slug: project {slug!r} already exists")
    ws.ensure_project(slug, name or slug)
    return RedirectResponse("/admin/projects", status_code=303)


@router.get("/settings")
def settings_page(principal: Admin, request: Request) -> Response:
    """The settings in force; they are changed in growthloop.toml or GROWTHLOOP_* variables."""
    values = visible_settings(workspace_of(request).settings)
    return render(request, "settings.html", {"values": values})
