"""The job runner: one failing job never stops the others, rounds never overlap (threads or
processes), and `growthloop serve` mails the weekly report when it is due (real SMTP)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from growthloop.cli import app as cli_app
from growthloop.scheduler import last_outcomes, run_due
from growthloop.workspace import Workspace

NOW = datetime(2026, 11, 23, 1, 0)


def planted_failure(ws: Workspace, now_utc: datetime) -> object:
    raise RuntimeError(f"planted failure at {now_utc:%H:%M}")


def calls(ws: Workspace) -> list[str]:
    """The moments the jobs below ran for (kept in the data dir: the runner imports this module
    by name, which need not be the module object pytest loaded)."""
    path = ws.settings.data_dir / "calls.txt"
    return path.read_text().split() if path.exists() else []


def counted(ws: Workspace, now_utc: datetime) -> object:
    with (ws.settings.data_dir / "calls.txt").open("a") as f:
        f.write(now_utc.isoformat() + "\n")
    return {"calls": len(calls(ws))}


def slow(ws: Workspace, now_utc: datetime) -> object:
    counted(ws, now_utc)
    time.sleep(1.0)
    return "slept"


JOBS = {
    "first_fails": "tests.test_scheduler:planted_failure",
    "no_such_module": "tests.no_such_module:job",
    "badly_named": "no colon here",
    "counted": "tests.test_scheduler:counted",
}


def test_a_failing_job_is_recorded_and_the_others_still_run(workspace: Workspace) -> None:
    outcomes = run_due(workspace, NOW, JOBS)
    assert outcomes is not None
    by_name = {o.name: o for o in outcomes}
    assert [o.name for o in outcomes] == list(JOBS)
    assert by_name["first_fails"].error == "RuntimeError: planted failure at 01:00"
    assert by_name["no_such_module"].error.startswith("ModuleNotFoundError")
    assert "write it as 'package.module:function'" in by_name["badly_named"].error
    assert by_name["counted"].ok and by_name["counted"].result == "{'calls': 1}"
    assert calls(workspace) == [NOW.isoformat()]
    state = last_outcomes(workspace.settings.data_dir)
    assert {k: v["ok"] for k, v in state.items()} == {
        "first_fails": False, "no_such_module": False, "badly_named": False, "counted": True,
    }  # fmt: skip
    assert state["counted"]["started_utc"] == "2026-11-23T01:00:00"


def test_two_rounds_never_run_at_once_threads_or_processes(workspace: Workspace) -> None:
    results: list[object] = []
    start = threading.Barrier(3)

    def round_() -> None:
        start.wait()
        results.append(run_due(workspace, NOW, {"slow": "tests.test_scheduler:slow"}))

    threads = [threading.Thread(target=round_) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls(workspace)) == 1  # one round ran the job, the two others found the lock taken
    assert sorted(r is None for r in results) == [False, True, True]

    # Another process holds the lock: this one skips its round, the CLI says so.
    data_dir = workspace.settings.data_dir
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom growthloop.scheduler import round_lock"
         "\nwith round_lock(Path(sys.argv[1])) as taken:\n print(taken, flush=True)\n"
         " time.sleep(60)\n", str(data_dir)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        assert run_due(workspace, NOW, {"counted": "tests.test_scheduler:counted"}) is None
        cli = CliRunner().invoke(cli_app, ["jobs", "run-due", "--data-dir", str(data_dir)])
        assert cli.exit_code == 0 and "another job round is running" in cli.output
    finally:
        holder.kill()  # a crashed holder: the kernel releases its lock
        holder.wait()
    assert len(calls(workspace)) == 1
    again = run_due(workspace, NOW, {"counted": "tests.test_scheduler:counted"})
    assert again is not None and again[0].ok and len(calls(workspace)) == 2


def test_jobs_cli_lists_and_checks_its_options(workspace: Workspace) -> None:
    data_dir = str(workspace.settings.data_dir)
    runner = CliRunner()
    bad = runner.invoke(cli_app, ["jobs", "run-due", "--only", "nope", "--data-dir", data_dir])
    assert bad.exit_code == 2 and "no job named nope" in bad.output
    when = runner.invoke(cli_app, ["jobs", "run-due", "--now", "monday", "--data-dir", data_dir])
    assert when.exit_code == 2 and "not a time" in when.output
    ran = runner.invoke(
        cli_app,
        ["jobs", "run-due", "--only", "weekly_report", "--now", "2026-11-23T01:00",
         "--data-dir", data_dir],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    # No recipients configured: the weekly report job has nothing to send.
    assert ran.exit_code == 0 and "weekly_report: []" in ran.output, ran.output
    listed = runner.invoke(
        cli_app, ["jobs", "list", "--data-dir", data_dir], env={"COLUMNS": "200"}
    )
    assert "weekly_report" in listed.output and "2026-11-23 01:00" in listed.output
