"""Points ledger on SQLite and PostgreSQL: replaying events awards nothing twice, concurrent
redemptions never overspend, a process killed mid-award or a failing database write loses and
doubles nothing after a rerun; all checked against a brute-force computation of the awards."""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from growthloop.ingest.files import import_files
from growthloop.ops import levels, points_award, points_ledger, points_rules
from growthloop.ops.points_models import PointsAccount, PointsEntry
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace

TZ = ZoneInfo("Asia/Shanghai")
DAY0 = date(2026, 11, 1)
RULES: tuple[dict[str, Any], ...] = (
    {"name": "buy", "event": "purchase", "points": 1, "per_amount": 10, "validity_days": 3},
    {"name": "checkin", "event": "checkin", "points": 5, "daily_cap": 12},
    {"name": "signup", "event": "signup", "points": 100, "once": True},
)


@pytest.fixture
def ws(tmp_path: Path, metadata_url: str) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as opened:
        yield opened


def new_project(ws: Workspace) -> Project:
    """A project of its own (the PostgreSQL database is shared by the session's tests)."""
    return ws.ensure_project("p" + secrets.token_hex(4))


def make_events(seed: int, persons: int, per_person: int, days: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for p in range(persons):
        for _ in range(per_person):
            event = rng.choice(("purchase", "checkin", "checkin", "signup", "$pageview"))
            at = datetime.combine(DAY0, datetime.min.time()) + timedelta(
                minutes=rng.randrange(days * 24 * 60)
            )
            props: dict[str, Any] = {}
            if event == "purchase":
                props["revenue"] = round(rng.uniform(1, 400), 2)
            out.append(
                {
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "event": event,
                    "distinct_id": f"p{p:04d}",
                    "timestamp": at.strftime("%Y-%m-%d %H:%M:%S"),
                    "properties": props,
                }
            )
    return out


def import_events(ws: Workspace, project: Project, rows: list[dict[str, Any]], path: Path) -> int:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return import_files(ws, "events", [path], timezone="UTC", project=project.slug).rows_stored


def add_rules(ws: Workspace, project: Project) -> dict[str, int]:
    return {r["name"]: points_rules.create_rule(ws, project.id, dict(r)).id for r in RULES}


def reference(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Points per person by brute force: rules in RULES, events in time order."""
    totals: dict[str, int] = {}
    used: dict[tuple[str, str, date], int] = {}
    once: set[tuple[str, str]] = set()
    for row in sorted(rows, key=lambda r: (r["timestamp"], r["uuid"])):
        person = row["distinct_id"]
        at = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=ZoneInfo("UTC"))
        for rule in RULES:
            if rule["event"] != row["event"]:
                continue
            if "per_amount" in rule:
                amount = Decimal(str(row["properties"]["revenue"]))
                points = int(amount // Decimal(rule["per_amount"])) * rule["points"]
            else:
                points = rule["points"]
            if rule.get("once"):
                if (rule["name"], person) in once:
                    continue
                once.add((rule["name"], person))
            if "daily_cap" in rule:
                slot = (rule["name"], person, at.astimezone(TZ).date())
                points = min(points, rule["daily_cap"] - used.get(slot, 0))
                used[slot] = used.get(slot, 0) + max(points, 0)
            if points > 0:
                totals[person] = totals.get(person, 0) + points
    return totals


def earned(ws: Workspace, project: Project) -> dict[str, int]:
    with ws.sessions() as session:
        rows = session.execute(
            sa.select(PointsEntry.person_id, sa.func.sum(PointsEntry.points))
            .where(PointsEntry.project_id == project.id, PointsEntry.kind == "EARN")
            .group_by(PointsEntry.person_id)
        ).all()
    return {p: int(v) for p, v in rows}


def assert_consistent(ws: Workspace, project: Project) -> None:
    """Every account's balance is the sum of its ledger and of what is left of its lots."""
    e = PointsEntry
    with ws.sessions() as session:
        balances = dict(
            session.execute(
                sa.select(PointsAccount.person_id, PointsAccount.balance).where(
                    PointsAccount.project_id == project.id
                )
            ).all()
        )
        sums = session.execute(
            sa.select(
                e.person_id,
                sa.func.sum(e.points),
                sa.func.sum(sa.case((e.points > 0, e.remaining), else_=0)),
                sa.func.min(e.remaining),
            )
            .where(e.project_id == project.id)
            .group_by(e.person_id)
        ).all()
    by_person = {p: (int(total), int(left), int(low)) for p, total, left, low in sums}
    for person, balance in balances.items():
        total, left, low = by_person.get(person, (0, 0, 0))
        assert balance == total == left >= 0, person
        assert low >= 0, person


def entry_count(ws: Workspace, project: Project) -> int:
    with ws.sessions() as session:
        n = session.scalar(sa.select(sa.func.count()).where(PointsEntry.project_id == project.id))
    return int(n or 0)


def test_replaying_events_awards_nothing_twice(ws: Workspace, tmp_path: Path) -> None:
    project = new_project(ws)
    rows = make_events(1, 40, 15)
    assert import_events(ws, project, rows, tmp_path / "events.jsonl") == len(rows)
    add_rules(ws, project)
    expected = reference(rows)
    assert sum(expected.values()) > 1000

    first = points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6))
    assert earned(ws, project) == expected
    assert first.capped > 0  # the daily cap did bite
    count = entry_count(ws, project)
    # Again over the same days, over part of them, as new events, and after a re-import.
    assert points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6)).entries == 0
    assert points_award.award(ws, project, first=DAY0 + timedelta(days=1), last=DAY0).entries == 0
    assert points_award.award_new(ws, project).entries == 0
    assert import_events(ws, project, rows, tmp_path / "again.jsonl") == 0
    assert points_award.award_new(ws, project).entries == 0
    assert entry_count(ws, project) == count
    assert earned(ws, project) == expected
    assert_consistent(ws, project)


