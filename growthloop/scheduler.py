"""The job runner: every minute, each periodic job of `growthloop.jobs.JOBS` that has work due.

`growthloop serve` starts a `JobRunner` thread; `growthloop jobs run-due` (cron) does one round.
A round holds an exclusive lock on `<data dir>/jobs.lock` (flock), so two servers on one data
dir, or a server and cron, never run the jobs at the same time: whoever finds the lock taken
skips that round. Each job runs on its own: an exception is logged and recorded, and the next
job runs all the same. The jobs themselves are idempotent, so a round repeated after a crash
does nothing twice. Each round's outcome per job is kept in `<data dir>/jobs/state.json`.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from growthloop.jobs import JOBS
from growthloop.workspace import Workspace

log = logging.getLogger("growthloop.jobs")
Job = Callable[[Workspace, datetime], object]
INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class JobOutcome:
    """What one job did in one round: its result (as text) or the error that stopped it."""

    name: str
    started_utc: datetime
    seconds: float
    ok: bool
    result: str = ""
    error: str = ""


def resolve(target: str) -> Job:
    """The function a JOBS entry ("module:function") names."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"job {target!r}: write it as 'package.module:function'")
    job: Job = getattr(importlib.import_module(module), name)
    return job


def lock_path(data_dir: Path) -> Path:
    """The lock file of the data dir's job rounds."""
    return data_dir / "jobs.lock"


@contextmanager
def round_lock(data_dir: Path) -> Iterator[bool]:
    """Try to take the data dir's job lock without waiting; yields whether it was taken.

    flock belongs to the open file, so it also keeps two threads of one process apart, and the
    kernel releases it when a process dies: a crashed round never leaves the lock behind.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with lock_path(data_dir).open("a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def run_job(ws: Workspace, name: str, target: str, now_utc: datetime) -> JobOutcome:
    """Run one job; whatever it raises is logged and returned, never passed on."""
    started = time.monotonic()
    try:
        result = resolve(target)(ws, now_utc)
    except Exception as exc:  # one job's failure must not stop the others
        log.exception("job %s failed", name)
        seconds = time.monotonic() - started
        error = f"{type(exc).__name__}: {exc}"
        return JobOutcome(name, now_utc, seconds, False, error=error)
    seconds = time.monotonic() - started
    shown = repr(result)
    log.info("job %s done in %.1f s: %s", name, seconds, shown[:200])
    return JobOutcome(name, now_utc, seconds, True, result=shown[:2000])


def state_file(data_dir: Path) -> Path:
    """Where the last outcome of each job is kept."""
    return data_dir / "jobs" / "state.json"


def last_outcomes(data_dir: Path) -> dict[str, dict[str, Any]]:
    """Job name -> its last outcome (as stored), for jobs that ran at least once."""
    path = state_file(data_dir)
    if not path.exists():
        return {}
    found: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _record(data_dir: Path, outcomes: list[JobOutcome]) -> None:
    state = last_outcomes(data_dir)
    for outcome in outcomes:
        row = asdict(outcome)
        row["started_utc"] = outcome.started_utc.isoformat()
        state[outcome.name] = row
    path = state_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # atomic: readers see the old state or the new one


def run_due(
    ws: Workspace, now_utc: datetime | None = None, jobs: Mapping[str, str] | None = None
) -> list[JobOutcome] | None:
    """One round: every job in `jobs` (default: the JOBS registry) with "now" = `now_utc`
    (naive UTC, default: the clock). None when another round holds the lock."""
    now = now_utc or datetime.now(UTC).replace(tzinfo=None)
    data_dir = ws.settings.data_dir
    with round_lock(data_dir) as taken:
        if not taken:
            log.info("job round skipped: another one holds %s", lock_path(data_dir))
            return None
        outcomes = []
        for name, target in (jobs or JOBS).items():
            outcomes.append(run_job(ws, name, target, now))
            _record(data_dir, outcomes[-1:])  # at once: a later job that hangs hides nothing
    return outcomes


class JobRunner:
    """A daemon thread that runs a round every `interval` seconds until `stop()`.

    It opens a workspace of its own on the same settings: its DuckDB connections (same database
    instance, as DuckDB shares one per file inside a process) and database sessions are then
    used by this thread only, never by the web app's request threads.
    """

    def __init__(self, ws: Workspace, interval: float = INTERVAL_SECONDS) -> None:
        self.settings = ws.settings
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="growthloop-jobs", daemon=True)

    def start(self) -> None:
        """Start the thread; its first round runs at once."""
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end after the round in progress and wait for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        ws = Workspace(self.settings)
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    run_due(ws)
                except Exception:  # the lock or the state file; keep the loop alive
                    log.exception("job round failed")
                self.rounds += 1
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        finally:
            ws.close()


def log_to_console() -> None:
    """Show the job log (INFO and up) on stderr, next to the web server's own log."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
