"""Docs kept honest: every setting and every CLI command is documented; README starts right."""

from __future__ import annotations

from pathlib import Path

import typer.main

from growthloop.cli import app
from growthloop.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


def test_every_setting_is_documented() -> None:
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"| `{name}` |" in text, f"setting {name} is missing from docs/getting-started.md"


def test_every_cli_command_is_documented() -> None:
    group = typer.main.get_command(app)
    commands: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        commands += [f"{name} {sub}" for sub in subs] if subs else [name]
    text = all_docs()
    missing = [c for c in commands if f"growthloop {c}" not in text]
    assert not missing, f"CLI commands not shown in any docs/*.md: {missing}"


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert block[0].startswith("./scripts/setup && .venv/bin/growthloop demo")
    assert block[1] == "./scripts/test"
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