def test_day_by_day_in_any_order_gives_the_same_totals(ws: Workspace, tmp_path: Path) -> None:
    project = new_project(ws)
    rows = make_events(2, 20, 20)
    import_events(ws, project, rows, tmp_path / "events.jsonl")
    add_rules(ws, project)
    for offset in (5, 0, 2, 4, 1, 3, 2):  # local days; events run into day 5 there
        points_award.award(
            ws, project, first=DAY0 + timedelta(days=offset), last=DAY0 + timedelta(days=offset)
        )
    assert earned(ws, project) == reference(rows)


def test_new_events_are_awarded_by_the_job_once(ws: Workspace, tmp_path: Path) -> None:
    project = new_project(ws)
    rows = make_events(3, 30, 10)
    add_rules(ws, project)
    import_events(ws, project, rows[:150], tmp_path / "a.jsonl")
    points_award.award_job(ws, datetime(2026, 11, 6))
    assert earned(ws, project) == reference(rows[:150])
    import_events(ws, project, rows[150:], tmp_path / "b.jsonl")
    points_award.award_job(ws, datetime(2026, 11, 6))
    points_award.award_job(ws, datetime(2026, 11, 6))
    # Late events fill caps in the order they arrive, so compare per-event totals only where no
    # cap or once-rule can depend on the order: the sums of the uncapped purchase rule.
    with ws.sessions() as session:
        buy = session.scalar(
            sa.select(sa.func.sum(PointsEntry.points)).where(
                PointsEntry.project_id == project.id,
                PointsEntry.key.like("rule:%"),
                PointsEntry.rule_id == points_rules.list_rules(ws, project.id)[0].id,
            )
        )
    expect = sum(
        int(Decimal(str(r["properties"]["revenue"])) // 10)
        for r in rows
        if r["event"] == "purchase"
    )
    assert buy == expect
    assert_consistent(ws, project)


def test_worked_example_fifo_expiry_redeem_refund(ws: Workspace) -> None:
    project = new_project(ws)
    values = {"name": "buy", "event": "purchase", "points": 1, "per_amount": 1}
    rule = points_rules.create_rule(ws, project.id, {**values, "validity_days": 30})
    cands = points_rules.candidates(
        [rule],
        [
            ("00000000-0000-0000-0000-000000000001", "purchase", "amy", datetime(2026, 11, 1), Decimal("120.50"), "{}"),
            ("00000000-0000-0000-0000-000000000002", "purchase", "amy", datetime(2026, 11, 10), Decimal("80"), "{}"),
        ],
    )  # fmt: skip
    points_award.apply(ws, project.id, cands, points_award.AwardSummary())
    at = datetime(2026, 11, 15)
    spent = points_ledger.redeem(ws, project.id, "amy", 150, "order-1", at=at)
    assert spent.points == -150
    assert points_ledger.redeem(ws, project.id, "amy", 150, "order-1", at=at).id == spent.id
    with pytest.raises(points_ledger.KeyConflict, match="order-1"):
        points_ledger.redeem(ws, project.id, "amy", 10, "order-1", at=at)
    with pytest.raises(points_ledger.InsufficientPoints, match="balance 50 is less than"):
        points_ledger.redeem(ws, project.id, "amy", 51, "order-2", at=at)
    assert points_ledger.expire(ws, project.id, datetime(2026, 12, 1)) == 0  # lot 1: all spent
    assert points_ledger.expire(ws, project.id, datetime(2026, 12, 10)) == 1
    assert points_ledger.expire(ws, project.id, datetime(2026, 12, 10)) == 0
    account = levels.account_of(ws, project.id, "amy")
    assert account is not None and (account.balance, account.earned) == (0, 200)
    with ws.sessions() as session:
        expired = session.scalars(
            sa.select(PointsEntry.points)
            .where(PointsEntry.project_id == project.id, PointsEntry.kind == "EXPIRE")
            .order_by(PointsEntry.id)
        ).all()
    assert list(expired) == [-50]
    back = points_ledger.refund(ws, project.id, "order-1", "refund-1", 100)
    assert back.points == 100 and back.expires_at is None
    with pytest.raises(points_ledger.PointsError, match=r"not in 1\.\.50"):
        points_ledger.refund(ws, project.id, "order-1", "refund-2", 60)
    with pytest.raises(points_ledger.InsufficientPoints):
        points_ledger.adjust(ws, project.id, "amy", -101, "fix-1", reason="test")
    points_ledger.adjust(ws, project.id, "amy", -100, "fix-1", reason="test")
    assert_consistent(ws, project)


def test_concurrent_redemptions_never_overspend(ws: Workspace) -> None:
    """8 threads (8 database connections) redeem at once; the shared key is spent once."""
    project = new_project(ws)
    points_ledger.adjust(ws, project.id, "bob", 1000, "seed", reason="start")
    results: list[tuple[str, int, bool]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        rng = random.Random(n)
        start.wait()
        for j in range(15):
            key, size = (f"t{n}-{j}", rng.randint(1, 30)) if j != 5 else ("shared", 7)
            try:
                points_ledger.redeem(ws, project.id, "bob", size, key)
                ok = True
            except points_ledger.InsufficientPoints:
                ok = False
            with lock:
                results.append((key, size, ok))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 120
    spent = {k: s for k, s, ok in results if ok}  # the shared key counts once
    account = levels.account_of(ws, project.id, "bob")
    assert account is not None
    assert account.balance == 1000 - sum(spent.values()) >= 0
    assert sum(s for _, s, _ in results) > 1000  # more was asked than there was
    # A refusal only happens when the balance was below the ask; it only falls afterwards.
    assert all(size > account.balance for _, size, ok in results if not ok)
    with ws.sessions() as session:
        keys = session.scalars(
            sa.select(PointsEntry.key).where(
                PointsEntry.project_id == project.id, PointsEntry.kind == "REDEEM"
            )
        ).all()
    assert sorted(keys) == sorted(spent)
    assert_consistent(ws, project)


CHILD = """
import sys
from datetime import date
from growthloop.ops import points_award
from growthloop.workspace import Workspace
ws = Workspace.open(sys.argv[1], metadata_url=sys.argv[2])
project = next(p for p in ws.projects() if p.slug == sys.argv[3])
points_award.PERSONS_PER_TRANSACTION = 40
points_award.award(ws, project, first=date(2026, 11, 1), last=date(2026, 11, 8))
print("finished")
"""


def test_killed_mid_award_then_rerun_is_exact(tmp_path: Path, metadata_url: str) -> None:
    data = tmp_path / "data"
    rows = make_events(4, 600, 4)
    with Workspace.open(data, metadata_url=metadata_url) as ws:
        project = new_project(ws)
        import_events(ws, project, rows, tmp_path / "events.jsonl")
        add_rules(ws, project)
    expected = reference(rows)
    engine = sa.create_engine(metadata_url)
    count = sa.text("SELECT count(*) FROM points_ledger WHERE project_id = :p")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), metadata_url, project.slug],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and child.poll() is None:
        with engine.connect() as conn:
            seen = int(conn.execute(count, {"p": project.id}).scalar() or 0)
        if seen > 0:
            break
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with engine.connect() as conn:
        at_kill = int(conn.execute(count, {"p": project.id}).scalar() or 0)
    engine.dispose()
    assert child.returncode == -signal.SIGKILL, "the award finished before it could be killed"
    assert at_kill > 0
    with Workspace.open(data, metadata_url=metadata_url) as ws:
        assert 0 < sum(earned(ws, project).values()) < sum(expected.values())
        assert_consistent(ws, project)  # what committed is whole: entries and balances together
        points_award.award(ws, project, first=date(2026, 11, 1), last=date(2026, 11, 8))
        assert earned(ws, project) == expected
        assert_consistent(ws, project)


