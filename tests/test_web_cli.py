"""`growthloop serve`, `users`, `tokens` and `projects` from the command line."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from growthloop.accounts import account_for_token, authenticate, list_users
from growthloop.cli import app
from growthloop.workspace import Workspace

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_users_tokens_projects(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    out = run("users", "add", "li.na", "--role", "operator", "--data-dir", data)
    password = re.search(r"password: (\S+)", out)
    assert password
    bad = runner.invoke(app, ["users", "add", "li.na", "--data-dir", data])
    assert bad.exit_code == 1 and "already exists" in bad.output
    wrong_role = runner.invoke(app, ["users", "add", "x", "--role", "boss", "--data-dir", data])
    assert wrong_role.exit_code == 1 and "unknown role 'boss'" in wrong_role.output
    assert "operator" in run("users", "list", "--data-dir", data)

    token_out = run("tokens", "create", "li.na", "cron", "--data-dir", data)
    secret = re.search(r"(glt_\S+)", token_out)
    assert secret
    assert secret.group(1) not in run("tokens", "list", "--data-dir", data)

    key_out = run("projects", "add", "mini", "--name", "小程序", "--data-dir", data)
    key = re.search(r"ingestion key: (gl_\S+)", key_out)
    assert key
    listing = run("projects", "list", "--data-dir", data)
    assert "mini" in listing and key.group(1) in listing
    assert runner.invoke(app, ["projects", "add", "Bad Slug", "--data-dir", data]).exit_code == 1

    with Workspace.open(data) as ws:
        account = authenticate(ws, "li.na", password.group(1), "127.0.0.1")
        assert account is not None and account.role.name == "operator"
        assert account_for_token(ws, secret.group(1)) == account
    run("tokens", "revoke", "1", "--data-dir", data)
    run("users", "disable", "li.na", "--data-dir", data)
    with Workspace.open(data) as ws:
        assert account_for_token(ws, secret.group(1)) is None
        assert authenticate(ws, "li.na", password.group(1), "127.0.0.1") is None


def test_serve_runs_the_app_on_the_given_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = "from growthloop.cli import main; main()"
    cmd = [sys.executable, "-c", cli, "serve", "--data-dir", str(tmp_path / "d")]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as response:
                    assert response.status == 200
                    assert "growthloop" in response.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "growthloop serve did not answer in 60 s"
                time.sleep(0.2)
        # The first start created an admin and printed a one-time password that works.
        with Workspace.open(tmp_path / "d") as ws:
            [admin] = list_users(ws)
            assert (admin.name, admin.role) == ("admin", "admin")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/me")
            raise AssertionError("/api/me answered without a login")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = proc.stdout.read() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    password = re.search(r"one-time password: (\S+)", output)
    assert password, output
    with Workspace.open(tmp_path / "d") as ws:
        assert authenticate(ws, "admin", password.group(1), "127.0.0.1") is not None
