"""`growthloop jobs run-due` (for cron) and `growthloop jobs list`: the periodic jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from growthloop.cli.app import DataDir, app, console, fail, open_workspace
from growthloop.jobs import JOBS
from growthloop.scheduler import last_outcomes, run_due

jobs_app = typer.Typer(
    help="Periodic jobs (weekly report mail, feedback, ...) that `growthloop serve` runs.",
    no_args_is_help=True,
)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("run-due")
def run_due_command(
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Act as if it were this UTC time (YYYY-MM-DDTHH:MM).", show_default=False
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this job (repeatable; see growthloop jobs list)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """One round of every job with work due; exit code 1 when a job failed (for cron mail)."""
    try:
        moment = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise fail(f"--now {now!r}: not a time; use e.g. 2026-11-23T01:00", 2) from None
    unknown = sorted(set(only or ()) - set(JOBS))
    if unknown:
        raise fail(f"--only: no job named {', '.join(unknown)} (jobs: {', '.join(JOBS)})", 2)
    jobs = {name: JOBS[name] for name in only} if only else None
    with open_workspace(data_dir) as ws:
        outcomes = run_due(ws, moment, jobs)
    if outcomes is None:
        console.print("another job round is running on this data directory; nothing done")
        return
    for o in outcomes:
        said = o.result if o.ok else f"[red]failed[/] {o.error}"
        console.print(f"{o.name}: {said} ({o.seconds:.1f} s)", highlight=False)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@jobs_app.command("list")
def list_command(data_dir: DataDir = None) -> None:
    """The registered jobs and how each one's last round went."""
    with open_workspace(data_dir) as ws:
        state = last_outcomes(ws.settings.data_dir)
    table = Table("job", "function", "last run (UTC)", "result")
    for name, target in JOBS.items():
        last = state.get(name)
        when = last["started_utc"][:16].replace("T", " ") if last else "never"
        result = (last["result"] if last["ok"] else f"failed: {last['error']}") if last else ""
        table.add_row(name, target, when, result[:80])
    console.print(table)
