"""The Typer app and the options every command shares; command modules register on `app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from growthloop.workspace import Workspace

app = typer.Typer(
    help="growthloop: tracking, analysis, growth models and reports for operations teams.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="GROWTHLOOP_DATA_DIR",
        help="Data directory [default: ./growthloop-data].",
        show_default=False,
    ),
]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", help="Project slug [default: the default project].")
]


def open_workspace(data_dir: Path | None) -> Workspace:
    return Workspace.open(data_dir)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for the user and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _print_version(value: bool) -> None:
    if value:
        from growthloop import __version__

        console.print(f"growthloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """growthloop: tracking, analysis, growth models and reports for operations teams."""
