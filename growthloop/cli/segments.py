"""`growthloop segments`: list, create, recompute and export saved segments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from growthloop.analytics import saved_segments as segs
from growthloop.analytics.saved_segments_export import members_csv
from growthloop.analytics.spec import SegmentDefinition
from growthloop.analytics.validation import SpecError, problems_from_pydantic
from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.workspace import Workspace

segments_app = typer.Typer(help="Saved segments (用户分群).", no_args_is_help=True)
app.add_typer(segments_app, name="segments")


def _project_id(ws: Workspace, project: str | None) -> int:
    slug = project or ws.settings.default_project
    found = {p.slug: p.id for p in ws.projects()}
    if slug not in found:
        raise fail(f"--project {slug!r}: no such project (see growthloop status)", 2)
    return found[slug]


@segments_app.command("list")
def list_command(project: ProjectOpt = None, data_dir: DataDir = None) -> None:
    """The project's segments: id, kind, size, when computed, name."""
    with open_workspace(data_dir) as ws:
        pid = _project_id(ws, project)
        found = segs.list_segments(ws, pid)
        states = segs.memberships(ws, [s.id for s in found])
        for seg in found:
            state = states.get(seg.id)
            size = "-" if state is None or state.size is None else str(state.size)
            when = (
                f"{state.computed_at:%Y-%m-%d %H:%M} UTC"
                if state is not None and state.computed_at
                else "never computed"
            )
            error = f"  [error: {state.error}]" if state is not None and state.error else ""
            console.print(
                f"{seg.id:>4}  {seg.kind:<6}  {size:>8}  {when:<20}  {seg.name}{error}",
                highlight=False,
            )


@segments_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    definition: Annotated[
        Path,
        typer.Argument(help="A JSON file with the definition (docs/segments.md); - for stdin."),
    ],
    refresh_hours: Annotated[
        int, typer.Option("--refresh-hours", help="Recompute every N hours; 0: on demand only.")
    ] = segs.DEFAULT_REFRESH_HOURS,
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Save a rule segment and compute it now."""
    text = typer.get_text_stream("stdin").read() if str(definition) == "-" else None
    if text is None:
        if not definition.is_file():
            raise fail(f"{definition}: no such file", 2)
        text = definition.read_text(encoding="utf-8")
    try:
        rule = SegmentDefinition.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise fail(f"{definition}: not valid JSON ({exc.msg} at line {exc.lineno})", 2) from None
    except ValidationError as exc:
        problems = "; ".join(str(p) for p in problems_from_pydantic(exc))
        raise fail(f"{definition}: {problems}", 2) from None
    with open_workspace(data_dir) as ws:
        pid = _project_id(ws, project)
        try:
            seg = segs.create_segment(
                ws, pid, name, rule, None, refresh_hours=refresh_hours or None
            )
            size = segs.recompute(ws, pid, seg.id)
        except (segs.SegmentError, SpecError) as exc:
            raise fail(str(exc)) from None
    console.print(f"segment {seg.id} ({seg.name}): {size} people", highlight=False)


@segments_app.command("recompute")
def recompute_command(
    segment_id: Annotated[
        int | None, typer.Argument(help="The segment's id (growthloop segments list).")
    ] = None,
    all_segments: Annotated[
        bool, typer.Option("--all", help="Every rule segment of the project.")
    ] = False,
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Recompute a segment (or --all) now and record its size."""
    if (segment_id is None) == (not all_segments):
        raise fail("give a segment id or --all (not both)", 2)
    failed = False
    with open_workspace(data_dir) as ws:
        pid = _project_id(ws, project)
        if all_segments:
            ids = [s.id for s in segs.list_segments(ws, pid) if s.kind == "rule"]
        else:
            assert segment_id is not None
            ids = [segment_id]
        for sid in ids:
            try:
                size = segs.recompute(ws, pid, sid)
            except segs.SegmentNotFoundError as exc:
                raise fail(str(exc)) from None
            except Exception as exc:  # recorded on the segment; the others still run
                console.print(f"segment {sid}: error: {exc}", highlight=False)
                failed = True
                continue
            console.print(f"segment {sid}: {size} people", highlight=False)
    if failed:
        raise typer.Exit(1)


@segments_app.command("export")
def export_command(
    segment_id: Annotated[int, typer.Argument(help="The segment's id (growthloop segments list).")],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Write the segment's members as CSV: person_id, distinct_ids, properties (JSON)."""
    if not out.parent.exists():
        raise fail(f"--out: folder {out.parent} does not exist", 2)
    with open_workspace(data_dir) as ws:
        pid = _project_id(ws, project)
        try:
            text = members_csv(ws, pid, segment_id)
        except (segs.SegmentError, SpecError) as exc:
            raise fail(str(exc)) from None
    out.write_text(text, encoding="utf-8")
    console.print(f"{out}: {text.count(chr(10)) - 1} people", highlight=False)
