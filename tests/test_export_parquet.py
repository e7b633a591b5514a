"""`growthloop export parquet`: the small demo's tables as Parquet, read back with pyarrow and
with Spark, and compared with DuckDB's counts and sums."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from growthloop.cli import app
from growthloop.store.export import MANIFEST, ExportError, export_parquet, read_manifest
from growthloop.store.schema import TABLES
from growthloop.workspace import Workspace
from tests.spark_support import demo_export, spark_session

__all__ = ["demo_export", "spark_session"]  # fixtures used here


@pytest.fixture(scope="module")
def duck(demo_dir: Path) -> dict[str, Any]:
    """DuckDB's own figures for the demo: row counts, revenue, events per UTC day."""
    with Workspace.open(demo_dir) as ws:
        con = ws.events().con
        counts = ws.events().counts()
        revenue = con.execute(
            "SELECT (SELECT sum(revenue) FROM events), (SELECT sum(amount) FROM orders)"
        ).fetchall()[0]
        days = dict(
            con.execute(
                "SELECT CAST(timestamp AS DATE)::VARCHAR, count(*) FROM events GROUP BY 1"
            ).fetchall()
        )
        november = con.execute(
            "SELECT count(*) FROM events WHERE CAST(timestamp AS DATE)"
            " BETWEEN DATE '2026-11-01' AND DATE '2026-11-10'"
        ).fetchall()[0][0]
        people = con.execute("SELECT count(DISTINCT person_id) FROM events").fetchall()[0][0]
    return {
        "counts": counts,
        "revenue": revenue[0],
        "order_amount": revenue[1],
        "days": days,
        "november": november,
        "people": people,
    }


