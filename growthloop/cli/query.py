"""`growthloop query SPEC.json`: run any analysis spec and print its result."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from growthloop.analytics import QueryContext, SpecError, parse_spec, run_analysis
from growthloop.analytics.results import AnalysisResult, plain
from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Backend(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@app.command("query")
def query_command(
    spec_file: Annotated[
        Path, typer.Argument(help="A JSON analysis spec (docs/analytics.md); '-' reads stdin.")
    ],
    output: Annotated[
        OutputFormat, typer.Option("--format", help="How to print the result.")
    ] = OutputFormat.table,
    data_dir: DataDir = None,
    project: ProjectOpt = None,
    backend: Annotated[
        Backend, typer.Option("--backend", help="Engine: the project's DuckDB store, or Spark.")
    ] = Backend.duckdb,
    parquet: Annotated[
        str | None,
        typer.Option(
            "--parquet",
            help="With --backend spark: a `growthloop export parquet` directory or URI.",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="With --backend spark: local[N], spark://host:7077, yarn, k8s://... [local[*]].",
        ),
    ] = None,
) -> None:
    """Run an analysis spec (trends, funnel, retention, lifecycle, ...) on a project's events."""
    source = "<stdin>" if str(spec_file) == "-" else str(spec_file)
    try:
        text = sys.stdin.read() if source == "<stdin>" else spec_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{source}: cannot read the spec ({exc.strerror})", 2) from exc
    try:
        spec = parse_spec(text, source)
    except SpecError as exc:
        raise fail(str(exc), 2) from exc
    if backend is Backend.spark:
        _print(_run_on_spark(spec, source, parquet, spark_master), output)
        return
    if parquet is not None or spark_master is not None:
        raise fail("--parquet and --spark-master go with --backend spark", 2)
    with open_workspace(data_dir) as ws:
        slugs = [p.slug for p in ws.projects()]
        if project is not None and project not in slugs:
            raise fail(f"unknown project {project!r} (projects: {', '.join(slugs)})", 2)
        try:
            result = run_analysis(spec, QueryContext.for_workspace(ws, project))
        except SpecError as exc:
            raise fail(f"{source}: {exc}", 2) from exc
    _print(result, output)


def _run_on_spark(
    spec: Any, source: str, parquet: str | None, master: str | None
) -> AnalysisResult:
    """The spec on Spark over a Parquet export (docs/scale-out.md)."""
    if parquet is None:
        raise fail("--backend spark needs --parquet DIR (made by `growthloop export parquet`)", 2)
    from growthloop.analytics.spark import spark_session

    session = spark_session(master or "local[*]")
    session.sparkContext.setLogLevel("ERROR")
    try:
        ctx = QueryContext.for_spark(session, parquet)
        return run_analysis(spec, ctx)
    except SpecError as exc:
        raise fail(f"{source}: {exc}", 2) from exc
    except ValueError as exc:
        raise fail(str(exc), 2) from exc


def _cell(value: Any) -> str:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _print(result: AnalysisResult, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    table = result.table()
    if output is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows([[_cell(v) for v in row] for row in table.rows])
        return
    view = Table(title=result.kind)
    for column in table.columns:
        view.add_column(column)
    for row in table.rows:
        view.add_row(*(_cell(v) for v in row))
    console.print(view)
