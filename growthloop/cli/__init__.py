"""Command line interface. Each module registers its commands on the shared Typer app."""

from growthloop.cli import data, status  # noqa: F401 - registers commands
from growthloop.cli import web  # noqa: F401 - registers commands
from growthloop.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
