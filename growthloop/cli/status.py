"""`growthloop status`."""

from __future__ import annotations

from rich.table import Table

from growthloop.cli.app import DataDir, app, console, open_workspace


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Print what a data directory holds."""
    with open_workspace(data_dir) as ws:
        console.print(f"data directory: [bold]{ws.settings.data_dir.resolve()}[/]")
        console.print(f"time zone {ws.settings.timezone}, currency {ws.settings.currency}")
        for st in ws.status():
            table = Table(title=f"project {st.slug} ({st.store_path})")
            table.add_column("table")
            table.add_column("rows", justify="right")
            for name, n in st.counts.items():
                table.add_row(name, f"{n:,}")
            console.print(table)
            if st.first_event:
                console.print(f"events from {st.first_event} to {st.last_event} (UTC)")
