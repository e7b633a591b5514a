"""The test run's one Spark session (local[2], 4 shuffle partitions) and the small demo's
Parquet export, shared by the backend suite and the export tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from growthloop.analytics.spark import find_java_home, local_session
from growthloop.store.export import export_parquet
from growthloop.workspace import Workspace


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    if find_java_home() is None:
        pytest.skip("Spark needs Java 17+ (no JAVA_HOME and no java on PATH)")
    session = local_session("local[2]", shuffle_partitions=4, app_name="growthloop-tests")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_export(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo exported with `export_parquet` (read-only for the tests)."""
    out = tmp_path_factory.mktemp("demo_parquet") / "export"
    with Workspace.open(demo_dir) as ws:
        export_parquet(ws.events(), out, project="default", time_zone=ws.settings.timezone)
    return out
