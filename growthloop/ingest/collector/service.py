"""The collector: checks a request's key and size limits, spools its events, answers.

A request is acknowledged only once its events (and its dead letters) are fsync'd in the
spool; the loader stores them in the event store shortly after.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import duckdb

from growthloop.config import Settings
from growthloop.ingest.collector.batch import Batch
from growthloop.ingest.collector.decode import BadRequest
from growthloop.ingest.collector.geoip import GeoIP, find_database
from growthloop.ingest.collector.loader import SegmentLoader
from growthloop.ingest.collector.spool import Spool
from growthloop.workspace import Workspace


@dataclass(frozen=True)
class CollectorConfig:
    """Limits and timings of the collector (defaults suit one machine; `from_settings` takes
    the deployment's settings, `collector_*`)."""

    max_body_bytes: int = 5 << 20
    """A request body (compressed or not, and once decompressed) over this gets 413."""
    max_spool_bytes: int = 1 << 30
    """Spooled and not yet loaded bytes over this: requests get 503 with Retry-After."""
    retry_after_seconds: int = 5
    group_commit_seconds: float = 0.0
    """How long the spool writer waits for more requests to share an fsync."""
    segment_bytes: int = 4 << 20
    segment_seconds: float = 1.0
    """A segment is closed (and may be loaded) when this big or this old."""
    load_interval_seconds: float = 2.0
    """The loader starts a pass at most this often (and at least this often when idle)."""
    load_batch_bytes: int = 64 << 20
    directory: Path | None = None
    """Where spool and dead letters live; default `<data dir>/collector`."""
    geoip_database: Path | None = None
    """A MaxMind .mmdb file; default: the first `<data dir>/geoip/*.mmdb`, if any."""

    @classmethod
    def from_settings(cls, settings: Settings) -> CollectorConfig:
        return cls(
            max_body_bytes=settings.collector_max_body_bytes,
            max_spool_bytes=settings.collector_max_spool_bytes,
            group_commit_seconds=settings.collector_group_commit_ms / 1000,
            load_interval_seconds=settings.collector_load_interval_seconds,
            load_batch_bytes=settings.collector_load_batch_bytes,
        )


# One encoder for all lines: json.dumps with options builds a new encoder on every call, and
# JSONEncoder.encode builds a new C encoder on every call too. This is that C encoder, made
# once (compact separators, UTF-8 kept, unknown types as str, no cycle check: the records come
# from parsed JSON), with the pure-Python one where CPython has no C accelerator.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_encode_c = (
    c_make_encoder(None, str, encode_basestring, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


def _line(record: dict[str, Any]) -> bytes:
    return _ENCODER.encode(record).encode() + b"\n"


def lines_of(records: list[dict[str, Any]]) -> bytes:
    """JSON Lines of `records`: one compact JSON object per line, each ending in a newline."""
    if not records:
        return b""
    if _encode_c is None:
        return b"".join(_line(r) for r in records)
    encode = _encode_c
    return ("\n".join(["".join(encode(r, 0)) for r in records]) + "\n").encode()


def locate(event: dict[str, Any], geoip: GeoIP, client_ip: str | None) -> None:
    """Fill country and city from `$ip` (or the sender's address), unless the SDK said where
    the event is (`$geoip_country_name`) or asked for no GeoIP (`$geoip_disable`, which the
    PostHog server SDKs send: their address is the server's, not the user's)."""
    props = event["properties"]
    if props.get("$geoip_disable") or "$geoip_country_name" in props:
        return
    ip = props.get("$ip")
    ip = ip if isinstance(ip, str) else client_ip
    if not ip:
        return
    country, city = geoip.place(ip)
    if country is not None:
        event["country"] = country
    if city is not None:
        event["city"] = city


def _open_store(ws: Workspace, slug: str, attempts: int = 5) -> None:
    """Open a project's store. `growthloop serve` may start its job runner at the same moment,
    whose jobs open the same store from their thread; the first open of a new store creates
    its tables, and the loser of that race gets a DuckDB write-write conflict: try again."""
    for attempt in range(attempts):
        try:
            ws.events(slug)
            return
        except duckdb.TransactionException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


class KeyIndex:
    """Ingestion key -> project slug, re-read from the metadata database at most once a second
    when an unknown key arrives (so a project added while the server runs is found)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._keys: dict[str, str] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._keys = {p.ingestion_key: p.slug for p in self.ws.projects()}
            self._read_at = time.monotonic()

    def project(self, key: str | None) -> str:
        if not key:
            raise BadRequest(
                401, "no ingestion key: send the project's key (see `growthloop keys`)"
            )
        slug = self._keys.get(key)
        if slug is None and time.monotonic() - self._read_at > 1.0:
            self.refresh()
            slug = self._keys.get(key)
        if slug is None:
            raise BadRequest(
                401, "unknown ingestion key (see `growthloop keys` for each project's key)"
            )
        return slug


class Collector:
    """Spool, loader and key index of one workspace; `start()` / `stop()` with the server."""

    def __init__(self, ws: Workspace, config: CollectorConfig | None = None) -> None:
        self.ws = ws
        self.config = config or CollectorConfig.from_settings(ws.settings)
        root = self.config.directory or ws.settings.data_dir / "collector"
        self.deadletter_dir = root / "deadletter"
        self.spool = Spool(
            root / "spool",
            self.deadletter_dir,
            segment_bytes=self.config.segment_bytes,
            segment_seconds=self.config.segment_seconds,
            group_commit_seconds=self.config.group_commit_seconds,
            on_close=self._segment_closed,
        )
        self.loader = SegmentLoader(
            ws,
            self.spool,
            interval=self.config.load_interval_seconds,
            batch_bytes=self.config.load_batch_bytes,
        )
        self.keys: KeyIndex | None = None
        self.geoip: GeoIP | None = None

    def _segment_closed(self) -> None:
        self.loader.wake()

    def start(self) -> None:
        """Open every project's store (this process is now its writer) and start the threads."""
        self.keys = KeyIndex(self.ws)
        database = self.config.geoip_database or find_database(self.ws.settings.data_dir)
        self.geoip = GeoIP(database) if database is not None else None
        for project in self.ws.projects():
            _open_store(self.ws, project.slug)
        self.spool.start()
        self.loader.start()
        # The app, its libraries and the stores are ~300k objects that live as long as the
        # process; a full garbage collection walks all of them (0.1-0.5 s with the GIL held:
        # every request waits). Frozen, they are left out of every later collection. (No
        # gc.collect() first: it would cost as much once per start, e.g. per test server, to
        # free the little garbage of starting up.)
        gc.freeze()

    def stop(self) -> None:
        """Spool what is queued, load what is spooled, stop."""
        self.spool.stop()
        self.loader.stop()
        if self.geoip is not None:
            self.geoip.close()

    async def accept(
        self, batch: Batch, *, single: bool, client_ip: str | None = None
    ) -> tuple[int, int]:
        """Spool a batch; returns (accepted, rejected) once it is durable.

        `single`: the endpoint takes one message, so a bad one is a 400, not a dead letter.
        `client_ip`: the sender's address, for GeoIP when the event carries no `$ip`."""
        if self.keys is None:
            raise BadRequest(503, "the collector is starting; retry", self._retry_after())
        project = self.keys.project(batch.key)
        if single and batch.rejects:
            raise BadRequest(400, batch.rejects[0].reason.removeprefix("[0]."))
        if self.geoip is not None:
            for event in batch.events:
                locate(event, self.geoip, client_ip)
        lines = lines_of(batch.events)
        now = datetime.now(UTC).isoformat()
        dead = b"".join(
            _line(
                {
                    "received_at": now,
                    "source": batch.source,
                    "reason": r.reason,
                    "message": r.message,
                }
            )
            for r in batch.rejects
        )
        if self.spool.pending_bytes + len(lines) > self.config.max_spool_bytes:
            raise BadRequest(
                503,
                "the spool is full (the loader is behind); retry later",
                self._retry_after(),
            )
        try:
            await asyncio.wrap_future(self.spool.append(project, lines, dead))
        except OSError as exc:  # disk full, read-only file system: nothing was acknowledged
            raise BadRequest(
                503,
                f"the spool cannot be written ({exc.strerror}); retry later",
                self._retry_after(),
            ) from exc
        return len(batch.events), len(batch.rejects)

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": str(self.config.retry_after_seconds)}
