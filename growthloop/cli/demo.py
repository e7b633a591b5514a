"""`growthloop demo`: build the synthetic demo business, or import the CDNOW purchases."""

from __future__ import annotations

import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import growthloop
from growthloop.accounts import add_user, list_users
from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.demo import DemoSummary, build_demo, import_cdnow
from growthloop.demo.cdnow import CdnowFormatError, find_file
from growthloop.ingest.files import BadRowError, ImportSummary
from growthloop.store.events import StoreInUseError
from growthloop.workspace import Workspace

CDNOW_DIR = Path("shared") / "data" / "cdnow"
DEMO_ADMIN = "admin"


class DemoSize(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


class Dataset(StrEnum):
    synthetic = "synthetic"
    cdnow = "cdnow"


def _parse_end(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"--end {text!r}: not a date; use YYYY-MM-DD, e.g. 2026-11-23", 2) from None


def default_cdnow_path() -> Path:
    """../shared/data/cdnow seen from the working directory, else from the source checkout."""
    checkout = Path(growthloop.__file__).resolve().parent.parent
    for base in (Path.cwd().parent, checkout.parent):
        if (base / CDNOW_DIR).is_dir():
            return base / CDNOW_DIR
    return Path.cwd().parent / CDNOW_DIR


@app.command()
def demo(
    size: Annotated[
        DemoSize, typer.Option("--size", help="small ~100k events, medium ~2M, large ~20M.")
    ] = DemoSize.small,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 0,
    end: Annotated[
        str | None,
        typer.Option("--end", help="Last day YYYY-MM-DD [default: yesterday].", show_default=False),
    ] = None,
    dataset: Annotated[
        Dataset, typer.Option("--dataset", help="synthetic: the demo business; cdnow: real orders.")
    ] = Dataset.synthetic,
    path: Annotated[
        Path | None,
        typer.Option("--path", help="CDNOW file or directory [default: ../shared/data/cdnow]."),
    ] = None,
    data_dir: DataDir = None,
    project: ProjectOpt = None,
) -> None:
    """Build a seeded demo business over 90 days (see docs/demo.md), or import CDNOW."""
    last_day = _parse_end(end)
    started = time.monotonic()
    cdnow_file = None
    if dataset is Dataset.cdnow:
        try:
            cdnow_file = find_file(path or default_cdnow_path())
        except FileNotFoundError as exc:
            raise fail(f"{exc} (give the CDNOW directory or file with --path)") from exc
    with open_workspace(data_dir) as ws:
        try:
            if cdnow_file is not None:
                slug, imported = import_cdnow(ws, cdnow_file, project=project)
                print_cdnow_summary(slug, imported)
                return
            summary = build_demo(
                ws,
                size.value,
                seed,
                last_day,
                project=project,
                progress=lambda message: console.print(f"[dim]{message}[/]"),
            )
        except (FileNotFoundError, CdnowFormatError, BadRowError, StoreInUseError) as exc:
            raise fail(str(exc)) from exc
        print_demo_summary(summary, time.monotonic() - started)
        print_admin_login(ws)


def print_admin_login(ws: Workspace) -> None:
    """The demo's admin account: created once, its one-time password printed once."""
    if any(u.name == DEMO_ADMIN for u in list_users(ws)):
        console.print(
            f"admin account [bold]{DEMO_ADMIN}[/] already exists (its password was printed when"
            " it was created; `growthloop users add NAME --role admin` adds another)"
        )
        return
    _, password = add_user(ws, DEMO_ADMIN, "admin")
    console.print(
        f"admin account [bold]{DEMO_ADMIN}[/], one-time password [bold]{password}[/]"
        " (shown only now); start the web UI with `growthloop serve`",
        highlight=False,
    )


def print_demo_summary(summary: DemoSummary, seconds: float) -> None:
    """What the demo holds and where each planted pattern is."""
    manifest = summary.manifest
    facts = manifest["patterns"]
    assert isinstance(facts, dict)
    window = facts["window"]
    console.print(
        f"demo business ({manifest['size']}, seed {manifest['seed']}) in project"
        f" [bold]{summary.project}[/]: {window[0]} .. {window[1]},"
        f" {manifest['visitors']:,} visitors, {manifest['users']:,} sign-ups,"
        f" {manifest['sessions']:,} sessions; built in {seconds:.1f} s"
    )
    table = Table("table", "rows stored", "duplicates")
    for kind, imported in summary.imports.items():
        table.add_row(kind, f"{imported.rows_stored:,}", f"{imported.rows_duplicate:,}")
    console.print(table)
    campaign = facts["campaign"]
    experiment = facts["experiment"]
    console.print("planted patterns (docs/demo.md):")
    for line in (
        f"Android checkout -> purchase leak from {facts['android_leak_start']}",
        f"poor ROI: {facts['poor_roi_channel']} ads",
        f"high-value customers go dormant from {facts['dormant_from']}",
        f"A/B test {experiment['name']} from {experiment['start']}: 'test' converts better",
        f"tracking outage on {facts['outage_day']} (orders unaffected)",
        f"content hits: {', '.join(facts['content_hits'])}",
        f"campaign {campaign['id']} {campaign['days'][0]} .. {campaign['days'][-1]},"
        f" budget {campaign['budget']:,} CNY",
        "points and referral programme: points_earned, points_redeemed, invite_sent, referral_signup",
    ):
        console.print(f"  - {line}")
    console.print(f"import files kept in {summary.source_dir}")


def print_cdnow_summary(project: str, imported: ImportSummary) -> None:
    """Counts of the CDNOW import."""
    console.print(
        f"CDNOW: {imported.rows_stored:,} orders stored ({imported.rows_duplicate:,} already"
        f" there) in project [bold]{project}[/] from {', '.join(imported.files)}"
    )
