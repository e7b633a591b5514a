"""Shared fixtures: real data directories, a real PostgreSQL database, the shared data sets."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from growthloop.demo.build import build_demo
from growthloop.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CDNOW = SHARED / "data" / "cdnow"
PG_ADMIN_URL = os.environ.get(
    "GROWTHLOOP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_problem: list[str] = []


def pytest_report_header(config: pytest.Config) -> list[str]:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            version = conn.execute(sa.text("select version()")).scalar()
        engine.dispose()
        return [f"PostgreSQL for metadata tests: {PG_ADMIN_URL} ({str(version).split(',')[0]})"]
    except Exception as exc:  # the header must not break collection
        _pg_problem.append(str(exc).splitlines()[0])
        return [
            "!" * 78,
            f"!! PostgreSQL NOT REACHABLE at {PG_ADMIN_URL}: metadata tests on PostgreSQL will FAIL",
            "!" * 78,
        ]


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh data directory with a SQLite metadata database."""
    ws = Workspace.open(tmp_path / "data")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test session, dropped afterwards."""
    if _pg_problem:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {_pg_problem[0]}")
    name = "growthloop_test_" + secrets.token_hex(4)
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each metadata test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo (seed 0, last day 2026-11-23), built once per test run. Its event store is
    shared by every test that uses it: read it, never write to it."""
    path = tmp_path_factory.mktemp("small_demo") / "data"
    with Workspace.open(path) as ws:
        build_demo(ws, "small", 0, date(2026, 11, 23))
    return path


@pytest.fixture
def demo_ws(demo_dir: Path, metadata_url: str) -> Iterator[Workspace]:
    """The small demo's event store with a fresh metadata database (SQLite, then PostgreSQL)."""
    with Workspace.open(demo_dir, metadata_url=metadata_url) as ws:
        yield ws
