"""Command line interface. Each module registers its commands on the shared Typer app."""

from growthloop.cli import (  # noqa: F401 - registers commands
    data,
    demo,
    export,
    jobs,
    keys,
    outreach,
    points,
    query,
    report,
    segments,
    status,
    web,
)
from growthloop.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
