"""HTTP clients of the web tests signed in with a given role, and the shared demo with a
metadata database of the test module's own and its planted patterns."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from growthloop.accounts import add_user, create_token
from growthloop.web.app import create_app
from growthloop.workspace import Workspace


@contextmanager
def demo_with_own_metadata(
    demo_dir: Path, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Workspace]:
    """The shared demo's event store (read only) with a fresh SQLite metadata database."""
    meta = tmp_path_factory.mktemp(name) / "meta.db"
    with Workspace.open(demo_dir, metadata_url=f"sqlite:///{meta}") as opened:
        yield opened


def demo_patterns(demo_dir: Path) -> dict[str, Any]:
    """The patterns the demo generator planted (its manifest)."""
    manifest = json.loads((demo_dir / "demo-source" / "manifest.json").read_text())
    return manifest["patterns"]  # type: ignore[no-any-return]


def client_for(
    ws: Workspace, role: str, app: FastAPI | None = None, *, raise_server_exceptions: bool = True
) -> TestClient:
    """A client of `app` (default: a new app on `ws`) with the token of a new user of `role`."""
    account, _ = add_user(ws, f"{role}-{random.getrandbits(32):x}", role)
    token = create_token(ws, account.id, "test")[1]
    return TestClient(
        app or create_app(ws),
        headers={"Authorization": f"Bearer {token}"},
        raise_server_exceptions=raise_server_exceptions,
    )
