"""The stores: settings, DuckDB event store schema, metadata migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from growthloop.config import load_settings, memory_bytes
from growthloop.ingest.files import BadRowError, import_files
from growthloop.store.events import EventStore, StoreInUseError
from growthloop.store.schema import TABLES
from growthloop.workspace import Workspace


def test_settings_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "growthloop.toml").write_text('timezone = "Europe/Berlin"\ncurrency = "eur"\n')
    settings = load_settings(tmp_path)
    assert settings.timezone == "Europe/Berlin"
    assert settings.currency == "EUR"
    monkeypatch.setenv("GROWTHLOOP_TIMEZONE", "UTC")
    assert load_settings(tmp_path).timezone == "UTC"
    monkeypatch.setenv("GROWTHLOOP_DATA_DIR", str(tmp_path))
    assert load_settings().data_dir == tmp_path


def test_settings_reject_unknown_timezone(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        load_settings(tmp_path, timezone="Mars/Olympus")


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert (settings.timezone, settings.currency) == ("Asia/Shanghai", "CNY")
    assert settings.metadata_database_url.endswith("metadata.sqlite")


def test_event_store_has_every_documented_column(tmp_path: Path) -> None:
    with EventStore(tmp_path / "e.duckdb") as store:
        for table in TABLES.values():
            cols = [r[0] for r in store.con.execute(f"DESCRIBE {table.name}").fetchall()]
            assert cols == list(table.column_names)
    doc = (Path(__file__).parent.parent / "docs" / "data-model.md").read_text()
    for table in TABLES.values():
        assert f"## {table.name}" in doc
        for col in table.columns:
            assert f"| `{col.name}` |" in doc, f"docs/data-model.md lacks {table.name}.{col.name}"


def test_second_writer_is_told_the_store_is_in_use(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "e.duckdb"
    with EventStore(path):
        code = (
            "import sys; from pathlib import Path; from growthloop.store.events import EventStore, "
            "StoreInUseError\ntry:\n EventStore(Path(sys.argv[1]))\nexcept StoreInUseError as e:\n"
            " print(e); sys.exit(3)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True
        )
    assert proc.returncode == 3, proc.stderr
    assert "in use by another growthloop process" in proc.stdout
    assert StoreInUseError.__doc__


def test_metadata_migrates_on_both_databases(metadata_url: str, tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        inspector = sa.inspect(ws.engine)
        assert {"projects", "users", "import_runs", "alembic_version"} <= set(
            inspector.get_table_names()
        )
        # The PostgreSQL database is shared by the test session: other tests' projects may be
        # there too, so the default project is found by its slug.
        [project] = [p for p in ws.projects() if p.slug == "default"]
        assert project.ingestion_key.startswith("gl_")
    # Opening again migrates nothing and keeps the project and its key.
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        [again] = [p for p in ws.projects() if p.slug == "default"]
        assert again.ingestion_key == project.ingestion_key


def test_event_store_memory_limit_from_settings(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d", duckdb_memory_limit="512MB") as ws:
        got = ws.events().con.execute("SELECT current_setting('memory_limit')").fetchall()
        assert got == [("488.2 MiB",)]  # DuckDB shows 512 MB in MiB
    with pytest.raises(ValidationError, match="duckdb_memory_limit"):
        load_settings(tmp_path, duckdb_memory_limit="lots")


def test_an_import_runs_with_the_import_memory_limit(tmp_path: Path) -> None:
    """While an import runs, the store has import_memory_limit (or duckdb_memory_limit when
    larger); afterwards, duckdb_memory_limit again, also when the import fails."""
    path = tmp_path / "e.csv"
    path.write_text("event,distinct_id,timestamp\nview,a,2026-01-01 10:00\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("event,distinct_id,timestamp\nview,a,yesterday\n")
    seen: list[object] = []
    limit = "SELECT current_setting('memory_limit')"
    for import_limit, during in (("1GB", "953.6 MiB"), ("256MB", "488.2 MiB")):
        with Workspace.open(
            tmp_path / import_limit, duckdb_memory_limit="512MB", import_memory_limit=import_limit
        ) as ws:
            con = ws.events().con
            seen.clear()

            def note(*_: object, con: duckdb.DuckDBPyConnection = con) -> None:
                seen.append(con.execute(limit).fetchall()[0])

            import_files(ws, "events", [path], progress=note)
            assert seen[-1] == (during,)
            assert con.execute(limit).fetchall() == [("488.2 MiB",)]
            with pytest.raises(BadRowError):
                import_files(ws, "events", [bad])
            assert con.execute(limit).fetchall() == [("488.2 MiB",)]
    with pytest.raises(ValidationError, match="import_memory_limit"):
        load_settings(tmp_path, import_memory_limit="150%")


def test_memory_bytes() -> None:
    assert memory_bytes("4GB") == 4 * 10**9
    assert memory_bytes("1.5 GiB") == 3 * 2**29
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_bytes("50%") == physical // 2


def test_threads_opening_the_store_at_once_share_one(workspace: Workspace) -> None:
    """The collector's loader and the job runner open the store at start-up together; both must
    get the one writer (two EventStores on one file fail with a write-write conflict)."""
    import threading

    start = threading.Barrier(8)
    got: list[object] = []

    def open_store() -> None:
        start.wait()
        got.append(workspace.events("fresh"))

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 8 and all(store is got[0] for store in got)
