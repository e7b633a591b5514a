"""Overview KPIs against a brute-force Python computation over the same rows."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from growthloop.analytics.kpis import Period, compute_overview, last_data_day
from growthloop.workspace import Workspace

TZ = ZoneInfo("Asia/Shanghai")
CHANNELS = ["Direct", "Paid Search", "Organic Social", "Email", None]


def make_rows(seed: int) -> tuple[list[dict[str, object]], list[dict[str, object]], set[str]]:
    """Events, orders and identified persons over 2026-09-01..2026-11-10, many near midnight."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    persons = [f"p{i}" for i in range(120)]
    identified = set(rng.sample(persons, 50))
    events: list[dict[str, object]] = []
    orders: list[dict[str, object]] = []
    for s in range(900):
        person = rng.choice(persons)
        # Local midnight is 16:00 UTC; put a third of the sessions around it.
        base = start + timedelta(
            days=rng.randrange(70), hours=rng.choice([15, 16, rng.randrange(24)])
        )
        base += timedelta(minutes=rng.randrange(60))
        session = f"s{s}" if rng.random() > 0.05 else None
        for k in range(rng.randint(1, 5)):
            ts = base + timedelta(minutes=7 * k, seconds=rng.randrange(60))
            name = rng.choice(["$pageview", "$pageview", "product_view", "signup"])
            events.append(
                {
                    "uuid": uuid.UUID(int=rng.getrandbits(128)),
                    "event": name,
                    "distinct_id": person,
                    "person_id": person,
                    "timestamp": ts.replace(tzinfo=None),
                    "session_id": session,
                    "channel": rng.choice(CHANNELS) if k == 0 or rng.random() < 0.3 else None,
                    "inserted_at": ts.replace(tzinfo=None),
                }
            )
        if rng.random() < 0.3:
            orders.append(
                {
                    "order_id": f"o{s}",
                    "distinct_id": person,
                    "person_id": person,
                    "timestamp": (base + timedelta(minutes=40)).replace(tzinfo=None),
                    "amount": Decimal(rng.randrange(100, 100000)) / 100,
                    "currency": "CNY" if rng.random() < 0.9 else "USD",
                    "inserted_at": base.replace(tzinfo=None),
                }
            )
    return events, orders, identified


def load(
    ws: Workspace,
    events: list[dict[str, object]],
    orders: list[dict[str, object]],
    identified: set[str],
) -> None:
    con = ws.events().con
    ev = pa.Table.from_pylist(events)  # noqa: F841 - read by DuckDB's replacement scan
    od = pa.Table.from_pylist(  # noqa: F841
        orders,
        schema=pa.schema(
            [
                ("order_id", pa.string()),
                ("distinct_id", pa.string()),
                ("person_id", pa.string()),
                ("timestamp", pa.timestamp("us")),
                ("amount", pa.decimal128(18, 2)),
                ("currency", pa.string()),
                ("inserted_at", pa.timestamp("us")),
            ]
        ),
    )
    con.execute("INSERT INTO events BY NAME SELECT * FROM ev")
    if orders:
        con.execute("INSERT INTO orders BY NAME SELECT * FROM od")
    now = datetime(2026, 1, 1)
    for person in sorted({str(e["person_id"]) for e in events}):
        con.execute(
            "INSERT INTO persons VALUES (?, ?, ?, '{}', ?)",
            [person, now, person in identified, now],
        )


def local_day(ts: object, tz: ZoneInfo = TZ) -> date:
    assert isinstance(ts, datetime)
    return ts.replace(tzinfo=UTC).astimezone(tz).date()


def brute_force(
    events: list[dict[str, object]],
    orders: list[dict[str, object]],
    identified: set[str],
    days: set[date],
    tz: ZoneInfo = TZ,
) -> dict[str, float | None]:
    ev = [e for e in events if local_day(e["timestamp"], tz) in days]
    od = [o for o in orders if local_day(o["timestamp"], tz) in days and o["currency"] == "CNY"]
    visitors = len({e["person_id"] for e in ev})
    gmv = float(sum(Decimal(str(o["amount"])) for o in od))
    return {
        "visitors": visitors,
        "new_users": len({e["person_id"] for e in ev if e["event"] == "signup"}),
        "active_users": len({e["person_id"] for e in ev if e["person_id"] in identified}),
        "orders": len(od),
        "gmv": gmv,
        "conversion_rate": len({o["person_id"] for o in od}) / visitors if visitors else None,
        "aov": gmv / len(od) if od else None,
    }


