"""Write the demo business as Parquet import files: events, orders, spend, content, metrics.

Same (size, seed, end, time zone) gives byte-identical files: every random draw comes from a
numpy Generator seeded with (seed, stage), events are produced in fixed chunks of sessions with
their own generators, and pyarrow writes the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from growthloop.demo import business as b
from growthloop.demo.accounts import make_accounts
from growthloop.demo.catalogue import make_baskets, make_catalogue
from growthloop.demo.content import make_content
from growthloop.demo.events import part_counts
from growthloop.demo.marketing import (
    campaign_budget,
    make_content_items,
    make_content_metrics,
    make_spend,
)
from growthloop.demo.population import make_sessions, make_visitors
from growthloop.demo.session_table import World, chunk_tables, reward_events, session_table

CHUNK_SESSIONS = 250_000
KINDS = ("events", "orders", "spend", "content", "content-metrics")


def default_end(timezone: str) -> date:
    """Yesterday in the given time zone: the demo's last full day."""
    return datetime.now(ZoneInfo(timezone)).date() - timedelta(days=1)


@dataclass(frozen=True)
class DemoFiles:
    """What write_demo_files produced."""

    files: dict[str, list[Path]]
    manifest: dict[str, object]


def _rng(seed: int, stage: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage])


def simulate(size: str, seed: int, end: date, timezone: str) -> World:
    """Simulate visitors, sessions, accounts and baskets (everything above single events)."""
    if size not in b.VISITORS:
        raise ValueError(f"unknown demo size {size!r}: use one of {', '.join(b.SIZES)}")
    cal = b.Calendar(end)
    tz = ZoneInfo(timezone)
    day_start_us = np.asarray(
        [
            int(datetime.combine(cal.day(d), time(0), tz).timestamp()) * 1_000_000
            for d in range(b.DAYS + 1)
        ],
        dtype=np.int64,
    )
    weekday0 = cal.start.weekday()
    content = make_content(_rng(seed, 1))
    visitors = make_visitors(_rng(seed, 2), b.VISITORS[size], weekday0, content)
    sessions = make_sessions(_rng(seed, 3), visitors, day_start_us, weekday0, content)
    accounts = make_accounts(_rng(seed, 4), sessions, len(visitors.first_day))
    catalogue = make_catalogue(_rng(seed, 5))
    baskets = make_baskets(_rng(seed, 6), catalogue, sessions, visitors)
    return World(cal, tz, day_start_us, content, visitors, sessions, accounts, catalogue, baskets)


def write_demo_files(
    out_dir: Path,
    size: str = "small",
    seed: int = 0,
    end: date | None = None,
    timezone: str = "Asia/Shanghai",
) -> dict[str, list[Path]]:
    """Write the demo's import files into out_dir; returns the files per import kind.

    Earlier *.parquet files in out_dir are removed first; manifest.json is written beside them.
    """
    return write_demo(out_dir, size, seed, end, timezone).files


def write_demo(
    out_dir: Path,
    size: str = "small",
    seed: int = 0,
    end: date | None = None,
    timezone: str = "Asia/Shanghai",
) -> DemoFiles:
    """write_demo_files, also returning the manifest (planted facts and row counts)."""
    end = end or default_end(timezone)
    world = simulate(size, seed, end, timezone)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.parquet"):
        old.unlink()
    files: dict[str, list[Path]] = {k: [] for k in KINDS}
    counts = {k: 0 for k in KINDS}
    sessions = session_table(world, _rng(seed, 7))
    counts_matrix = part_counts(world.sessions, world.accounts.inviter >= 0)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    orders: list[pa.Table] = []
    m = len(world.sessions)
    for number, first in enumerate(range(0, m, CHUNK_SESSIONS)):
        last = min(first + CHUNK_SESSIONS, m)
        events, chunk_orders = chunk_tables(
            con, world, sessions, counts_matrix, first, last, _rng(seed, 1000 + number)
        )
        path = out_dir / f"events-{number:03d}.parquet"
        _write(path, events)
        files["events"].append(path)
        counts["events"] += events.num_rows
        orders.append(chunk_orders)
    rewards = reward_events(con, world, _rng(seed, 8))
    path = out_dir / "events-referral-rewards.parquet"
    _write(path, rewards)
    files["events"].append(path)
    counts["events"] += rewards.num_rows
    con.close()

    order_table = pa.concat_tables(orders).sort_by("order_id")
    spend, campaign_spend = make_spend(_rng(seed, 9), world.sessions, world.cal)
    tables = {
        "orders": order_table,
        "spend": spend,
        "content": make_content_items(world.content, world.cal, world.tz),
        "content-metrics": make_content_metrics(
            _rng(seed, 10), world.content, world.sessions, world.cal
        ),
    }
    for kind, table in tables.items():
        path = out_dir / f"{kind}.parquet"
        _write(path, table)
        files[kind].append(path)
        counts[kind] = table.num_rows
    manifest = _manifest(world, size, seed, timezone, counts, campaign_spend)
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return DemoFiles(files, manifest)


def _write(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20)


def _manifest(
    world: World, size: str, seed: int, timezone: str, counts: dict[str, int], campaign_spend: float
) -> dict[str, object]:
    facts = world.cal.facts()
    campaign = facts["campaign"]
    assert isinstance(campaign, dict)
    campaign["budget"] = campaign_budget(campaign_spend)
    campaign["spend"] = round(campaign_spend, 2)
    ids = world.content.item_ids
    facts["content_hits"] = [ids[i] for i in np.flatnonzero(world.content.hit)]
    return {
        "size": size,
        "seed": seed,
        "timezone": timezone,
        "rows": counts,
        "visitors": len(world.visitors.first_day),
        "users": int((world.accounts.user_number > 0).sum()),
        "sessions": len(world.sessions),
        "patterns": facts,
    }


__all__ = ["DemoFiles", "default_end", "simulate", "write_demo", "write_demo_files"]
