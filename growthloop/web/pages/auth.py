"""Log in and log out. The login form is the only page open to anonymous visitors."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.accounts import authenticate, end_session, login_blocked, start_session
from growthloop.web.rendering import render
from growthloop.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Viewer,
    cookie_signer,
    workspace_of,
)

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh login to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_form(request: Request, next_url: str, error: str | None, status: int) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": next_url, "error": error},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The login form."""
    return _login_form(request, safe_next(next), None, 200)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password (rate-limited per name and address) and start a session."""
    ws = workspace_of(request)
    target = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_form(request, target, "login.error_expired", 403)
    ip = request.client.host if request.client else "unknown"
    if login_blocked(ws, name, ip):
        return _login_form(request, target, "login.error_blocked", 429)
    account = authenticate(ws, name, password, ip)
    if account is None:
        return _login_form(request, target, "login.error_wrong", 401)
    sid, _ = start_session(ws, account)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie_signer(request.app.state.secret).dumps(sid),
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(principal: Viewer, request: Request) -> Response:
    """End the session server-side and drop the cookie."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        end_session(workspace_of(request), cookie_signer(request.app.state.secret).loads(raw))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
