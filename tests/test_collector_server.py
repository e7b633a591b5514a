"""A real uvicorn server on 127.0.0.1 for the collector tests, and tests of the server itself:
the ingestion routes are open without a login but need the project's key, and the app starts
and stops the collector with its lifespan."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from growthloop.ingest.collector import PUBLIC_ROUTES, CollectorConfig, collector_router
from growthloop.web.app import create_app
from growthloop.workspace import Workspace


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` on a free port of 127.0.0.1; yields the base URL. Leaving the block runs
    the app's shutdown (the collector loads everything spooled before it returns)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def collector_app(ws: Workspace, **config: Any) -> FastAPI:
    """Just the collector, with its own limits (the full app uses the defaults)."""
    app = FastAPI()
    app.include_router(collector_router(ws, CollectorConfig(**config)))
    return app


def key_of(ws: Workspace, slug: str | None = None) -> str:
    slug = slug or ws.settings.default_project
    return next(p.ingestion_key for p in ws.projects() if p.slug == slug)


def test_the_web_app_serves_ingestion_without_login_but_with_the_key(workspace: Workspace) -> None:
    event = {"event": "hello", "distinct_id": "u1", "timestamp": "2026-03-01T10:00:00Z"}
    with live_server(create_app(workspace)) as url:
        ok = httpx.post(f"{url}/capture/", json={**event, "api_key": key_of(workspace)})
        missing = httpx.post(f"{url}/capture/", json=event)
        wrong = httpx.post(f"{url}/capture/", json={**event, "api_key": "gl_nope"})
        login_needed = httpx.get(f"{url}/api/me")
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"status": 1, "accepted": 1, "rejected": 0}
    assert missing.status_code == 401 and "no ingestion key" in missing.json()["detail"]
    assert wrong.status_code == 401 and "unknown ingestion key" in wrong.json()["detail"]
    assert login_needed.status_code == 401  # the rest of the app still needs a login
    rows = workspace.events().con.execute("SELECT event, distinct_id FROM events").fetchall()
    assert rows == [("hello", "u1")]


def test_public_routes_are_exactly_the_ingestion_routes(workspace: Workspace) -> None:
    app = create_app(workspace)
    paths = {p for _, p in PUBLIC_ROUTES}
    found = {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and str(route.path) in paths
        for method in route.methods or ()
    }
    assert found == PUBLIC_ROUTES


def test_a_project_added_while_serving_is_accepted(workspace: Workspace) -> None:
    with live_server(collector_app(workspace)) as url:
        project = workspace.ensure_project("shop")
        time.sleep(1.1)  # unknown keys re-read the projects at most once a second
        response = httpx.post(
            f"{url}/batch/",
            json={
                "api_key": project.ingestion_key,
                "batch": [{"event": "e", "distinct_id": "d", "timestamp": "2026-01-01T00:00:00Z"}],
            },
        )
        assert response.status_code == 200, response.text
    assert workspace.events("shop").count("events") == 1
    assert workspace.events().count("events") == 0


def test_the_settings_set_the_collector_limits(tmp_path: Path) -> None:
    """`collector_*` settings (overrides here; GROWTHLOOP_COLLECTOR_* or growthloop.toml alike)
    reach the collector of the web app, which answers ingestion ahead of its pages' middleware,
    with the same security headers; the pages keep theirs and their language cookie."""
    ws = Workspace.open(tmp_path / "data", collector_max_body_bytes=2048)
    try:
        assert CollectorConfig.from_settings(ws.settings).max_body_bytes == 2048
        event = {"event": "e", "distinct_id": "d", "timestamp": "2026-01-01T00:00:00Z"}
        small = {"api_key": key_of(ws), "batch": [event]}
        big = {"api_key": key_of(ws), "batch": [{**event, "properties": {"x": "y" * 3000}}]}
        with live_server(create_app(ws)) as url:
            ok = httpx.post(f"{url}/batch/", json=small, headers={"Origin": "https://a.example"})
            refused = httpx.post(f"{url}/batch/", json=big)
            page = httpx.get(f"{url}/login?lang=en")
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"status": 1, "accepted": 1, "rejected": 0}
        assert ok.headers["x-content-type-options"] == "nosniff"
        assert ok.headers["access-control-allow-origin"] == "https://a.example"
        assert refused.status_code == 413
        assert "2,048 bytes" in refused.json()["detail"]
        # The pages' middleware still runs for everything else.
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert "gl_lang=en" in page.headers["set-cookie"]
        assert ws.events().count("events") == 1
    finally:
        ws.close()


def test_timestamps_in_every_form_are_stored_as_the_sdk_meant(workspace: Workspace) -> None:
    """Epoch seconds (float, int), epoch milliseconds and ISO strings, on the plain-event path
    and (with a user agent) on the full one, against Python's own reading of each."""
    stamps: list[float | int | str] = [
        1772330400.25,
        1772330401,
        1772330402123,
        "2026-03-01T18:00:03.5+08:00",
        "2026-03-01T10:00:04",
    ]
    batch = []
    for n, stamp in enumerate(stamps):
        for ua in (None, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"):
            props = {"n": n, **({"$raw_user_agent": ua} if ua else {})}
            uid = f"00000000-0000-4000-8000-{len(batch):012d}"
            batch.append({"event": "e", "distinct_id": "d", "uuid": uid, "timestamp": stamp,
                          "properties": props})  # fmt: skip
    with live_server(collector_app(workspace)) as url:
        r = httpx.post(f"{url}/batch/", json={"api_key": key_of(workspace), "batch": batch})
        assert r.json() == {"status": 1, "accepted": len(batch), "rejected": 0}, r.text
    stored = (
        workspace.events()
        .con.execute(
            "SELECT CAST(properties->>'n' AS INTEGER), epoch_us(timestamp) FROM events ORDER BY 1"
        )
        .fetchall()
    )

    def expected(stamp: float | int | str) -> int:
        if isinstance(stamp, str):
            moment = datetime.fromisoformat(stamp)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            moment = datetime.fromtimestamp(stamp / 1000 if stamp >= 1e11 else stamp, UTC)
        return round(moment.timestamp() * 1_000_000)

    assert stored == [(n, expected(s)) for n, s in enumerate(stamps) for _ in range(2)]
