"""Property-based: random rules and random sequences of events, replays, redemptions and expiry
runs, applied through the real ledger (SQLite and PostgreSQL), give the balances, expired points,
redemptions and levels of a brute-force simulation written independently here."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from growthloop.ops import levels, points_award, points_ledger, points_rules
from growthloop.ops.points_models import PointsEntry
from growthloop.workspace import Workspace

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1)
PERSONS = ("ann", "ben", "cat")
LEVELS = (("Silver", 60), ("Gold", 250))

rules_st = st.lists(
    st.fixed_dictionaries(
        {
            "event": st.sampled_from(("a", "b")),
            "points": st.integers(1, 20),
            "per_amount": st.sampled_from((None, None, 5)),
            "once": st.booleans(),
            "daily_cap": st.sampled_from((None, 1, 7, 40)),
            "validity_days": st.sampled_from((None, 1, 2, 5)),
        }
    ),
    min_size=1,
    max_size=3,
)
event_st = st.tuples(
    st.just("event"),
    st.sampled_from(PERSONS),
    st.sampled_from(("a", "a", "b")),
    st.integers(1, 3000),
    st.integers(0, 20000),
)
# Events three times as often as anything else, so there are points to redeem and expire.
op_st = st.one_of(
    event_st,
    event_st,
    event_st,
    st.tuples(st.just("replay"), st.integers(0, 1000)),
    st.tuples(st.just("redeem"), st.sampled_from(PERSONS), st.integers(1, 30), st.integers(1, 600)),
    st.tuples(st.just("expire"), st.integers(1, 3000)),
)


@dataclass
class Lot:
    seq: int
    points: int
    remaining: int
    expires: datetime | None


@dataclass
class Model:
    """The brute-force ledger."""

    lots: dict[str, list[Lot]] = field(default_factory=dict)
    earned: dict[str, int] = field(default_factory=dict)
    expired: dict[str, int] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    used: dict[tuple[int, str, date], int] = field(default_factory=dict)
    seq: int = 0

    def balance(self, person: str) -> int:
        return sum(lot.remaining for lot in self.lots.get(person, []))

    def event(self, rules: list[dict[str, Any]], row: tuple[Any, ...]) -> None:
        uid, name, person, at, amount = row
        for number, rule in enumerate(rules):
            if rule["event"] != name:
                continue
            if rule["per_amount"] is None:
                pts = rule["points"]
            else:
                pts = int(amount // Decimal(rule["per_amount"])) * rule["points"]
            if pts <= 0:
                continue
            key = f"{number}:once:{person}" if rule["once"] else f"{number}:{uid}"
            if key in self.keys:
                continue
            if rule["daily_cap"] is not None:
                slot = (number, person, at.replace(tzinfo=ZoneInfo("UTC")).astimezone(TZ).date())
                pts = min(pts, rule["daily_cap"] - self.used.get(slot, 0))
                if pts <= 0:
                    continue
                self.used[slot] = self.used.get(slot, 0) + pts
            self.keys.add(key)
            days = rule["validity_days"]
            self.seq += 1
            expires = at + timedelta(days=days) if days else None
            self.lots.setdefault(person, []).append(Lot(self.seq, pts, pts, expires))
            self.earned[person] = self.earned.get(person, 0) + pts

    def expire(self, at: datetime, only: str | None = None) -> None:
        for person, lots in self.lots.items():
            if only is not None and person != only:
                continue
            for lot in lots:
                if lot.expires is not None and lot.expires <= at and lot.remaining:
                    self.expired[person] = self.expired.get(person, 0) + lot.remaining
                    lot.remaining = 0

    def redeem(self, person: str, pts: int, at: datetime) -> bool:
        self.expire(at, person)
        if self.balance(person) < pts:
            return False
        order = sorted(
            self.lots.get(person, []),
            key=lambda x: (x.expires is None, x.expires or at, x.seq),
        )
        for lot in order:
            take = min(pts, lot.remaining)
            lot.remaining -= take
            pts -= take
        return True

    def level(self, person: str) -> str:
        got = ""
        for name, threshold in LEVELS:
            if self.earned.get(person, 0) >= threshold:
                got = name
        return got


@pytest.fixture
def ws(tmp_path: Path, metadata_url: str) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as opened:
        yield opened


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rules=rules_st, ops=st.lists(op_st, min_size=5, max_size=40))
def test_random_sequences_match_the_brute_force_ledger(
    ws: Workspace, rules: list[dict[str, Any]], ops: list[tuple[Any, ...]]
) -> None:
    project = ws.ensure_project("h" + secrets.token_hex(5))
    stored = [
        points_rules.create_rule(ws, project.id, {"name": f"r{i}", **r})
        for i, r in enumerate(rules)
    ]
    for name, threshold in LEVELS:
        levels.create_level(ws, project.id, name, "points", threshold)
    model = Model()
    at = START
    events: list[tuple[Any, ...]] = []
    redeemed: list[bool] = []
    model_redeemed: list[bool] = []
    for n, op in enumerate(ops):
        kind = op[0]
        if kind == "replay":
            if not events:
                continue
            row = events[op[1] % len(events)]
        elif kind == "event":
            _, person, name, minutes, cents = op
            at += timedelta(minutes=minutes)
            row = (str(uuid.UUID(int=n + 1)), name, person, at, Decimal(cents) / 100)
            events.append(row)
        if kind in ("replay", "event"):
            db_row = (row[0], row[1], row[2], row[3], row[4], "{}")
            cands = points_rules.candidates(stored, [db_row])
            points_award.apply(ws, project.id, cands, points_award.AwardSummary())
            model.event(rules, row)
        elif kind == "redeem":
            _, person, pts, minutes = op
            at += timedelta(minutes=minutes)
            try:
                points_ledger.redeem(ws, project.id, person, pts, f"redeem-{n}", at=at)
                redeemed.append(True)
            except points_ledger.InsufficientPoints:
                redeemed.append(False)
            model_redeemed.append(model.redeem(person, pts, at))
        else:
            at += timedelta(minutes=op[1])
            points_ledger.expire(ws, project.id, at)
            model.expire(at)
    assert redeemed == model_redeemed
    end = at + timedelta(days=6)
    points_ledger.expire(ws, project.id, end)
    model.expire(end)
    levels.refresh(ws, project, PERSONS)
    for person in PERSONS:
        account = levels.account_of(ws, project.id, person)
        assert account is not None
        assert account.balance == model.balance(person)
        assert account.earned == model.earned.get(person, 0)
        assert account.level == model.level(person)
        entries = points_ledger_entries(ws, project.id, person)
        assert -sum(p for k, p in entries if k == "EXPIRE") == model.expired.get(person, 0)
        assert sum(p for _, p in entries) == account.balance >= 0


def points_ledger_entries(ws: Workspace, project_id: int, person: str) -> list[tuple[str, int]]:
    with ws.sessions() as session:
        return [
            (k, int(p))
            for k, p in session.execute(
                select(PointsEntry.kind, PointsEntry.points).where(
                    PointsEntry.project_id == project_id, PointsEntry.person_id == person
                )
            )
        ]
