"""The spool and the loader on real files: a torn last line (never acknowledged) is cut on
recovery; a segment loaded again after a crash (stored, not yet deleted) changes nothing, not
even Sensors' profile_increment; many concurrent requests share fsyncs (group commit)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from growthloop.ingest.collector.loader import SegmentLoader
from growthloop.ingest.collector.spool import Spool
from growthloop.workspace import Workspace


def line(i: int, **extra: Any) -> bytes:
    record = {"uuid": f"00000000-0000-4000-8000-{i:012d}", "event": "e", "distinct_id": "d",
              "timestamp": f"2026-03-01T10:00:{i % 60:02d}+00:00", "properties": {"i": i}, **extra}  # fmt: skip
    return json.dumps(record).encode() + b"\n"


def test_a_torn_last_line_is_cut_and_the_rest_is_loaded(
    workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "spool" / "default"
    folder.mkdir(parents=True)
    (folder / "000000000007.jsonl.part").write_bytes(line(1) + line(2) + line(3)[:25])
    spool = Spool(tmp_path / "spool", tmp_path / "dead")
    spool.start()
    try:
        assert [p.name for p in spool.segments("default")] == ["000000000007.jsonl"]
        assert spool.pending_bytes == len(line(1) + line(2))
        spool.append("default", line(4)).result()  # goes to a new segment after the old one
    finally:
        spool.stop()
    assert [p.name for p in spool.segments("default")] == [
        "000000000007.jsonl",
        "000000000008.jsonl",
    ]
    loader = SegmentLoader(workspace, spool)
    assert loader.load_pending() == 3
    loader.stop()
    assert spool.segments("default") == [] and spool.pending_bytes == 0
    assert workspace.events().count("events") == 3


def test_loading_a_segment_again_changes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", tmp_path / "dead")
    spool.start()
    ops = [line(10, event="$profile_increment", properties={"$increment": {"visits": 2}}),
           line(11, event="$profile_increment", properties={"$increment": {"visits": 3}}),
           line(12, event="$set", properties={"$set": {"city": "Hangzhou"}})]  # fmt: skip
    spool.append("default", b"".join([line(1), line(2), *ops])).result()
    spool.stop()
    (segment,) = spool.segments("default")
    kept = tmp_path / "copy.jsonl"
    shutil.copy(segment, kept)
    loader = SegmentLoader(workspace, spool)
    assert loader.load_pending() == 5

    def person() -> dict[str, Any]:
        (props,) = workspace.events().con.execute(
            "SELECT CAST(properties AS VARCHAR) FROM persons"
        ).fetchone() or [""]
        return dict(json.loads(props))

    assert person() == {"city": "Hangzhou", "visits": 5}
    # The crash case: the transaction committed but the segment was not deleted.
    shutil.copy(kept, segment)
    spool.start()
    spool.stop()
    assert loader.load_pending() == 0
    loader.stop()
    assert loader.stats.duplicate == 5
    assert workspace.events().count("events") == 5
    assert person() == {"city": "Hangzhou", "visits": 5}  # the increments were not applied twice


def test_concurrent_requests_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = os.fdatasync

    def counting(fd: int) -> None:  # counts the real fsyncs; they still happen
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    spool = Spool(tmp_path / "spool", tmp_path / "dead")
    spool.start()
    futures = []
    lock = threading.Barrier(40)

    def send(i: int) -> None:
        lock.wait()
        futures.append(spool.append("default", line(i)))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in futures:
        f.result(timeout=10)
    spool.stop()
    data = b"".join(p.read_bytes() for p in spool.segments("default"))
    assert sorted(data.splitlines(keepends=True)) == sorted(line(i) for i in range(40))
    assert 1 <= len(calls) < 40  # acknowledged only after an fsync, and fewer fsyncs than requests


@pytest.mark.parametrize("window", [0.0, 0.5])
def test_a_group_commit_window_gathers_requests_into_one_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: float
) -> None:
    """Requests 10 ms apart: without a window each finds the writer idle and gets an fsync of
    its own (or nearly); with a 0.5 s window the 20 of them (0.2 s) share one."""
    calls = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    spool = Spool(tmp_path / "spool", tmp_path / "dead", group_commit_seconds=window)
    spool.start()
    try:
        futures = []
        for i in range(20):
            futures.append(spool.append("default", line(i)))
            threading.Event().wait(0.01)
        for f in futures:
            f.result(timeout=10)
    finally:
        spool.stop()
    data = b"".join(p.read_bytes() for p in spool.segments("default"))
    assert sorted(data.splitlines(keepends=True)) == sorted(line(i) for i in range(20))
    if window:
        assert len(calls) == 1
    else:
        assert len(calls) >= 10
