"""`growthloop export parquet`: the event store's tables as Parquet files."""

from __future__ import annotations

from growthloop.cli.app import app  # noqa: F401 - commands register on the shared app
