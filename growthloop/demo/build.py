"""Build the demo into a workspace: write the import files, then import them like any user's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from growthloop.demo.business import Calendar
from growthloop.demo.cdnow import write_orders_file
from growthloop.demo.generate import KINDS, default_end, write_demo
from growthloop.demo.outreach import record_demo_outreach
from growthloop.demo.referral import plant_referrals
from growthloop.ingest.files import ImportSummary, import_files
from growthloop.workspace import Workspace

SOURCE_DIR = "demo-source"
CDNOW_PROJECT = "cdnow"
Progress = Callable[[str], None]


@dataclass
class DemoSummary:
    """What build_demo did: the files, the planted facts and each import's counts."""

    source_dir: Path
    project: str
    manifest: dict[str, object]
    imports: dict[str, ImportSummary] = field(default_factory=dict)


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def build_demo(
    ws: Workspace,
    size: str = "small",
    seed: int = 0,
    end: date | None = None,
    *,
    project: str | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Generate the demo business into <data dir>/demo-source/ and import it into a project."""
    slug = project or ws.settings.default_project
    ws.ensure_project(slug)
    end = end or default_end(ws.settings.timezone)
    source_dir = ws.settings.data_dir / SOURCE_DIR
    _say(progress, f"generating the {size} demo, {Calendar(end).start} .. {end}, in {source_dir}")
    files = write_demo(source_dir, size, seed, end, ws.settings.timezone)
    summary = DemoSummary(source_dir, slug, files.manifest)
    for kind in KINDS:
        _say(progress, f"importing {kind}")
        summary.imports[kind] = import_files(
            ws, kind, files.files[kind], timezone=ws.settings.timezone, project=slug
        )
    plant_referrals(ws, slug, end, seed, source_dir)
    record_demo_outreach(ws, slug, end)
    return summary


def import_cdnow(
    ws: Workspace, path: Path, *, project: str | None = None
) -> tuple[str, ImportSummary]:
    """Import the CDNOW purchases (master file, sample, or a directory holding them) as orders.

    Returns (project slug, import summary). The default project is `cdnow`, apart from the demo.
    """
    slug = project or CDNOW_PROJECT
    ws.ensure_project(slug, "CDNOW" if slug == CDNOW_PROJECT else None)
    out = ws.settings.data_dir / SOURCE_DIR / "cdnow-orders.parquet"
    file, _ = write_orders_file(path, out, ws.settings.timezone)
    return slug, import_files(ws, "orders", [file], timezone=ws.settings.timezone, project=slug)
