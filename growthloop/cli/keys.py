"""`growthloop keys`: each project's ingestion key, which SDKs send to the collector."""

from __future__ import annotations

from rich.table import Table

from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace


@app.command()
def keys(data_dir: DataDir = None, project: ProjectOpt = None) -> None:
    """Show the ingestion key of each project (with --project: only that key, for scripts)."""
    with open_workspace(data_dir) as ws:
        projects = ws.projects()
    if project is not None:
        for p in projects:
            if p.slug == project:
                console.print(p.ingestion_key, highlight=False, soft_wrap=True)
                return
        raise fail(f"no project {project!r} (see growthloop projects list)")
    table = Table("project", "name", "ingestion key")
    for p in projects:
        table.add_row(p.slug, p.name, p.ingestion_key)
    console.print(table)
    console.print(
        "SDKs send the key as: PostHog api key, Segment/RudderStack write key,"
        " Sensors server_url '.../sa?token=KEY' (see docs/collector.md)",
        highlight=False,
    )
