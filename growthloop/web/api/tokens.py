"""API tokens: each user manages their own; an admin may list and revoke everyone's."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from growthloop.accounts import AccountError, Role, create_token, list_tokens, revoke_token
from growthloop.store.metadata import ApiToken
from growthloop.web.security import Viewer, workspace_of

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


class TokenOut(BaseModel):
    """A token as the API shows it: never the secret."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


class NewToken(BaseModel):
    """A token to create."""

    name: str = Field(min_length=1, max_length=100)


class CreatedToken(BaseModel):
    """The new token and its secret, shown this once."""

    token: TokenOut
    secret: str = Field(
        description="The token; shown once, send it as 'Authorization: Bearer ...'."
    )


def token_out(t: ApiToken) -> TokenOut:
    """The API view of a stored token."""
    return TokenOut(
        id=t.id,
        user_id=t.user_id,
        name=t.name,
        prefix=t.prefix,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        revoked=t.revoked_at is not None,
    )


@router.get("")
def tokens(principal: Viewer, request: Request, all_users: bool = False) -> list[TokenOut]:
    """Your tokens (an admin may pass all_users=true)."""
    if all_users and not principal.account.may(Role.admin):
        raise HTTPException(403, "all_users: only an admin sees other users' tokens")
    owner = None if all_users else principal.account.id
    return [token_out(t) for t in list_tokens(workspace_of(request), owner)]


@router.post("", status_code=201)
def new_token(principal: Viewer, request: Request, body: NewToken) -> CreatedToken:
    """Create a token acting as you, with your role."""
    try:
        token, secret = create_token(workspace_of(request), principal.account.id, body.name)
    except AccountError as exc:
        raise HTTPException(422, f"name: {exc}") from None
    return CreatedToken(token=token_out(token), secret=secret)


@router.delete("/{token_id}", status_code=204)
def delete_token(principal: Viewer, request: Request, token_id: int) -> None:
    """Revoke one of your tokens (an admin: anyone's)."""
    owner = None if principal.account.may(Role.admin) else principal.account.id
    if not revoke_token(workspace_of(request), token_id, owner):
        raise HTTPException(404, f"token_id: no token {token_id} of yours")
