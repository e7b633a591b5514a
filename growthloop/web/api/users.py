"""Users (admin only): list, add (returns a one-time password), change role or disable."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from growthloop.accounts import AccountError, add_user, list_users, update_user
from growthloop.web.security import Admin, workspace_of

router = APIRouter(prefix="/api/users", tags=["users"])
RoleName = Literal["viewer", "operator", "admin"]


class UserOut(BaseModel):
    """A user as the API shows it (never the password hash)."""

    id: int
    name: str
    role: str
    active: bool
    created_at: datetime


class NewUser(BaseModel):
    """A user to add; without a password one is generated."""

    name: str = Field(min_length=1, max_length=100)
    role: RoleName = "viewer"
    password: str | None = Field(default=None, min_length=8)


class CreatedUser(BaseModel):
    """The new user and their one-time password."""

    user: UserOut
    password: str = Field(description="Shown once; give it to the user.")


class UserChange(BaseModel):
    """Fields to change; absent fields stay."""

    role: RoleName | None = None
    active: bool | None = None


def _out(request: Request, user_id: int) -> UserOut:
    for u in list_users(workspace_of(request)):
        if u.id == user_id:
            return UserOut(
                id=u.id, name=u.name, role=u.role, active=u.active, created_at=u.created_at
            )
    raise HTTPException(404, f"user_id: no user {user_id}")


@router.get("")
def users(principal: Admin, request: Request) -> list[UserOut]:
    """All users."""
    return [
        UserOut(id=u.id, name=u.name, role=u.role, active=u.active, created_at=u.created_at)
        for u in list_users(workspace_of(request))
    ]


@router.post("", status_code=201)
def create_user(principal: Admin, request: Request, body: NewUser) -> CreatedUser:
    """Add a user; without a password one is generated and returned once."""
    try:
        account, password = add_user(workspace_of(request), body.name, body.role, body.password)
    except AccountError as exc:
        raise HTTPException(422, f"name: {exc}") from None
    return CreatedUser(user=_out(request, account.id), password=password)


@router.patch("/{user_id}")
def change_user(principal: Admin, request: Request, user_id: int, body: UserChange) -> UserOut:
    """Change a user's role or disable/enable them (disabling ends sessions and tokens)."""
    name = _out(request, user_id).name
    if user_id == principal.account.id and (
        body.active is False or body.role not in (None, "admin")
    ):
        raise HTTPException(422, "user_id: you cannot disable or demote yourself")
    update_user(
        workspace_of(request),
        name,
        role=body.role,
        active=body.active,
    )
    return _out(request, user_id)