def brute_channels(
    events: list[dict[str, object]], days: set[date], tz: ZoneInfo = TZ
) -> dict[str, int]:
    first: dict[str, tuple[datetime, str]] = {}
    for e in events:
        ts, sid, ch = e["timestamp"], e["session_id"], e["channel"]
        if local_day(ts, tz) not in days or sid is None or ch is None:
            continue
        assert isinstance(ts, datetime) and isinstance(sid, str) and isinstance(ch, str)
        if sid not in first or ts < first[sid][0]:
            first[sid] = (ts, ch)
    out: dict[str, int] = defaultdict(int)
    for _, ch in first.values():
        out[ch] += 1
    return dict(out)


# Shanghai keeps one offset (the fast path); Berlin leaves summer time on 2026-10-25 (ICU path).
@pytest.mark.parametrize(("seed", "zone"), [(1, "Asia/Shanghai"), (2, "Europe/Berlin")])
def test_overview_matches_brute_force(workspace: Workspace, seed: int, zone: str) -> None:
    tz = ZoneInfo(zone)
    events, orders, identified = make_rows(seed)
    load(workspace, events, orders, identified)
    con = workspace.events().con
    period = Period(date(2026, 10, 12), date(2026, 11, 5))
    overview = compute_overview(con, period, tz, "CNY")
    cur = brute_force(events, orders, identified, set(period.dates()), tz)
    prev = brute_force(events, orders, identified, set(period.previous().dates()), tz)
    assert [k.name for k in overview.kpis] == list(cur)
    for kpi in overview.kpis:
        assert kpi.value == pytest.approx(cur[kpi.name]), kpi.name
        assert kpi.previous == pytest.approx(prev[kpi.name]), kpi.name
        p = prev[kpi.name]
        c = cur[kpi.name]
        assert c is not None
        expected_change = (c - p) / p if p else None
        assert kpi.change == pytest.approx(expected_change), kpi.name
        for day, value in zip(period.dates(), kpi.daily, strict=True):
            expected = brute_force(events, orders, identified, {day}, tz)[kpi.name]
            assert value == pytest.approx(expected), (kpi.name, day)
    channels = brute_channels(events, set(period.dates()), tz)
    assert {c.channel: c.sessions for c in overview.channels} == channels
    assert sum(c.share for c in overview.channels) == pytest.approx(1.0)
    last = max(local_day(e["timestamp"], tz) for e in events + orders)
    assert last_data_day(con, tz) == last


def test_cards_appear_only_with_data(workspace: Workspace) -> None:
    events, _, _ = make_rows(3)
    events = [e for e in events if e["event"] != "signup"]
    load(workspace, events, [], set())
    overview = compute_overview(
        workspace.events().con, Period(date(2026, 10, 1), date(2026, 10, 31)), TZ, "CNY"
    )
    assert [k.name for k in overview.kpis] == ["visitors"]


def test_empty_store_has_no_cards(workspace: Workspace) -> None:
    con = workspace.events().con
    overview = compute_overview(con, Period.last_days(date(2026, 11, 1), 7), TZ, "CNY")
    assert overview.kpis == () and overview.channels == ()
    assert last_data_day(con, TZ) is None


def test_period_bounds_are_local_midnights() -> None:
    period = Period(date(2026, 11, 1), date(2026, 11, 7))
    assert period.utc_bounds(TZ) == (datetime(2026, 10, 31, 16), datetime(2026, 11, 7, 16))
    assert period.previous() == Period(date(2026, 10, 25), date(2026, 10, 31))
    with pytest.raises(ValueError, match="before it starts"):
        Period(date(2026, 11, 2), date(2026, 11, 1))


def test_insight_specs_name_every_kpi() -> None:
    from typing import get_args

    from growthloop.analytics.kpis import KPI_NAMES
    from growthloop.web.insights import KpiName

    assert set(get_args(KpiName)) == set(KPI_NAMES)
