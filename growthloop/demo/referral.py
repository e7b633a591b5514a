"""The demo's referral programme and growth system: settings, attribution, planted cases.

The generated demo already has invitations (`invite_sent` with the sender's code), invitee
signups (`referral_signup` with the inviter's code) and the invitees' orders. Building the demo
sets up the programme with a reward cap of CAP invitees per inviter (so the busiest inviters of
the demo run into it), the points rules and levels, and attributes the referrals, so the
referral page has figures at once; the few signups whose inviter's invitation fell on the
tracking-outage day are rejected as `unknown_code`.

The other abuse cases (a self-referral, an invitee on the inviter's device, one on the inviter's
IP address, an invite farm past the cap) are written to `demo-source/events-referral-cases.jsonl`
as events of new persons (ids `u_rf_...`, property `demo_plant` = "referral") and are NOT
imported by default: the demo's store stays exactly the generated files (tests check that).
`import_cases` (or `growthloop import events ...` then `growthloop referral run`) adds them.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from growthloop.ingest.files import import_files
from growthloop.ops import levels, points_rules, referral
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace

PLANT = "referral"
CAP = 5
FARM_INVITEES = CAP + 2
CASES_FILE = "events-referral-cases.jsonl"
_NAMESPACE = uuidlib.UUID("0b6f8d0e-3c1d-4f7e-9a58-5d2f0c1e7a42")
RULES: tuple[dict[str, Any], ...] = (
    {"name": "signup", "event": "signup", "points": 100, "once": True},
    {"name": "purchase", "event": "purchase", "points": 1, "per_amount": 1, "validity_days": 365},
    {"name": "invite", "event": "invite_sent", "points": 10, "daily_cap": 30, "validity_days": 90},
)
LEVELS = (
    ("Member 普通会员", "points", 0, "Points on every order"),
    ("Silver 白银", "points", 500, "Free shipping on orders over 99 CNY"),
    ("Gold 黄金", "points", 2000, "Free shipping; a birthday coupon"),
    ("Platinum 铂金", "spend", 5000, "Free shipping; priority service; early access to sales"),
)


def _events(end: date, tz: Any, seed: int) -> list[dict[str, Any]]:
    """The planted events, in time order; the same (end, seed) gives the same events."""
    out: list[dict[str, Any]] = []
    days = [end - timedelta(days=14)]
    minutes = [0]

    def emit(event: str, who: str, **props: Any) -> None:
        minutes[0] += 7
        local = datetime.combine(days[0], time(12), tz) + timedelta(minutes=minutes[0])
        n = len(out)
        out.append(
            {
                "uuid": str(uuidlib.uuid5(_NAMESPACE, f"{seed}:{end}:{n}")),
                "event": event,
                "distinct_id": who,
                "timestamp": local.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "properties": {"platform": "iOS", "demo_plant": PLANT, **props},
            }
        )

    def next_day() -> None:
        days[0] += timedelta(days=1)
        minutes[0] = 0

    # Clean invitations: three inviters, two invitees each, the first of each buys.
    for a in range(1, 4):
        inviter = f"u_rf_a{a}"
        emit("signup", inviter, **{"$device_id": f"dev-a{a}", "$ip": f"198.51.100.{a}"})
        emit("invite_sent", inviter, invite_code=f"RFA{a}", **{"$device_id": f"dev-a{a}"})
        for b in range(1, 3):
            invitee = f"u_rf_a{a}_{b}"
            emit(
                "signup",
                invitee,
                invite_code=f"RFA{a}",
                **{"$device_id": f"dev-a{a}-{b}", "$ip": f"198.51.100.{10 * a + b}"},
            )
            if b == 1:
                emit("purchase", invitee, order_id=f"o_rf_{a}", revenue=129.0, currency="CNY")
        next_day()
    # Self-referral: a person signs up with their own code.
    emit("invite_sent", "u_rf_self", invite_code="RFSELF")
    emit("signup", "u_rf_self", invite_code="RFSELF")
    # Same device and same IP address as the inviter.
    emit("invite_sent", "u_rf_dev", invite_code="RFDEV", **{"$device_id": "dev-shared-7"})
    emit("signup", "u_rf_dev_x", invite_code="RFDEV", **{"$device_id": "dev-shared-7"})
    emit("invite_sent", "u_rf_ip", invite_code="RFIP", **{"$ip": "203.0.113.77"})
    emit("signup", "u_rf_ip_x", invite_code="RFIP", **{"$ip": "203.0.113.77"})
    # A code nobody owns.
    emit("signup", "u_rf_lost", invite_code="RFNOBODY")
    next_day()
    # An invite farm: more invitees than the cap.
    emit("invite_sent", "u_rf_farm", invite_code="RFFARM")
    for n in range(1, FARM_INVITEES + 1):
        emit("signup", f"u_rf_farm_{n:02d}", invite_code="RFFARM", **{"$ip": f"192.0.2.{n}"})
    return out


def configure(ws: Workspace, project: Project) -> None:
    """The demo's programme settings, points rules and levels (only where none are set)."""
    prog = referral.programme(ws, project.id)
    if prog.version == 1 and prog.max_rewards_per_inviter != CAP:
        referral.update_programme(ws, project.id, prog.version, {"max_rewards_per_inviter": CAP})
    if not points_rules.list_rules(ws, project.id):
        for rule in RULES:
            points_rules.create_rule(ws, project.id, dict(rule))
    if not levels.list_levels(ws, project.id):
        for name, basis, threshold, benefits in LEVELS:
            levels.create_level(ws, project.id, name, basis, threshold, benefits)


def _project(ws: Workspace, slug: str) -> Project:
    with ws.sessions() as session:
        project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise ValueError(f"project: no project {slug!r}")
    return project


def plant_referrals(ws: Workspace, slug: str, end: date, seed: int, source_dir: Path) -> Path:
    """Write the abuse-case file, configure the programme and attribute the demo's referrals;
    returns the path of the (not imported) abuse-case file."""
    path = source_dir / CASES_FILE
    rows = _events(end, ws.settings.tz, seed)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    project = _project(ws, slug)
    configure(ws, project)
    referral.process(ws, project)
    return path


def import_cases(ws: Workspace, slug: str, source_dir: Path) -> int:
    """Import the planted abuse cases into the demo and attribute them; returns events stored."""
    path = source_dir / CASES_FILE
    summary = import_files(ws, "events", [path], timezone="UTC", project=slug)
    referral.process(ws, _project(ws, slug))
    return summary.rows_stored
