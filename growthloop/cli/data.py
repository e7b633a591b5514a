"""`growthloop import KIND FILE...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.ingest.files import BadRowError, ImportSummary, import_files
from growthloop.ingest.readers import FileFormatError
from growthloop.ingest.sources import KINDS, parse_mapping
from growthloop.store.events import StoreInUseError

PROGRESS_FROM_BYTES = 4 << 20
"""Files smaller than this import without a progress bar."""


@app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help=f"What the files hold: {', '.join(KINDS)}.")],
    files: Annotated[list[Path], typer.Argument(help="CSV, JSON Lines or Parquet files (.gz ok).")],
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="TARGET=SOURCE: read column TARGET from the file's SOURCE."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone", help="Zone of timestamps without an offset [default: project's]."
        ),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Store the good rows; write bad ones to a file.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Where --skip-bad writes rejected rows.")
    ] = None,
    data_dir: DataDir = None,
    project: ProjectOpt = None,
) -> None:
    """Import events, orders, spend, content or content metrics from files, all or nothing."""
    try:
        pairs = parse_mapping(mapping or [])
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    big = sum(f.stat().st_size for f in files if f.exists()) >= PROGRESS_FROM_BYTES
    with open_workspace(data_dir) as ws:
        try:
            if big:
                summary = _with_progress(
                    ws, kind, files, pairs, timezone, skip_bad, rejects, project
                )
            else:
                summary = import_files(
                    ws,
                    kind,
                    files,
                    mapping=pairs,
                    timezone=timezone,
                    skip_bad=skip_bad,
                    rejects_path=rejects,
                    project=project,
                )
        except (BadRowError, FileFormatError, StoreInUseError, ValueError) as exc:
            raise fail(str(exc)) from exc
    print_summary(summary)


def _with_progress(ws, kind, files, pairs, timezone, skip_bad, rejects, project) -> ImportSummary:  # type: ignore[no-untyped-def]
    """Bytes read per file, then one line per step (checking, storing) as it starts."""
    columns = (
        SpinnerColumn(finished_text="[green]✓[/]"),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[size]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}
        steps: list[TaskID] = []

        def update(name: str, done: int, total: int) -> None:
            if total == 0:  # a step without a size: finish the last one, start this one
                for task in steps:
                    bar.update(task, total=1, completed=1)
                steps.append(bar.add_task(name, total=None, size=""))
                return
            if name not in tasks:
                tasks[name] = bar.add_task(f"reading {name}", total=total, size="")
            bar.update(
                tasks[name], completed=done, size=f"{done / 2**20:,.1f}/{total / 2**20:,.1f} MB"
            )

        summary = import_files(
            ws,
            kind,
            files,
            mapping=pairs,
            timezone=timezone,
            skip_bad=skip_bad,
            rejects_path=rejects,
            project=project,
            progress=update,
        )
        for task in steps:
            bar.update(task, total=1, completed=1)
    return summary


def print_summary(summary: ImportSummary) -> None:
    console.print(
        f"[bold]{summary.kind}[/]: {summary.rows_read:,} rows read, "
        f"[green]{summary.rows_stored:,} stored[/], {summary.rows_duplicate:,} already present, "
        f"{summary.rows_skipped:,} skipped",
        highlight=False,
    )
    if summary.rejects_path:
        console.print(f"rejected rows with reasons: {summary.rejects_path}", highlight=False)
