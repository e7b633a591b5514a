"""`growthloop segments`: list, recompute and export saved segments."""

from __future__ import annotations

from growthloop.cli.app import app  # noqa: F401 - commands register on the shared app
