"""Accounts: users with roles, argon2 password hashes, API tokens, browser sessions, login limits.

The CLI, the demo and the web app all call these functions; none of them hashes or compares
secrets itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select

from growthloop.store.metadata import ApiToken, LoginAttempt, User, WebSession, utcnow
from growthloop.workspace import Workspace

_hasher = PasswordHasher()
# Verifying against this hash when the name is unknown keeps the answer time the same, so the
# login form does not tell which names exist.
_DUMMY_HASH = _hasher.hash("growthloop-no-such-user")

LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
TOKEN_PREFIX = "glt_"


class Role(IntEnum):
    """Roles in increasing power; each role may do everything the ones below it may."""

    viewer = 1
    operator = 2
    admin = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        """The role named `value`; AccountError lists the valid names."""
        try:
            return cls[value]
        except KeyError:
            names = ", ".join(r.name for r in cls)
            raise AccountError(f"unknown role {value!r} (use one of {names})") from None


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Account:
    """What the web app knows about the user behind a request."""

    id: int
    name: str
    role: Role

    def may(self, role: Role) -> bool:
        """True when this account's role is `role` or higher."""
        return self.role >= role


def _account(user: User) -> Account:
    return Account(user.id, user.name, Role[user.role])


def sha256(text: str) -> str:
    """Hex SHA-256 of a secret: what the database keeps of tokens and session ids."""
    return hashlib.sha256(text.encode()).hexdigest()


def generate_password() -> str:
    """A one-time password: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def add_user(
    ws: Workspace, name: str, role: str, password: str | None = None
) -> tuple[Account, str]:
    """Create a user; returns the account and its password (generated when not given)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("user name must be 1 to 100 characters")
    parsed = Role.parse(role)
    password = password or generate_password()
    if len(password) < 8:
        raise AccountError("password must be at least 8 characters")
    with ws.sessions.begin() as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise AccountError(f"user {name!r} already exists")
        user = User(name=name, role=parsed.name, password_hash=_hasher.hash(password), active=True)
        session.add(user)
        session.flush()
        return _account(user), password


def list_users(ws: Workspace) -> list[User]:
    """All users, active or not, in creation order."""
    with ws.sessions() as session:
        return list(session.scalars(select(User).order_by(User.id)))


def update_user(
    ws: Workspace,
    name: str,
    *,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> Account:
    """Change a user's role, active flag or password; disabling ends their sessions and tokens."""
    with ws.sessions.begin() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise AccountError(f"no user named {name!r}")
        if role is not None:
            user.role = Role.parse(role).name
        if password is not None:
            if len(password) < 8:
                raise AccountError("password must be at least 8 characters")
            user.password_hash = _hasher.hash(password)
        if active is not None:
            user.active = active
        if active is False or password is not None:
            session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        if active is False:
            for token in session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            ):
                token.revoked_at = utcnow()
        return _account(user)


def login_blocked(ws: Workspace, name: str, ip: str) -> bool:
    """True when `name` from `ip` has failed LOGIN_FAILURE_LIMIT times within the window."""
    since = utcnow() - LOGIN_FAILURE_WINDOW
    with ws.sessions() as session:
        failures = session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.name == name, LoginAttempt.ip == ip, LoginAttempt.at >= since)
        )
    return (failures or 0) >= LOGIN_FAILURE_LIMIT


def authenticate(ws: Workspace, name: str, password: str, ip: str) -> Account | None:
    """Check a name and password; records failures for the rate limit (see `login_blocked`)."""
    with ws.sessions.begin() as session:
        user = session.scalar(select(User).where(User.name == name))
        ok = False
        try:
            ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None or not user.active:
            session.add(LoginAttempt(name=name[:100], ip=ip[:64]))
            # Failures older than the window no longer count; keep the table small.
            session.execute(
                delete(LoginAttempt).where(LoginAttempt.at < utcnow() - 2 * LOGIN_FAILURE_WINDOW)
            )
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        session.execute(
            delete(LoginAttempt).where(LoginAttempt.name == name, LoginAttempt.ip == ip)
        )
        return _account(user)


def create_token(ws: Workspace, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new API token for a user; the plain token is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("token name must be 1 to 100 characters")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ws.sessions.begin() as session:
        token = ApiToken(user_id=user_id, name=name, token_hash=sha256(plain), prefix=plain[:10])
        session.add(token)
        session.flush()
        return token, plain


def list_tokens(ws: Workspace, user_id: int | None = None) -> list[ApiToken]:
    """Tokens of one user (or of everyone when user_id is None), newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    with ws.sessions() as session:
        return list(session.scalars(query))


def revoke_token(ws: Workspace, token_id: int, user_id: int | None = None) -> bool:
    """Revoke a token (only the user's own when user_id is given); False if there is none."""
    with ws.sessions.begin() as session:
        token = session.get(ApiToken, token_id)
        if token is None or (user_id is not None and token.user_id != user_id):
            return False
        token.revoked_at = token.revoked_at or utcnow()
        return True


def account_for_token(ws: Workspace, plain: str) -> Account | None:
    """The active user a live API token belongs to, or None."""
    with ws.sessions.begin() as session:
        row = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == sha256(plain), ApiToken.revoked_at.is_(None))
        ).first()
        if row is None or not row[1].active:
            return None
        token, user = row
        now = utcnow()
        # One write per minute at most: scripts polling the API should not hammer the database.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            token.last_used_at = now
        return _account(user)


@dataclass(frozen=True)
class SessionInfo:
    """A live browser session: its account and CSRF token."""

    account: Account
    csrf_token: str


def start_session(ws: Workspace, account: Account) -> tuple[str, str]:
    """Open a browser session; returns (session id for the cookie, CSRF token)."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(minutes=ws.settings.session_timeout_minutes)
    with ws.sessions.begin() as session:
        session.add(
            WebSession(id_hash=sha256(sid), user_id=account.id, csrf_token=csrf, expires_at=expires)
        )
    return sid, csrf


def resume_session(ws: Workspace, sid: str) -> SessionInfo | None:
    """The live session for a cookie's session id, extending its idle timeout; None if expired."""
    now = utcnow()
    timeout = timedelta(minutes=ws.settings.session_timeout_minutes)
    with ws.sessions.begin() as session:
        row = session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id_hash == sha256(sid))
        ).first()
        if row is None:
            return None
        web_session, user = row
        if web_session.expires_at < now or not user.active:
            session.delete(web_session)
            return None
        # Sliding expiry, written at most once a minute.
        if web_session.expires_at - now < timeout - timedelta(minutes=1):
            web_session.expires_at = now + timeout
        return SessionInfo(_account(user), web_session.csrf_token)


def end_session(ws: Workspace, sid: str) -> None:
    """Log out: forget the session server-side, so a copied cookie no longer works."""
    with ws.sessions.begin() as session:
        session.execute(delete(WebSession).where(WebSession.id_hash == sha256(sid)))
        session.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
