"""The OpenAPI document and Swagger UI, served from the app (assets from swagger-ui-bundle)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from growthloop.web.security import Viewer

router = APIRouter(prefix="/api", include_in_schema=False)

# No inline script, so the page passes the app's Content-Security-Policy (script-src 'self').
_SWAGGER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>growthloop API</title>
<link rel="stylesheet" href="/static/swagger/swagger-ui.css">
<link rel="icon" href="/static/swagger/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>
"""


@router.get("/openapi.json")
def openapi(principal: Viewer, request: Request) -> dict[str, Any]:
    """The OpenAPI schema of /api."""
    schema: dict[str, Any] = request.app.openapi()
    return schema


@router.get("/docs")
def swagger_ui(principal: Viewer) -> HTMLResponse:
    """Interactive API docs; use "Authorize" with an API token to try write routes."""
    return HTMLResponse(_SWAGGER_PAGE)
