"""GET /api/me: who the caller is."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from growthloop.web.security import Viewer

router = APIRouter(prefix="/api", tags=["account"])


class Me(BaseModel):
    """The caller."""

    id: int
    name: str
    role: str
    auth: str
    csrf_token: str | None = Field(
        default=None, description="For session (cookie) callers: send it as X-CSRF-Token on writes."
    )


@router.get("/me")
def me(principal: Viewer) -> Me:
    """The authenticated user, their role and how they authenticated (session or token)."""
    a = principal.account
    return Me(
        id=a.id, name=a.name, role=a.role.name, auth=principal.via, csrf_token=principal.csrf_token
    )
