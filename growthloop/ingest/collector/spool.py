"""The write-ahead spool: append-only segment files, fsync'd before a request is acknowledged.

One writer thread owns every file. Requests hand it their lines and wait; it writes whatever has
queued up, fsyncs each touched file once, then answers all of them (group commit: one fsync
serves many requests). Segments are `<spool>/<project>/<seq>.jsonl.part` while open; a full or
old one is closed by renaming it to `<seq>.jsonl`, which the loader may then store and delete.

After a crash, an open segment may end in a torn line that was never acknowledged: recovery
cuts the file back to its last newline and closes it. Dead letters (messages that cannot be
stored, with the reason) go to `<dead letters>/<project>.jsonl` through the same writer.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CLOSED, OPEN = ".jsonl", ".jsonl.part"


@dataclass
class _Job:
    project: str
    lines: bytes
    dead: bytes
    done: Future[None] = field(default_factory=Future)


@dataclass
class _Segment:
    path: Path
    fd: int
    opened: float
    size: int = 0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Segments per project under `root`; see the module docstring."""

    def __init__(
        self,
        root: Path,
        deadletter_dir: Path,
        *,
        segment_bytes: int = 4 << 20,
        segment_seconds: float = 1.0,
        group_commit_seconds: float = 0.0,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.root, self.deadletter_dir = root, deadletter_dir
        self.segment_bytes, self.segment_seconds = segment_bytes, segment_seconds
        self.group_commit_seconds = group_commit_seconds
        self.on_close = on_close
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._open: dict[str, _Segment] = {}
        self._dead: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending = 0
        self._thread: threading.Thread | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Recover what a crash left, then start the writer thread."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.deadletter_dir.mkdir(parents=True, exist_ok=True)
        self._recover()
        self._thread = threading.Thread(target=self._run, name="collector-spool", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, close the open segments, stop the writer."""
        if self._thread is None:
            return
        self._jobs.put(None)
        self._thread.join()
        self._thread = None

    def _recover(self) -> None:
        total = 0
        for project_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for part in sorted(project_dir.glob(f"*{OPEN}")):
                data = part.read_bytes()
                keep = data.rfind(b"\n") + 1
                if keep < len(data):
                    log.warning("%s: dropping a torn last line of %d bytes", part, len(data) - keep)
                    with open(part, "r+b") as fh:
                        fh.truncate(keep)
                        os.fsync(fh.fileno())
                if keep:
                    part.rename(part.with_name(part.name.removesuffix(OPEN) + CLOSED))
                else:
                    part.unlink()
            _fsync_dir(project_dir)
            closed = self.segments(project_dir.name)
            total += sum(p.stat().st_size for p in closed)
            if closed:
                self._next[project_dir.name] = int(closed[-1].name.removesuffix(CLOSED)) + 1
        self._pending = total

    # -- what requests and the loader call ---------------------------------------------------
    @property
    def pending_bytes(self) -> int:
        """Bytes written and not yet loaded (open and closed segments)."""
        return self._pending

    def append(self, project: str, lines: bytes, dead: bytes = b"") -> Future[None]:
        """Queue lines for `project`; the future resolves once they are on disk (fsync'd)."""
        if self._thread is None:
            raise RuntimeError("the spool is not running")
        job = _Job(project, lines, dead)
        self._jobs.put(job)
        return job.done

    def projects(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def segments(self, project: str) -> list[Path]:
        """Closed segments of a project, oldest first."""
        return sorted((self.root / project).glob(f"*{CLOSED}"))

    def release(self, paths: list[Path]) -> None:
        """Forget segments whose events are stored: delete them, durably."""
        if not paths:
            return
        size = 0
        for path in paths:
            size += path.stat().st_size
            path.unlink()
        _fsync_dir(paths[0].parent)
        with self._lock:
            self._pending -= size

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            try:
                first = self._jobs.get(timeout=self._wait())
            except queue.Empty:
                first = None
                jobs: list[_Job | None] = []
            else:
                jobs = [first]
                # Group commit: whatever queued during the last fsync shares the next one, and
                # with a group-commit interval, whatever arrives within it.
                until = time.monotonic() + self.group_commit_seconds
                while first is not None:
                    try:
                        wait = until - time.monotonic()
                        job = self._jobs.get(timeout=wait) if wait > 0 else self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    jobs.append(job)
                    if job is None:
                        break
            stopping = any(j is None for j in jobs)
            work = [j for j in jobs if j is not None]
            if work:
                self._commit(work)
            self._rotate(force=stopping)

    def _wait(self) -> float:
        if not self._open:
            return 1.0
        oldest = min(s.opened for s in self._open.values())
        return max(0.005, oldest + self.segment_seconds - time.monotonic())

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            touched: set[int] = set()
            written = 0
            for job in jobs:
                if job.lines:
                    segment = self._segment(job.project)
                    os.write(segment.fd, job.lines)
                    segment.size += len(job.lines)
                    written += len(job.lines)
                    touched.add(segment.fd)
                if job.dead:
                    fd = self._deadletter(job.project)
                    os.write(fd, job.dead)
                    touched.add(fd)
            for fd in touched:
                os.fdatasync(fd)
            with self._lock:
                self._pending += written
        except OSError as exc:
            log.error("spool write failed: %s", exc)
            for job in jobs:
                job.done.set_exception(exc)
            return
        for job in jobs:
            job.done.set_result(None)

    def _segment(self, project: str) -> _Segment:
        segment = self._open.get(project)
        if segment is None:
            directory = self.root / project
            if not directory.exists():
                directory.mkdir(parents=True)
                _fsync_dir(self.root)
            seq = self._next.get(project, 1)
            self._next[project] = seq + 1
            path = directory / f"{seq:012d}{OPEN}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            _fsync_dir(directory)  # the file's name must survive a crash too
            segment = self._open[project] = _Segment(path, fd, time.monotonic())
        return segment

    def _deadletter(self, project: str) -> int:
        if project not in self._dead:
            path = self.deadletter_dir / f"{project}.jsonl"
            self._dead[project] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            _fsync_dir(self.deadletter_dir)
        return self._dead[project]

    def _rotate(self, force: bool) -> None:
        now = time.monotonic()
        closed = False
        for project, segment in list(self._open.items()):
            old = now - segment.opened >= self.segment_seconds
            if force or old or segment.size >= self.segment_bytes:
                os.close(segment.fd)
                segment.path.rename(
                    segment.path.with_name(segment.path.name.removesuffix(OPEN) + CLOSED)
                )
                _fsync_dir(segment.path.parent)
                del self._open[project]
                closed = True
        if force:
            for fd in self._dead.values():
                os.close(fd)
            self._dead.clear()
        if closed and self.on_close is not None:
            self.on_close()
