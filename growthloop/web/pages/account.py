"""Your API tokens: create (shown once) and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.accounts import AccountError, create_token, list_tokens, revoke_token
from growthloop.web.rendering import render
from growthloop.web.security import Viewer, workspace_of

router = APIRouter(include_in_schema=False)


def _page(request: Request, user_id: int, secret: str | None = None) -> Response:
    tokens = list_tokens(workspace_of(request), user_id)
    return render(request, "tokens.html", {"tokens": tokens, "secret": secret})


@router.get("/account/tokens")
def tokens_page(principal: Viewer, request: Request) -> Response:
    """Your tokens."""
    return _page(request, principal.account.id)


@router.post("/account/tokens")
def new_token(
    principal: Viewer, request: Request, name: Annotated[str, Form(max_length=100)]
) -> Response:
    """Create a token and show it once."""
    try:
        _, secret = create_token(workspace_of(request), principal.account.id, name)
    except AccountError as exc:
        raise HTTPException(422, f"name: {exc}") from None
    return _page(request, principal.account.id, secret)


@router.post("/account/tokens/{token_id}/revoke")
def revoke(principal: Viewer, request: Request, token_id: int) -> Response:
    """Revoke one of your tokens."""
    if not revoke_token(workspace_of(request), token_id, principal.account.id):
        raise HTTPException(404, f"token_id: no token {token_id} of yours")
    return RedirectResponse("/account/tokens", status_code=303)
