"""`growthloop demo` creates the admin once and prints its one-time password, which logs in."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from growthloop.accounts import authenticate
from growthloop.cli import app
from growthloop.workspace import Workspace


def test_demo_prints_a_working_admin_password_once(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["demo", "--data-dir", str(tmp_path), "--end", "2026-10-31"]
    first = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    found = re.search(r"admin account admin, one-time password (\S+)", first.output)
    assert found, first.output
    with Workspace.open(tmp_path) as ws:
        assert authenticate(ws, "admin", found.group(1), "127.0.0.1") is not None
        assert authenticate(ws, "admin", "wrong-password", "127.0.0.1") is None
    again = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert "one-time password" not in again.output and "already exists" in again.output
