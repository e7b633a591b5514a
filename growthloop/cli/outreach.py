"""`growthloop outreach`: send outreach messages now or when due, and show their results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from growthloop.cli.app import DataDir, ProjectOpt, app, console, fail, open_workspace
from growthloop.ops import audit, outreach
from growthloop.ops.outreach_results import results
from growthloop.ops.outreach_schedule import run_due, send_now
from growthloop.ops.targets import TargetError
from growthloop.workspace import Workspace

outreach_app = typer.Typer(help="Outreach to segments (个性化触达).", no_args_is_help=True)
app.add_typer(outreach_app, name="outreach")


def _project_id(ws: Workspace, project: str | None) -> tuple[str, int]:
    slug = project or ws.settings.default_project
    found = {p.slug: p.id for p in ws.projects()}
    if slug not in found:
        raise fail(f"--project {slug!r}: no such project (see growthloop status)", 2)
    return slug, found[slug]


@outreach_app.command("list")
def list_command(project: ProjectOpt = None, data_dir: DataDir = None) -> None:
    """The project's outreach messages."""
    with open_workspace(data_dir) as ws:
        _, pid = _project_id(ws, project)
        for item in outreach.list_outreach(ws, pid):
            when = f"{item.send_at:%Y-%m-%d %H:%M} UTC" if item.send_at else "by hand"
            console.print(
                f"{item.id:>4}  {item.channel:<5}  {item.name}  (holdout"
                f" {item.holdout_percent:g}%, {when})",
                highlight=False,
            )


@outreach_app.command("send")
def send_command(
    outreach_id: Annotated[
        int, typer.Argument(help="The message's id (growthloop outreach list).")
    ],
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Send a message now; a one-off message is sent once, sending again only retries."""
    with open_workspace(data_dir) as ws:
        _, pid = _project_id(ws, project)
        try:
            report = send_now(ws, outreach.get_outreach(ws, pid, outreach_id))
        except (audit.NotFound, TargetError) as exc:
            raise fail(str(exc)) from None
    d = report.delivery
    console.print(
        f"run {report.run_id} ({report.run_key}): {d.sent} sent, {d.retrying} to retry,"
        f" {d.failed} failed",
        highlight=False,
    )
    for line in d.errors[:10]:
        console.print(f"  {line}", highlight=False)


@outreach_app.command("run-due")
def run_due_command(
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Act as if it were this UTC time (YYYY-MM-DDTHH:MM).", show_default=False
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Send every scheduled message that is due and retry failed sends whose time came (cron)."""
    try:
        moment = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise fail(f"--now {now!r}: not a time; use e.g. 2026-11-23T01:00", 2) from None
    with open_workspace(data_dir) as ws:
        report = run_due(ws, moment)
    for outreach_id, key in report.planned:
        console.print(f"outreach {outreach_id}: run {key} planned", highlight=False)
    for outreach_id, problem in report.problems.items():
        console.print(f"outreach {outreach_id}: not sent: {problem}", highlight=False)
    for slug, d in report.delivered.items():
        if d.sent or d.retrying or d.failed:
            console.print(
                f"{slug}: {d.sent} sent, {d.retrying} to retry, {d.failed} failed", highlight=False
            )
    if report.problems:
        raise typer.Exit(1)


@outreach_app.command("results")
def results_command(
    outreach_id: Annotated[int, typer.Argument(help="The message's id.")],
    project: ProjectOpt = None,
    data_dir: DataDir = None,
) -> None:
    """Conversion of receivers against the holdout for each run of a message."""
    with open_workspace(data_dir) as ws:
        slug, pid = _project_id(ws, project)
        try:
            item = outreach.get_outreach(ws, pid, outreach_id)
        except audit.NotFound as exc:
            raise fail(str(exc)) from None
        cursor = ws.events(slug).con.cursor()
        try:
            found = results(ws, cursor, item)
        finally:
            cursor.close()
    for r in found:
        console.print(f"run {r.run_key} at {r.started_at:%Y-%m-%d %H:%M} UTC", highlight=False)
        for name, g in (("receivers", r.receivers), ("holdout", r.holdout)):
            rate = f"{g.rate:.2%}" if g.rate is not None else "-"
            console.print(f"  {name:<9} {g.converted:>6} / {g.people:<6} {rate}", highlight=False)
        c = r.comparison
        if c is None:
            console.print(f"  no comparison: {r.note}", highlight=False)
        else:
            console.print(
                f"  difference {c.absolute:+.2%} (95% CI {c.absolute_ci.low:+.2%} ..."
                f" {c.absolute_ci.high:+.2%}), z = {c.statistic:.2f}, p = {c.p_value:.3f}",
                highlight=False,
            )
