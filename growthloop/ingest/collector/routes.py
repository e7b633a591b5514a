"""HTTP endpoints for each SDK, authenticated by the project's ingestion key (no user login)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from growthloop.ingest.collector import posthog_wire, segment_wire, sensors_wire
from growthloop.ingest.collector.decode import BadRequest, gunzip, parse_json, read_body
from growthloop.ingest.collector.service import Collector, CollectorConfig
from growthloop.workspace import Workspace

POSTHOG_PATHS = ("/capture/", "/batch/", "/e/", "/i/v0/e/")
SEGMENT_PATHS = tuple(f"/v1/{kind}" for kind in (*segment_wire.TYPES, "batch"))
SENSORS_PATHS = ("/sa", "/sa.gif")
PUBLIC_ROUTES = frozenset(
    {(m, p) for p in (*POSTHOG_PATHS, *SEGMENT_PATHS, *SENSORS_PATHS) for m in ("POST", "OPTIONS")}
    | {("GET", p) for p in SENSORS_PATHS}
)
"""(method, path) of every ingestion route: open without a login, they check the project's
ingestion key instead."""

Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """Turn a BadRequest into its status and a JSON {"detail": ...}; allow the calling site
    (CORS) to read the answer."""

    async def run(request: Request) -> Response:
        try:
            response = await handler(request)
        except BadRequest as exc:
            response = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status, headers=exc.headers
            )
        origin = request.headers.get("origin")
        if origin:
            response.headers.update(_cors(origin))
        return response

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def _cors(origin: str) -> dict[str, str]:
    # Browser SDKs post from the tracked site's origin, with credentials (posthog-js). The key
    # in the body authenticates, never a cookie, so echoing any origin gives a page no power.
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


async def cors_preflight(request: Request) -> Response:
    """CORS preflight for browser SDKs (their JSON and gzip requests need one)."""
    origin = request.headers.get("origin")
    method = request.headers.get("access-control-request-method")
    if not origin or not method:
        raise BadRequest(
            400, "OPTIONS here is a CORS preflight: send Origin and Access-Control-Request-Method"
        )
    asked = request.headers.get("access-control-request-headers")
    headers = {
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": asked or "Content-Type, Content-Encoding, Authorization",
        "Access-Control-Max-Age": "86400",
    }
    return Response(status_code=204, headers=headers)


def _ip(request: Request) -> str | None:
    """The sender's address (uvicorn puts X-Forwarded-For there for trusted proxies)."""
    return request.client.host if request.client else None


class CollectorRouter(APIRouter):
    """The ingestion routes; `handlers` maps (method, path) to each route's function, for
    `CollectorFastPath`."""

    handlers: dict[tuple[str, str], Handler]


class CollectorFastPath:
    """Pure ASGI middleware that answers the ingestion routes itself, ahead of the app's other
    middleware and its router (FastAPI's route matching over every route of the app, request
    parsing and dependency solving cost more per request than a batch's events do; these
    routes need no session, CSRF or locale). Everything else goes on to `app`. The routes stay
    registered on the router too, so an app without this middleware serves them the same way.

    `headers`: added to every answer (the app's security headers)."""

    def __init__(
        self,
        app: ASGIApp,
        handlers: Mapping[tuple[str, str], Handler],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.app, self.handlers = app, dict(handlers)
        self.headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.handlers.get((scope["method"], scope["path"]))
            if handler is not None:
                response = await handler(Request(scope, receive))
                response.raw_headers.extend(self.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def collector_router(ws: Workspace, config: CollectorConfig | None = None) -> CollectorRouter:
    """The ingestion endpoints; the router's lifespan starts and stops spool and loader."""
    collector = Collector(ws, config)
    limit = collector.config.max_body_bytes
    handlers: dict[tuple[str, str], Handler] = {}

    def add(path: str, handler: Handler, method: str) -> None:
        router.add_api_route(path, handler, methods=[method])
        handlers[(method, path)] = handler

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        collector.start()
        app.state.collector = collector
        try:
            yield
        finally:
            collector.stop()

    router = CollectorRouter(lifespan=lifespan, tags=["ingestion"])
    router.handlers = handlers

    async def posthog_capture(request: Request) -> Response:
        """PostHog capture (v0): one event, a list, or {"batch": [...]}."""
        body = await read_body(request, limit)
        headers = request.headers
        payload = posthog_wire.decode_body(
            body,
            headers.get("content-type", ""),
            headers.get("content-encoding", ""),
            request.query_params,
            limit,
        )
        batch = posthog_wire.read_batch(payload, request.query_params, datetime.now(UTC))
        single = isinstance(payload, dict) and "batch" not in payload
        accepted, rejected = await collector.accept(batch, single=single, client_ip=_ip(request))
        return JSONResponse({"status": 1, "accepted": accepted, "rejected": rejected})

    for path in POSTHOG_PATHS:
        add(path, _guarded(posthog_capture), "POST")

    def segment(kind: str) -> Handler:
        async def segment_message(request: Request) -> Response:
            """Segment / RudderStack tracking API."""
            body = await read_body(request, limit)
            if "gzip" in request.headers.get("content-encoding", "").lower():
                body = gunzip(body, limit)
            payload = parse_json(body, "body")
            batch = segment_wire.read_batch(
                payload, kind, request.headers.get("authorization"), datetime.now(UTC)
            )
            accepted, rejected = await collector.accept(
                batch, single=kind != "batch", client_ip=_ip(request)
            )
            return JSONResponse({"success": True, "accepted": accepted, "rejected": rejected})

        segment_message.__name__ = f"segment_{kind}"
        return segment_message

    for kind in (*segment_wire.TYPES, "batch"):
        add(f"/v1/{kind}", _guarded(segment(kind)), "POST")

    async def sensors(request: Request) -> Response:
        """Sensors Data: form fields data / data_list (base64, gzip=1 for gzip'd JSON)."""
        body = await read_body(request, limit) if request.method == "POST" else b""
        query: dict[str, Any] = dict(request.query_params)
        messages, key = sensors_wire.decode_messages(body, query, limit)
        batch = sensors_wire.read_batch(messages, key, datetime.now(UTC))
        accepted, rejected = await collector.accept(batch, single=False, client_ip=_ip(request))
        return JSONResponse({"accepted": accepted, "rejected": rejected})

    for path in SENSORS_PATHS:
        add(path, _guarded(sensors), "GET")
        add(path, _guarded(sensors), "POST")
    for path in (*POSTHOG_PATHS, *SEGMENT_PATHS, *SENSORS_PATHS):
        add(path, _guarded(cors_preflight), "OPTIONS")
    return router
