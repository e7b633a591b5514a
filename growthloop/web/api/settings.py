"""GET /api/settings (admin): the settings in force, secrets left out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.engine import make_url

from growthloop.config import Settings
from growthloop.web.security import Admin, workspace_of

router = APIRouter(prefix="/api", tags=["settings"])


SECRET_WORDS = ("password", "secret", "token")


def visible_settings(settings: Settings) -> dict[str, Any]:
    """Every setting as in force; secrets are never shown, a database password is masked."""
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name == "secret_key":
            value = "(set)" if value else "(generated in the data directory)"
        elif any(word in name for word in SECRET_WORDS):
            value = "(set)" if value else None
        elif name == "metadata_url":
            url = settings.metadata_database_url
            value = make_url(url).render_as_string(hide_password=True)
        out[name] = str(value) if value is not None else None
    return out


@router.get("/settings")
def settings(principal: Admin, request: Request) -> dict[str, Any]:
    """The settings in force (defaults, growthloop.toml, GROWTHLOOP_* variables)."""
    return visible_settings(workspace_of(request).settings)