def _trigger(ws: Workspace, victim: str, on: bool) -> None:
    with ws.engine.begin() as conn:
        if ws.engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "DROP TRIGGER IF EXISTS fail_ledger" if not on else
                "CREATE TRIGGER fail_ledger BEFORE INSERT ON points_ledger"
                f" WHEN NEW.person_id = '{victim}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
            )  # fmt: skip
        elif on:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION gl_fail_ledger() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.person_id = '{victim}' THEN RAISE EXCEPTION 'injected'; END IF;"
                " RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER fail_ledger BEFORE INSERT ON points_ledger"
                " FOR EACH ROW EXECUTE FUNCTION gl_fail_ledger()"
            )
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS fail_ledger ON points_ledger")


def test_a_failing_database_write_mid_award_loses_nothing(ws: Workspace, tmp_path: Path) -> None:
    project = new_project(ws)
    rows = make_events(5, 400, 4)
    import_events(ws, project, rows, tmp_path / "events.jsonl")
    add_rules(ws, project)
    expected = reference(rows)
    victim = sorted(expected)[250]  # in the second batch of 200 persons
    _trigger(ws, victim, True)
    try:
        with pytest.raises(sa.exc.DBAPIError, match="injected"):
            points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6))
    finally:
        _trigger(ws, victim, False)
    partial = earned(ws, project)
    assert victim not in partial and 0 < len(partial) < len(expected)
    assert all(partial[p] == expected[p] for p in partial)
    assert_consistent(ws, project)
    points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6))
    assert earned(ws, project) == expected
    assert_consistent(ws, project)


