"""`growthloop keys` shows each project's ingestion key, the one the collector accepts."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from growthloop.cli import app
from growthloop.workspace import Workspace


def test_keys_lists_every_project_and_prints_one_for_scripts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Workspace.open(data) as ws:
        ws.ensure_project("shop", "Shop")
        expected = {p.slug: p.ingestion_key for p in ws.projects()}
    runner = CliRunner()
    listed = runner.invoke(app, ["keys", "--data-dir", str(data)], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    for slug, key in expected.items():
        assert slug in listed.output and key in listed.output
    one = runner.invoke(app, ["keys", "--data-dir", str(data), "--project", "shop"])
    assert one.exit_code == 0 and one.output.strip() == expected["shop"]
    missing = runner.invoke(app, ["keys", "--data-dir", str(data), "--project", "nope"])
    assert missing.exit_code == 1 and "no project 'nope'" in missing.output


def test_the_collector_doc_names_the_command() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "collector.md").read_text()
    assert "growthloop keys" in doc
