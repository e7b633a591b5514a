"""A real server on 127.0.0.1 over a real data directory, and Debian's Chromium via Playwright."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from growthloop.accounts import add_user
from growthloop.demo.build import build_demo
from growthloop.web.app import create_app
from growthloop.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass(frozen=True)
class Site:
    url: str
    workspace: Workspace
    admin: str
    password: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def fill_demo(ws: Workspace) -> None:
    """The small demo business (growthloop.demo), loaded into the workspace's default project."""
    build_demo(ws, size="small", seed=7)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace.open(tmp_path_factory.mktemp("browser") / "data")
    fill_demo(ws)
    _, password = add_user(ws, "admin", "admin")
    port = free_port()
    config = uvicorn.Config(
        create_app(ws), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", ws, "admin", password)
    server.should_exit = True
    thread.join(timeout=10)
    ws.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./scripts/setup --test as root (apt chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> object:
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: object, name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    return take
