"""The ASGI app: JSON API under /api, server-rendered pages, static assets from installed packages.

Add a capability by writing a router in web/api/ and/or web/pages/ (plus its templates) and
listing it in that package's ROUTERS.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import plotly
import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from growthloop import __version__
from growthloop.i18n import LOCALES, negotiate
from growthloop.ingest.collector import CollectorFastPath, collector_router
from growthloop.store.events import StoreInUseError
from growthloop.web import api, pages
from growthloop.web.overview_cache import OverviewCache
from growthloop.web.rendering import LANG_COOKIE, render
from growthloop.web.security import Forbidden, NotAuthenticated, load_secret
from growthloop.workspace import Workspace

PLOTLY_JS_DIR = Path(plotly.__file__).parent / "package_data"
# Plotly draws with inline styles; scripts come only from this app.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def create_app(
    ws: Workspace, *, secure_cookies: bool = False, overview_cache_size: int = 128
) -> FastAPI:
    """The web app over an open workspace.

    `secure_cookies`: mark cookies Secure (HTTPS). `overview_cache_size`: overview results kept
    in memory until the data changes (0: compute every request).
    """
    app = FastAPI(
        title="growthloop API",
        version=__version__,
        description="Authenticate with a session cookie (browser) or 'Authorization: Bearer <API token>'.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.workspace = ws
    app.state.secret = load_secret(ws.settings)
    app.state.secure_cookies = secure_cookies
    app.state.overview_cache = OverviewCache(overview_cache_size)
    for router in [*api.ROUTERS, *pages.ROUTERS]:
        app.include_router(router)
    # SDK ingestion: checks the project's ingestion key, no login. Its wire formats are the SDKs'
    # (docs/collector.md), so it stays out of the /api schema.
    collector = collector_router(ws)
    app.include_router(collector, include_in_schema=False)
    app.mount("/static/vendor", StaticFiles(directory=PLOTLY_JS_DIR), name="vendor")
    app.mount(
        "/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger"
    )
    app.mount("/static", StaticFiles(packages=[("growthloop.web", "static")]), name="static")
    _add_handlers(app)
    app.add_middleware(LocaleAndHeaders)
    # Outermost: SDK traffic skips the routing and middleware the pages need.
    app.add_middleware(CollectorFastPath, handlers=collector.handlers, headers=SECURITY_HEADERS)
    return app


class LocaleAndHeaders:
    """Pure ASGI middleware (no per-request task and body stream, unlike `@app.middleware`):
    picks the request's locale (`request.state.locale`: ?lang=, which also sticks in a cookie,
    else the cookie, else Accept-Language) and adds the security headers to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        chosen = request.query_params.get("lang")
        cookie = request.cookies.get(LANG_COOKIE)
        request.state.locale = negotiate(
            request.headers.get("accept-language"), chosen if chosen in LOCALES else cookie
        )
        set_cookie: bytes | None = None
        if chosen in LOCALES:
            carrier = Response()
            carrier.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="lax",
                secure=scope["app"].state.secure_cookies,
            )
            set_cookie = next(v for k, v in carrier.raw_headers if k == b"set-cookie")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if set_cookie is not None:
                    headers.append("set-cookie", set_cookie.decode("latin-1"))
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "not authenticated: log in, or send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if exc.reason == "csrf":
            detail = (
                "CSRF token missing or wrong: send the session's token (csrf_token in GET /api/me)"
                " in the X-CSRF-Token header, or use an API token"
            )
        else:
            detail = f"forbidden: this needs the {exc.needed.name if exc.needed else ''} role"
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=403)
        return render(
            request, "error.html", {"status": 403, "key": f"error.forbidden_{exc.reason}"}, 403
        )

    @app.exception_handler(StoreInUseError)
    async def store_in_use(request: Request, exc: StoreInUseError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code not in (404, 405, 422, 429):
            return await http_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            exc.status_code,
        )
