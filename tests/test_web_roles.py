"""Every route of the app refuses the unauthenticated (401 / login redirect) and lower roles (403).

The routes are read from `app.routes`, so a route added without a role dependency fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from growthloop.accounts import Role, add_user, create_token
from growthloop.ingest.collector import PUBLIC_ROUTES
from growthloop.web.app import create_app
from growthloop.web.pages.outreach import SIGNED_LINK_ROUTES
from growthloop.workspace import Workspace

# Open without a login: the login form and its POST, the collector's ingestion routes, which
# check the project's ingestion key instead, and links whose signed token is the credential.
LOGIN = {("GET", "/login"), ("POST", "/login")}
PUBLIC = LOGIN | PUBLIC_ROUTES | SIGNED_LINK_ROUTES


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[Role, str]]]:
    ws = Workspace.open(tmp_path_factory.mktemp("roles") / "data")
    tokens = {}
    for role in Role:
        account, _ = add_user(ws, f"{role.name}-user", role.name)
        tokens[role] = create_token(ws, account.id, "roles test")[1]
    yield create_app(ws), tokens
    ws.close()


def required_role(route: RouteContext) -> Role | None:
    """The highest role any dependency of the route demands (None: no role check at all)."""
    found: list[Role] = []
    stack = [route.dependant]  # the effective dependant, with router-level dependencies
    while stack:
        dep = stack.pop()
        role = getattr(dep.call, "required_role", None)
        if role is not None:
            found.append(role)
        stack.extend(dep.dependencies)
    return max(found) if found else None


def endpoints(app: FastAPI) -> list[tuple[str, str, RouteContext]]:
    """(method, path, route) of every route function, included routers flattened."""
    out = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            for method in sorted(route.methods or ()):
                out.append((method, str(route.path), route))
    return out


def concrete(path: str) -> str:
    """Fill path parameters with ids that do not exist, so allowed calls change nothing."""
    return re.sub(r"\{[^}]+\}", "999999", path)


def call(client: TestClient, method: str, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH") and path.startswith("/api"):
        kwargs["json"] = {}
    return client.request(method, concrete(path), **kwargs)


def test_every_route_has_a_role_or_is_public(env: tuple[FastAPI, dict[Role, str]]) -> None:
    app, _ = env
    missing = [
        f"{m} {p}"
        for m, p, r in endpoints(app)
        if (m, p) not in PUBLIC and required_role(r) is None
    ]
    assert not missing, f"routes without a role dependency: {missing}"
    assert len(endpoints(app)) >= 30
    # Anything that is not a route function is a static mount; nothing else may sneak in.
    others = [
        r.original_route
        for r in iter_route_contexts(app.routes)
        if not isinstance(r.original_route, APIRoute)
    ]
    assert all(isinstance(r, Mount) and r.path.startswith("/static") for r in others), others


def test_unauthenticated_requests_are_refused(env: tuple[FastAPI, dict[Role, str]]) -> None:
    app, _ = env
    client = TestClient(app)
    checked = 0
    for method, path, _ in endpoints(app):
        if (method, path) in LOGIN:
            continue
        response = call(client, method, path, None)
        if (method, path) in PUBLIC_ROUTES:
            # No ingestion key, no entry: the collector refuses before reading any event.
            assert response.status_code in (400, 401), (method, path, response.text)
            continue
        if (method, path) in SIGNED_LINK_ROUTES:
            # A token that does not verify is refused before anything is changed.
            assert response.status_code == 422, (method, path, response.text)
            continue
        if path.startswith("/api"):
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next="), (method, path)
        checked += 1
    assert checked >= 30
    # A wrong token is no better than none.
    assert call(client, "GET", "/api/me", "glt_not-a-token").status_code == 401


def test_lower_roles_get_403_and_the_required_role_gets_through(
    env: tuple[FastAPI, dict[Role, str]],
) -> None:
    app, tokens = env
    client = TestClient(app)
    refusals = 0
    for method, path, route in endpoints(app):
        needed = required_role(route)
        if needed is None:
            continue
        for role in Role:
            response = call(client, method, path, tokens[role])
            if role < needed:
                assert response.status_code == 403, (role.name, method, path, response.text)
                refusals += 1
            else:
                assert response.status_code not in (401, 403), (role.name, method, path)
    # viewer is refused every operator and admin route, operator every admin route.
    assert refusals >= 20


def test_role_table_matches_the_documented_roles(env: tuple[FastAPI, dict[Role, str]]) -> None:
    """docs/users-and-roles.md (or, for a capability's routes, its own page in docs/) lists every
    route with its role; keep them in step."""
    app, _ = env
    docs = sorted((Path(__file__).parent.parent / "docs").glob("*.md"))
    doc = "\n".join(page.read_text(encoding="utf-8") for page in docs)
    for method, path, route in endpoints(app):
        role = required_role(route)
        who = "ingestion key" if (method, path) in PUBLIC_ROUTES else "public"
        who = "signed link" if (method, path) in SIGNED_LINK_ROUTES else who
        line = f"| `{method} {path}` | {role.name if role else who} |"
        assert line in doc, f"no page in docs/ has the line: {line}"
