"""Command line interface. Each module registers its commands on the shared Typer app."""

from growthloop.cli import (  # noqa: F401 - registers commands
    data,
    demo,
    keys,
    query,
    report,
    status,
    web,
)
from growthloop.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