def test_levels_and_level_events_are_written_once(ws: Workspace, tmp_path: Path) -> None:
    project = new_project(ws)
    rows = make_events(6, 30, 12)
    import_events(ws, project, rows, tmp_path / "events.jsonl")
    add_rules(ws, project)
    levels.create_level(ws, project.id, "Silver", "points", 100)
    levels.create_level(ws, project.id, "Gold", "points", 250)
    levels.create_level(ws, project.id, "Big spender", "spend", 900)
    expected = reference(rows)
    spend: dict[str, Decimal] = {}
    for r in rows:
        if r["event"] == "purchase":
            spend[r["distinct_id"]] = spend.get(r["distinct_id"], Decimal(0)) + Decimal(
                str(r["properties"]["revenue"])
            )

    def level(person: str) -> str:
        got = ""
        for name, ok in (
            ("Silver", expected.get(person, 0) >= 100),
            ("Gold", expected.get(person, 0) >= 250),
            ("Big spender", spend.get(person, Decimal(0)) >= 900),
        ):
            got = name if ok else got
        return got

    summary = points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6))
    want = {p: level(p) for p in expected if level(p)}
    assert summary.level_changes == len(want)
    assert {"Silver", "Big spender"} <= set(want.values())  # both bases reached
    con = ws.events(project.slug).con
    stored = dict(
        con.execute(
            "SELECT person_id, json_extract_string(properties, '$.to_level') FROM events"
            " WHERE event = 'level_changed'"
        ).fetchall()
    )
    assert stored == want
    # Queue written again (as after a crash before it was marked): nothing stored twice.
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE points_level_events SET written_at = NULL"))
    assert levels.write_events(ws, project) == 0
    assert (
        points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6)).level_events == 0
    )
    n = con.execute("SELECT count(*) FROM events WHERE event = 'level_changed'").fetchone()
    assert n is not None and n[0] == len(want)


