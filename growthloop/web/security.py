"""Who is asking, and may they: session cookies, API tokens, CSRF, and the role dependency.

Every route declares the least role it needs with `Depends(require(Role.x))` (or one of the
`Viewer`/`Operator`/`Admin` annotations); tests/test_web_roles.py walks `app.routes` and fails for
a route without it. Unauthenticated requests get 401 under /api and a redirect to /login for
pages; a role too low gets 403.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeSerializer

from growthloop.accounts import (
    Account,
    Role,
    account_for_token,
    resume_session,
)
from growthloop.config import Settings
from growthloop.workspace import Workspace

SESSION_COOKIE = "gl_session"
LOGIN_CSRF_COOKIE = "gl_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECRET_FILE = "secret_key"

bearer = HTTPBearer(auto_error=False, description="An API token (growthloop tokens create).")


class NotAuthenticated(Exception):
    """No valid session or token: 401 under /api, a redirect to /login for pages."""


class Forbidden(Exception):
    """Authenticated, but the role or the CSRF token does not allow the request."""

    def __init__(self, reason: str, needed: Role | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # "role" or "csrf"
        self.needed = needed


@dataclass(frozen=True)
class Principal:
    """The account behind a request and how it proved itself."""

    account: Account
    via: str  # "session" or "token"
    csrf_token: str | None = None

    @property
    def role(self) -> Role:
        """The account's role."""
        return self.account.role


def load_secret(settings: Settings) -> str:
    """Settings.secret_key, else a key generated once into the data dir (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def cookie_signer(secret: str) -> URLSafeSerializer:
    """Signs and checks the session cookie's value."""
    return URLSafeSerializer(secret, salt="growthloop-session")


def workspace_of(request: Request) -> Workspace:
    """The workspace the app serves."""
    ws: Workspace = request.app.state.workspace
    return ws


def _session_principal(request: Request) -> Principal | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        sid = cookie_signer(request.app.state.secret).loads(raw)
    except BadSignature:
        return None
    if not isinstance(sid, str):
        return None
    info = resume_session(workspace_of(request), sid)
    if info is None:
        return None
    return Principal(info.account, "session", info.csrf_token)


def authenticate_request(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    """The principal of a request: an API token wins over the session cookie."""
    if credentials is not None:
        account = account_for_token(workspace_of(request), credentials.credentials)
        return Principal(account, "token") if account else None
    return _session_principal(request)


async def _check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, principal.csrf_token or ""):
        raise Forbidden("csrf")


RoleDependency = Callable[..., Awaitable[Principal]]
_dependencies: dict[Role, RoleDependency] = {}


def require(role: Role) -> RoleDependency:
    """The dependency that admits `role` and every higher role (one object per role)."""
    if role in _dependencies:
        return _dependencies[role]

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        principal = authenticate_request(request, credentials)
        if principal is None:
            raise NotAuthenticated()
        request.state.principal = principal
        if not principal.account.may(role):
            raise Forbidden("role", role)
        await _check_csrf(request, principal)
        return principal

    dependency.required_role = role  # type: ignore[attr-defined]
    _dependencies[role] = dependency
    return dependency


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Operator = Annotated[Principal, Depends(require(Role.operator))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
