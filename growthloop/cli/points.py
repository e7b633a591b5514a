"""`growthloop points`: award over a date range, expire points."""

from __future__ import annotations

from growthloop.cli.app import app  # noqa: F401 - commands register on the shared app
