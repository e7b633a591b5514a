"""Channel ROI against a plain-Python replay of the stored events, orders and spend."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from growthloop.ingest.files import import_files
from growthloop.models.channel_roi import (
    NO_SPEND,
    NOT_PAID_BACK,
    ChannelCounts,
    channel_roi,
    cohort_revenue_per_user,
)
from growthloop.models.channel_roi_data import fetch_channel_counts
from growthloop.models.errors import ModelInputError
from growthloop.workspace import Workspace

SOURCES = [
    ("baidu", "cpc", "brand"),
    ("baidu", "cpc", "generic"),
    ("douyin", "paid_social", "feed"),
    (None, None, None),
]


def build(ws: Workspace, tmp_path: Path) -> None:
    rnd = random.Random(9)
    start = datetime(2026, 3, 1)  # UTC; the project day is +8 hours
    events, orders, spend = [], [], []
    for i in range(250):
        user = f"u{i}"
        at = start + timedelta(minutes=rnd.randrange(60 * 24 * 40))
        source, medium, campaign = rnd.choice(SOURCES)
        for visit in range(rnd.choice([1, 1, 2, 3])):
            t = at + timedelta(days=visit * rnd.randint(1, 5), minutes=visit)
            url = "https://shop.example.cn/"
            if visit == 0 and source:
                url += f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
            events.append(
                {
                    "event": "$pageview",
                    "distinct_id": user,
                    "timestamp": t,
                    "url": url,
                    "properties": {},
                }
            )
            if rnd.random() < 0.3:
                events.append(
                    {
                        "event": "signup",
                        "distinct_id": user,
                        "timestamp": t + timedelta(minutes=2),
                        "properties": {},
                    }
                )
            if rnd.random() < 0.3:
                paid = t + timedelta(minutes=5)
                orders.append((f"o{len(orders)}", user, paid, rnd.randint(20, 400)))
    for d in range(45):
        day = date(2026, 3, 1) + timedelta(days=d)
        spend.append((day, "baidu", "brand", 30.0))
        spend.append((day, "baidu", "generic", 12.5))
        spend.append((day, "douyin", "feed", 40.0))
    path = tmp_path / "events.jsonl"
    path.write_text(
        "".join(
            json.dumps(dict(e, timestamp=e["timestamp"].isoformat() + "Z")) + "\n" for e in events
        )
    )
    import_files(ws, "events", [path], timezone="Asia/Shanghai")
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,distinct_id,timestamp,amount\n"
        + "".join(f"{o},{u},{t.isoformat()}Z,{a}\n" for o, u, t, a in orders)
    )
    import_files(ws, "orders", [path], timezone="Asia/Shanghai")
    path = tmp_path / "spend.csv"
    path.write_text(
        "date,channel,campaign,spend\n" + "".join(f"{d},{c},{k},{s}\n" for d, c, k, s in spend)
    )
    import_files(ws, "spend", [path], timezone="Asia/Shanghai")


def replay(
    ws: Workspace, start: date, end: date, by_campaign: bool
) -> dict[tuple[str, str], tuple]:
    """The definitions of channel_roi_data, one person at a time over the stored rows."""
    con = ws.events().con
    lo = datetime.combine(start, datetime.min.time()) - timedelta(hours=8)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time()) - timedelta(hours=8)
    rows = con.execute(
        "SELECT person_id, timestamp, utm_source, channel, utm_campaign, session_id, event FROM events"
    ).fetchall()
    first: dict[str, tuple] = {}
    for r in rows:
        if r[0] not in first or r[1] < first[r[0]][1]:
            first[r[0]] = r
    orders = con.execute("SELECT person_id, timestamp, amount::DOUBLE FROM orders").fetchall()
    out: dict[tuple[str, str], list] = {}
    days = (end - start).days + 1
    for person, row in first.items():
        if not lo <= row[1] < hi:
            continue
        key = (row[2] or row[3] or "(unknown)", (row[4] or "") if by_campaign else "")
        acc = out.setdefault(key, [0, 0, 0, 0, [0.0] * days])
        mine = [r for r in rows if r[0] == person and r[1] < hi]
        activated = any(r[6] == "signup" for r in mine)
        sessions = len({r[5] for r in mine})
        bought = [(t, a) for p, t, a in orders if p == person and row[1] <= t < hi]
        acc[0] += 1
        acc[1] += activated
        acc[2] += activated or sessions >= 2
        acc[3] += bool(bought)
        for t, a in bought:
            age = int((t - row[1]).total_seconds() // 86400)
            for d in range(age, days):
                acc[4][d] += a
    spent: dict[tuple[str, str], float] = {}
    for c, k, s in con.execute(
        "SELECT channel, campaign, spend::DOUBLE FROM spend WHERE date BETWEEN ? AND ?",
        [start, end],
    ).fetchall():
        key = (c, k if by_campaign else "")
        spent[key] = spent.get(key, 0.0) + s
        out.setdefault(key, [0, 0, 0, 0, [0.0] * days])
    return {k: (*v, spent.get(k, 0.0)) for k, v in out.items()}


@pytest.mark.parametrize("by_campaign", [False, True])
def test_counts_match_the_replay(workspace: Workspace, tmp_path: Path, by_campaign: bool) -> None:
    build(workspace, tmp_path)
    start, end = date(2026, 3, 5), date(2026, 4, 2)
    got = fetch_channel_counts(
        workspace.events().con, workspace.settings.tz, start, end, by_campaign=by_campaign
    )
    want = replay(workspace, start, end, by_campaign)
    assert {(c.channel, c.campaign) for c in got} == set(want)
    assert len(got) == (4 if by_campaign else 3)
    for c in got:
        new, activated, effective, paying, cumulative, spend = want[(c.channel, c.campaign)]
        assert (c.new_users, c.activated_users, c.effective_users, c.paying_users) == (
            new,
            activated,
            effective,
            paying,
        )
        assert c.cumulative_revenue == pytest.approx(cumulative)
        assert c.revenue == pytest.approx(cumulative[-1])
        assert c.spend == pytest.approx(spend)
    assert [c.spend for c in got] == sorted((c.spend for c in got), reverse=True)


def test_derived_measures() -> None:
    counts = ChannelCounts(
        "douyin", "", 1000.0, 200, 80, 90, 25, 1500.0, (200.0, 600.0, 900.0, 1200.0, 1500.0)
    )
    got = channel_roi(counts)
    assert (got.cost_per_new_user, got.cac, got.roas, got.roi) == (5, 40, 1.5, pytest.approx(0.5))
    assert (got.activation_rate, got.effective_ratio, got.paying_rate) == (0.4, 0.45, 0.125)
    assert got.payback_days == 3 and got.revenue_per_new_user == 7.5
    assert list(cohort_revenue_per_user(counts)) == [1, 3, 4.5, 6, 7.5]
    slow = channel_roi(ChannelCounts("zhihu", "", 5000.0, 10, 1, 1, 1, 100.0, (100.0,)))
    assert slow.payback_days is None and slow.notes == (
        NOT_PAID_BACK.format(channel="zhihu", days=1),
    )
    organic = channel_roi(ChannelCounts("Direct", "", 0.0, 50, 10, 20, 5, 300.0, (300.0,)))
    assert (organic.cac, organic.roas, organic.roi, organic.payback_days) == (
        None,
        None,
        None,
        None,
    )
    assert organic.notes == (NO_SPEND.format(channel="Direct"),)
    assert organic.effective_ratio == 0.4


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ModelInputError, match="at most the new users"):
        ChannelCounts("x", "", 10.0, 5, 6, 0, 0, 0.0, (0.0,))
    with pytest.raises(ModelInputError, match="no new users from x"):
        cohort_revenue_per_user(ChannelCounts("x", "", 10.0, 0, 0, 0, 0, 0.0, (0.0,)))