def test_pyarrow_reads_every_table_with_duckdbs_counts_and_sums(demo_export: Path, duck) -> None:
    manifest = read_manifest(demo_export)
    assert manifest["rows"] == duck["counts"]
    assert manifest["time_zone"] == "Asia/Shanghai"
    for name in TABLES:
        table = ds.dataset(demo_export / name, format="parquet", partitioning="hive").to_table()
        assert table.num_rows == duck["counts"][name], name
        assert set(TABLES[name].column_names) <= set(table.column_names)
    events = ds.dataset(demo_export / "events", format="parquet", partitioning="hive").to_table()
    assert pc.sum(events["revenue"]).as_py() == duck["revenue"]
    assert pc.count_distinct(events["person_id"]).as_py() == duck["people"]
    assert str(events.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    orders = pq.read_table(demo_export / "orders")
    assert pc.sum(orders["amount"]).as_py() == duck["order_amount"]


def test_events_are_partitioned_by_utc_day(demo_export: Path, duck) -> None:
    folders = sorted(p.name for p in (demo_export / "events").iterdir())
    assert folders == sorted(f"date={d}" for d in duck["days"])
    for day, count in list(duck["days"].items())[:5]:
        part = pq.read_table(demo_export / "events" / f"date={day}")
        assert part.num_rows == count
        dates = {t.date().isoformat() for t in part["timestamp"].to_pylist()}
        assert dates == {day}


def test_spark_reads_the_export_with_the_same_counts_and_sums(
    spark_session: Any, demo_export: Path, duck
) -> None:
    from growthloop.analytics.spark import register_views

    register_views(spark_session, str(demo_export))
    got = spark_session.sql(
        "SELECT count(*) n, sum(revenue) revenue, count(DISTINCT person_id) people,"
        " count(DISTINCT date) days FROM events"
    ).collect()[0]
    assert got["n"] == duck["counts"]["events"]
    assert got["revenue"] == duck["revenue"]
    assert got["people"] == duck["people"]
    assert got["days"] == len(duck["days"])
    # The partition column prunes: one day's count straight from its folder.
    day, count = next(iter(duck["days"].items()))
    one = spark_session.sql(f"SELECT count(*) n FROM events WHERE date = DATE '{day}'").collect()
    assert one[0]["n"] == count
    for name in TABLES:
        n = spark_session.sql(f"SELECT count(*) n FROM {name}").collect()[0]["n"]
        assert n == duck["counts"][name], name
    amount = spark_session.sql("SELECT sum(amount) s FROM orders").collect()[0]["s"]
    assert Decimal(amount) == duck["order_amount"]


def test_cli_export_with_dates_is_atomic_and_idempotent(
    demo_dir: Path, tmp_path: Path, duck
) -> None:
    target = tmp_path / "out"
    args = ["export", "parquet", str(target), "--data-dir", str(demo_dir)]
    runner = CliRunner()
    first = runner.invoke(app, [*args, "--from", "2026-11-01", "--to", "2026-11-10"])
    assert first.exit_code == 0, first.output
    assert read_manifest(target)["rows"]["events"] == duck["november"]
    assert len(list((target / "events").iterdir())) == 10
    again = runner.invoke(app, args)  # the whole store replaces the earlier export
    assert again.exit_code == 0, again.output
    assert read_manifest(target)["rows"] == duck["counts"]
    table = ds.dataset(target / "events", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == duck["counts"]["events"]
    # No staging or old folders are left beside the export.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_export_refuses_a_folder_that_is_not_an_export(demo_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with Workspace.open(demo_dir) as ws, pytest.raises(ExportError, match="not empty"):
        export_parquet(ws.events(), tmp_path, project="default", time_zone="UTC")
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / MANIFEST).exists()
    result = CliRunner().invoke(
        app,
        [
            "export",
            "parquet",
            str(tmp_path),
            "--from",
            "2026-11-10",
            "--to",
            "2026-11-01",
            "--data-dir",
            str(demo_dir),
        ],
    )
    assert result.exit_code == 2
    assert "after" in result.output


def test_cli_query_on_spark_prints_what_duckdb_prints(
    spark_session: Any, demo_export: Path, demo_dir: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "funnel.json"
    spec.write_text(
        '{"kind": "funnel", "steps": [{"event": "checkout"}, {"event": "purchase"}],'
        ' "window": {"value": 1, "unit": "day"},'
        ' "date_range": {"date_from": "2026-11-01", "date_to": "2026-11-20"},'
        ' "breakdown": {"property": {"key": "platform"}}}'
    )
    runner = CliRunner()
    duck = runner.invoke(app, ["query", str(spec), "--format", "csv", "--data-dir", str(demo_dir)])
    spark = runner.invoke(
        app,
        [
            "query",
            str(spec),
            "--format",
            "csv",
            "--backend",
            "spark",
            "--parquet",
            str(demo_export),
        ],
    )
    assert duck.exit_code == 0, duck.output
    assert spark.exit_code == 0, spark.output
    assert spark.output == duck.output
    assert duck.output.count("Android,") == 2  # one row per step
    missing = runner.invoke(app, ["query", str(spec), "--backend", "spark"])
    assert missing.exit_code == 2 and "--parquet" in missing.output


def test_a_project_without_events_exports_and_reads_on_spark(
    workspace: Workspace, tmp_path: Path, spark_session: Any
) -> None:
    from datetime import datetime

    from growthloop.analytics import QueryContext, parse_spec, run_analysis

    summary = export_parquet(
        workspace.events(), tmp_path / "empty", project="default", time_zone="UTC"
    )
    assert summary.rows == dict.fromkeys(TABLES, 0) and summary.partitions == 0
    ctx = QueryContext.for_spark(spark_session, tmp_path / "empty", now_utc=datetime(2026, 11, 24))
    spec = parse_spec(
        {"kind": "trends", "series": [{"math": "total"}], "date_range": {"date_from": "-3d"}}
    )
    result = run_analysis(spec, ctx)
    assert result.lines[0].values == (0.0, 0.0, 0.0)  # type: ignore[attr-defined]
