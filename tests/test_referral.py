"""Referral attribution, each anti-abuse rule, two-sided rewards, reruns and a failing write,
on SQLite and PostgreSQL; K-factor and funnel against counts worked out by hand."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from growthloop.demo import referral as demo_referral
from growthloop.ingest.files import import_files
from growthloop.ops import referral, referral_stats
from growthloop.ops.points_models import PointsEntry
from growthloop.ops.referral_models import Referral
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace
from tests.test_points_ledger import _trigger

T0 = datetime(2026, 11, 2, 2, 0)  # 10:00 in Asia/Shanghai


@pytest.fixture
def ws(tmp_path: Path, metadata_url: str) -> Iterator[Workspace]:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as opened:
        yield opened


def ev(minute: int, event: str, who: str, **props: Any) -> dict[str, Any]:
    return {
        "uuid": f"00000000-0000-4000-8000-{minute:012d}",
        "event": event,
        "distinct_id": who,
        "timestamp": (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:%S"),
        "properties": props,
    }


def load(ws: Workspace, project: Project, rows: list[dict[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_files(ws, "events", [path], timezone="UTC", project=project.slug)


def setup(ws: Workspace, tmp_path: Path) -> tuple[Project, str]:
    """The cases: returns the project and the code generated for inv3."""
    project = ws.ensure_project("r" + secrets.token_hex(4))
    prog = referral.programme(ws, project.id)
    referral.update_programme(ws, project.id, prog.version, {"max_rewards_per_inviter": 3})
    generated = referral.code_for(ws, project.id, "inv3").code
    d, ip = "$device_id", "$ip"
    rows = [
        ev(1, "signup", "inv1", **{d: "D1", ip: "10.0.0.1"}),
        ev(2, "invite_sent", "inv1", invite_code="CODE1"),
        ev(3, "invite_sent", "inv2", invite_code="CODE2"),
        ev(4, "invite_sent", "e9", invite_code="CODE1"),  # someone else shares CODE1: still inv1's
        ev(10, "signup", "e1", invite_code="CODE1", **{d: "D2", ip: "10.0.0.2"}),
        ev(11, "signup", "e2", **{"$current_url": "https://shop.example.cn/signup?code=CODE1"}),
        ev(12, "signup", "e1", invite_code="CODE2"),  # a second signup with a code: ignored
        ev(13, "signup", "inv2", invite_code="CODE2"),  # self-referral
        ev(14, "signup", "e3", invite_code="CODE1", **{d: "D1"}),  # inviter's device
        ev(15, "signup", "e4", invite_code="CODE1", **{ip: "10.0.0.1"}),  # inviter's IP
        ev(16, "signup", "e5", invite_code="NOPE"),  # nobody's code
        ev(17, "signup", "e6", invite_code="CODE1"),  # inv1's third: accepted
        ev(18, "signup", "e7", invite_code="CODE1"),  # inv1's fourth: over the cap of 3
        ev(19, "signup", "e8", **{"$referrer": f"https://m.example.cn/i?invite_code={generated}"}),
        ev(30, "purchase", "e1", revenue=88),
        ev(31, "purchase", "e1", revenue=500),
        ev(32, "purchase", "e3", revenue=50),  # rejected invitee: order recorded, no reward
        ev(33, "purchase", "e5", revenue=20),  # no inviter: no first order
        ev(40, "$pageview", "x1"),  # an anonymous visitor: not a registered user
    ]
    load(ws, project, rows, tmp_path / "cases.jsonl")
    return project, generated


def statuses(ws: Workspace, project: Project) -> dict[str, tuple[str | None, str, str]]:
    with ws.sessions() as session:
        refs = session.scalars(sa.select(Referral).where(Referral.project_id == project.id))
        return {r.invitee_id: (r.inviter_id, r.status, r.reason) for r in refs}


def points(ws: Workspace, project: Project) -> dict[str, int]:
    with ws.sessions() as session:
        rows = session.execute(
            sa.select(PointsEntry.person_id, sa.func.sum(PointsEntry.points))
            .where(PointsEntry.project_id == project.id)
            .group_by(PointsEntry.person_id)
        ).all()
    return {p: int(v) for p, v in rows}


EXPECTED = {
    "e1": ("inv1", "accepted", ""),
    "e2": ("inv1", "accepted", ""),
    "inv2": ("inv2", "rejected", "self_referral"),
    "e3": ("inv1", "rejected", "same_device"),
    "e4": ("inv1", "rejected", "same_ip"),
    "e5": (None, "rejected", "unknown_code"),
    "e6": ("inv1", "accepted", ""),
    "e7": ("inv1", "rejected", "cap_reached"),
    "e8": ("inv3", "accepted", ""),
}
# Defaults: 200 / 100 points on signup (inviter / invitee), 300 / 0 on the first order.
POINTS = {"inv1": 3 * 200 + 300, "inv3": 200, "e1": 100, "e2": 100, "e6": 100, "e8": 100}


def test_attribution_abuse_rules_and_rewards(ws: Workspace, tmp_path: Path) -> None:
    project, _ = setup(ws, tmp_path)
    summary = referral.process(ws, project)
    assert statuses(ws, project) == EXPECTED
    assert summary.rejected == {
        "self_referral": 1,
        "same_device": 1,
        "same_ip": 1,
        "unknown_code": 1,
        "cap_reached": 1,
    }
    assert (summary.accepted, summary.first_orders, summary.codes_registered) == (4, 2, 2)
    assert points(ws, project) == POINTS
    with ws.sessions() as session:
        e1 = session.scalar(
            sa.select(Referral).where(
                Referral.project_id == project.id, Referral.invitee_id == "e1"
            )
        )
    assert e1 is not None and float(e1.first_order_amount or 0) == 88.0
    # Reruns, by new events and by date range, change nothing.
    for _ in range(2):
        referral.process_new(ws, project)
        referral.process(ws, project, first=date(2026, 11, 1), last=date(2026, 11, 3))
    assert statuses(ws, project) == EXPECTED
    assert points(ws, project) == POINTS


def test_k_factor_and_funnel(ws: Workspace, tmp_path: Path) -> None:
    project, _ = setup(ws, tmp_path)
    referral.process(ws, project)
    s = referral_stats.stats(ws, project, date(2026, 11, 2), date(2026, 11, 2))
    # Invites: inv1, inv2, e9 -> 3. Registered active users: inv1, inv2 (self-signup), e1..e8
    # with a signup, e9 sent an invite but never signed up and is not identified -> 10.
    assert (s.invites, s.inviters, s.users) == (3, 3, 10)
    assert (s.signups, s.first_orders) == (4, 1)
    assert s.k_factor == pytest.approx(4 / 10)
    assert s.invites_per_user == pytest.approx(3 / 10)
    assert s.conversion == pytest.approx(4 / 3)
    assert s.funnel == [("invites", 3), ("signups", 4), ("first_orders", 1)]
    assert [(i.person_id, i.signups, i.rejected, i.first_orders, i.points) for i in s.top] == [
        ("inv1", 3, 3, 1, 900),
        ("inv3", 1, 0, 0, 200),
        ("inv2", 0, 1, 0, 0),
    ]
    empty = referral_stats.stats(ws, project, date(2026, 10, 1), date(2026, 10, 2))
    assert (empty.signups, empty.users, empty.k_factor) == (0, 0, None)
    with pytest.raises(ValueError, match="ends before it starts"):
        referral_stats.stats(ws, project, date(2026, 11, 2), date(2026, 11, 1))


def test_generated_codes_are_stable_and_links_use_the_template(ws: Workspace) -> None:
    project = ws.ensure_project("r" + secrets.token_hex(4))
    first = referral.code_for(ws, project.id, "amy")
    assert referral.code_for(ws, project.id, "amy").code == first.code
    assert referral.code_for(ws, project.id, "bob").code != first.code
    prog = referral.programme(ws, project.id)
    assert referral.invite_link(prog, first.code).endswith(f"?code={first.code}")
    with pytest.raises(referral.PointsError, match="link_template: must contain"):
        referral.update_programme(ws, project.id, prog.version, {"link_template": "x"})
    with pytest.raises(referral.PointsError, match="not a programme setting"):
        referral.update_programme(ws, project.id, prog.version, {"colour": "red"})


def test_a_failing_reward_write_keeps_referral_and_reward_together(
    ws: Workspace, tmp_path: Path
) -> None:
    project, _ = setup(ws, tmp_path)
    _trigger(ws, "e6", True)  # the invitee's reward for e6 cannot be written
    try:
        with pytest.raises(sa.exc.DBAPIError, match="injected"):
            referral.process(ws, project)
    finally:
        _trigger(ws, "e6", False)
    got = statuses(ws, project)
    assert "e6" not in got and "e7" not in got  # rolled back with its reward; e7 not reached
    assert all(got[k] == EXPECTED[k] for k in got)
    referral.process(ws, project)
    assert statuses(ws, project) == EXPECTED
    assert points(ws, project) == POINTS


def test_the_demo_abuse_case_file(tmp_path: Path) -> None:
    """The planted cases (demo-source/events-referral-cases.jsonl) hit every rule."""
    with Workspace.open(tmp_path / "data") as ws:
        project = ws.ensure_project(ws.settings.default_project)
        source = tmp_path / "src"
        source.mkdir()
        demo_referral.plant_referrals(ws, project.slug, date(2026, 11, 23), 0, source)
        assert demo_referral.import_cases(ws, project.slug, source) == 30
        s = referral_stats.stats(ws, project, date(2026, 11, 1), date(2026, 11, 23))
        assert s.rejected == {
            "self_referral": 1,
            "same_device": 1,
            "same_ip": 1,
            "unknown_code": 1,
            "cap_reached": demo_referral.FARM_INVITEES - demo_referral.CAP,
        }
        assert s.signups == 6 + demo_referral.CAP  # three clean inviters with two invitees each
        assert s.first_orders == 3


def test_the_jobs_through_the_job_runner(ws: Workspace, tmp_path: Path) -> None:
    """points_award, referral and points_expire as `growthloop serve` runs them, twice."""
    from growthloop.jobs import JOBS
    from growthloop.ops import points_rules
    from growthloop.scheduler import run_due

    project, _ = setup(ws, tmp_path)
    points_rules.create_rule(
        ws, project.id, {"name": "buy", "event": "purchase", "points": 1, "per_amount": 1}
    )
    mine = {name: JOBS[name] for name in ("points_award", "referral", "points_expire")}
    for _ in range(2):
        outcomes = run_due(ws, datetime(2026, 11, 3), mine)
        assert outcomes is not None and all(o.ok for o in outcomes), outcomes
    assert statuses(ws, project) == EXPECTED
    purchases = {"e1": 88 + 500, "e3": 50, "e5": 20}
    want = dict(POINTS)
    for person, amount in purchases.items():
        want[person] = want.get(person, 0) + amount
    assert points(ws, project) == want