def test_award_while_redeeming_loses_and_doubles_nothing(ws: Workspace, tmp_path: Path) -> None:
    """The award job and four redeeming threads work on the same persons at the same time."""
    project = new_project(ws)
    rows = make_events(7, 60, 10)
    import_events(ws, project, rows, tmp_path / "events.jsonl")
    add_rules(ws, project)
    persons = [f"p{i:04d}" for i in range(5)]
    for person in persons:
        points_ledger.adjust(ws, project.id, person, 50, f"seed-{person}", reason="start")
    spent: dict[str, int] = {}
    lock = threading.Lock()
    go = threading.Barrier(5)

    def redeem(n: int) -> None:
        rng = random.Random(n)
        go.wait()
        for j in range(20):
            person, size = rng.choice(persons), rng.randint(1, 40)
            try:
                points_ledger.redeem(ws, project.id, person, size, f"r{n}-{j}")
            except points_ledger.InsufficientPoints:
                continue
            with lock:
                spent[person] = spent.get(person, 0) + size

    def award() -> None:
        go.wait()
        points_award.award(ws, project, first=DAY0, last=DAY0 + timedelta(days=6))

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=award))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert earned(ws, project) == reference(rows)
    assert sum(spent.values()) > 0
    with ws.sessions() as session:
        redeemed = dict(
            session.execute(
                sa.select(PointsEntry.person_id, -sa.func.sum(PointsEntry.points))
                .where(PointsEntry.project_id == project.id, PointsEntry.kind == "REDEEM")
                .group_by(PointsEntry.person_id)
            ).all()
        )
    assert {p: int(v) for p, v in redeemed.items()} == spent
    assert_consistent(ws, project)


REDEEMER = """
import json, random, sys
from growthloop.ops import points_ledger
from growthloop.workspace import Workspace
ws = Workspace.open(sys.argv[1], metadata_url=sys.argv[2])
project_id, n = int(sys.argv[3]), int(sys.argv[4])
rng, out = random.Random(n), []
for j in range(20):
    size = rng.randint(1, 30)
    try:
        points_ledger.redeem(ws, project_id, "cy", size, f"proc{n}-{j}")
        out.append([size, True])
    except points_ledger.InsufficientPoints:
        out.append([size, False])
print(json.dumps(out))
"""


def test_redemptions_from_several_processes(tmp_path: Path, metadata_url: str) -> None:
    """Four processes, each with its own connection, redeem from one balance at once."""
    data = tmp_path / "data"
    with Workspace.open(data, metadata_url=metadata_url) as ws:
        project = new_project(ws)
        points_ledger.adjust(ws, project.id, "cy", 700, "seed", reason="start")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REDEEMER, str(data), metadata_url, str(project.id), str(n)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(4)
    ]
    results = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    asked = [(size, ok) for r in results for size, ok in r]
    spent = sum(size for size, ok in asked if ok)
    assert sum(size for size, _ in asked) > 700
    with Workspace.open(data, metadata_url=metadata_url) as ws:
        account = levels.account_of(ws, project.id, "cy")
        assert account is not None and account.balance == 700 - spent >= 0
        assert all(size > account.balance for size, ok in asked if not ok)
        assert_consistent(ws, project)
