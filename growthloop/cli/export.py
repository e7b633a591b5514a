"""`growthloop export parquet`: the event store's tables as Parquet files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.store.events import StoreInUseError
from growthloop.store.export import ExportError, export_parquet

export_app = typer.Typer(
    help="Export the event store (for Spark and other tools).", no_args_is_help=True
)
app.add_typer(export_app, name="export")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", 2) from exc


@export_app.command("parquet")
def parquet_command(
    directory: Annotated[Path, typer.Argument(help="Where to write (created or replaced).")],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First UTC day of events to export (YYYY-MM-DD).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last UTC day of events to export (YYYY-MM-DD).")
    ] = None,
    data_dir: DataDir = None,
    project: ProjectOpt = None,
) -> None:
    """Write a project's tables as Parquet, events partitioned by UTC date (docs/scale-out.md)."""
    first, last = _day(date_from, "--from"), _day(date_to, "--to")
    with open_workspace(data_dir) as ws:
        slugs = [p.slug for p in ws.projects()]
        slug = project or ws.settings.default_project
        if slug not in slugs:
            raise fail(f"unknown project {slug!r} (projects: {', '.join(slugs)})", 2)
        try:
            summary = export_parquet(
                ws.events(slug),
                directory,
                project=slug,
                time_zone=ws.settings.timezone,
                date_from=first,
                date_to=last,
            )
        except (ExportError, StoreInUseError) as exc:
            raise fail(str(exc), 2) from exc
    counts = ", ".join(f"{name} {n:,}" for name, n in summary.rows.items())
    console.print(
        f"exported project {slug} to {summary.path}: {counts} ({summary.partitions} event days)",
        highlight=False,
    )
