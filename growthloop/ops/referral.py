"""Referral programme (老带新 / 邀请返利): invite codes, attribution, anti-abuse, rewards.

An invitee is attributed to an inviter by the invite code on their signup event (the programme's
`code_property`, or a `code` / `invite_code` parameter of the `$current_url` or `$referrer` link).
Only a person's first signup with a code counts. Each attribution is accepted or rejected, with
the reason recorded, by these rules in order: `unknown_code`, `self_referral` (the code is the
invitee's own), `same_device` (the signup's `$device_id` was seen on the inviter's events),
`same_ip` (likewise `$ip`), `cap_reached` (the inviter already has `max_rewards_per_inviter`
accepted invitees). An accepted referral rewards both sides through the points ledger, once on
signup and once on the invitee's first order, each with a key derived from the invitee, inside
the same transaction that records the referral; a rerun re-applies the rewards idempotently.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from growthloop.ops.points_award import OVERLAP, ProjectLike, job_mark, read_events, set_job_mark
from growthloop.ops.points_ledger import PointsError, locked
from growthloop.ops.referral_models import Referral, ReferralCode, ReferralProgramme
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

SETTINGS = (
    "invite_event",
    "signup_events",
    "order_event",
    "code_property",
    "link_template",
    "inviter_signup_points",
    "invitee_signup_points",
    "inviter_order_points",
    "invitee_order_points",
    "max_rewards_per_inviter",
    "validity_days",
)
REASONS = ("unknown_code", "self_referral", "same_device", "same_ip", "cap_reached")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass
class ReferralSummary:
    """What one referral run did."""

    codes_registered: int = 0
    signups: int = 0
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    first_orders: int = 0
    rewarded: set[str] = field(default_factory=set)
    last_inserted_at: datetime | None = None


def programme(ws: Workspace, project_id: int) -> ReferralProgramme:
    """The project's referral settings (created with the defaults on first use)."""
    with ws.sessions.begin() as session:
        found = session.scalar(
            select(ReferralProgramme).where(ReferralProgramme.project_id == project_id)
        )
        if found is None:
            found = ReferralProgramme(project_id=project_id)
            session.add(found)
            session.flush()
        return found


def update_programme(
    ws: Workspace, project_id: int, version: int, changes: dict[str, Any]
) -> ReferralProgramme:
    programme(ws, project_id)
    with ws.sessions.begin() as session:
        found = session.scalar(
            select(ReferralProgramme).where(ReferralProgramme.project_id == project_id)
        )
        assert found is not None
        if found.version != version:
            raise PointsError(f"version: the programme changed since version {version}; reload")
        for name, value in changes.items():
            if name not in SETTINGS:
                raise PointsError(f"{name}: not a programme setting ({', '.join(SETTINGS)})")
            if name.endswith(("_points", "per_inviter")) and (
                not isinstance(value, int) or value < 0
            ):
                raise PointsError(f"{name}: a whole number 0 or more, got {value!r}")
            if name == "link_template" and "{code}" not in str(value):
                raise PointsError("link_template: must contain {code}")
            setattr(found, name, value)
        found.updated_at = utcnow()
        session.flush()
        return found


def code_for(ws: Workspace, project_id: int, person_id: str) -> ReferralCode:
    """The person's invite code, generated on first ask."""
    if not person_id.strip():
        raise PointsError("person_id: empty")
    with ws.sessions.begin() as session:
        found = session.scalar(
            select(ReferralCode)
            .where(ReferralCode.project_id == project_id, ReferralCode.person_id == person_id)
            .order_by(ReferralCode.id)
        )
        if found is None:
            code = "R" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
            found = ReferralCode(
                project_id=project_id, code=code, person_id=person_id, source="generated"
            )
            session.add(found)
            session.flush()
        return found


def invite_link(prog: ReferralProgramme, code: str) -> str:
    return prog.link_template.replace("{code}", code)


def _props(raw: Any) -> dict[str, Any]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {}


def code_of(props: dict[str, Any], code_property: str) -> str | None:
    """The invite code an event carries: the property, else a link parameter."""
    value = props.get(code_property)
    if isinstance(value, str) and value.strip():
        return value.strip()
    for link_key in ("$current_url", "$referrer"):
        link = props.get(link_key)
        if isinstance(link, str) and "?" in link:
            query = parse_qs(urlsplit(link).query)
            for name in (code_property, "invite_code", "code"):
                if query.get(name):
                    return query[name][0].strip() or None
    return None


def _register_codes(ws: Workspace, project_id: int, rows: list[tuple[Any, ...]], prop: str) -> int:
    """Codes seen on invite events belong to the sender, unless already someone's."""
    seen: dict[str, str] = {}
    for _, _, person, _, _, props in sorted(rows, key=lambda r: (r[3], str(r[0]))):
        code = code_of(_props(props), prop)
        if code and code not in seen:
            seen[code] = person
    if not seen:
        return 0
    added = 0
    with ws.sessions.begin() as session:
        known = set(
            session.scalars(select(ReferralCode.code).where(ReferralCode.project_id == project_id))
        )
        for code, person in seen.items():
            if code not in known and len(code) <= 64:
                session.add(
                    ReferralCode(project_id=project_id, code=code, person_id=person, source="event")
                )
                added += 1
    return added


def _fingerprints(ws: Workspace, slug: str, persons: list[str]) -> dict[str, set[str]]:
    """person -> {'d:<device id>', 'i:<ip>'} over all their events."""
    out: dict[str, set[str]] = {}
    if not persons:
        return out
    cursor = ws.events(slug).con.cursor()
    try:
        rows = cursor.execute(
            """SELECT person_id, json_extract_string(properties, '$."$device_id"'),
                      json_extract_string(properties, '$."$ip"')
               FROM events WHERE person_id IN (SELECT unnest(?))""",
            [persons],
        ).fetchall()
    finally:
        cursor.close()
    for person, device, ip in rows:
        marks = out.setdefault(person, set())
        if device:
            marks.add("d:" + device)
        if ip:
            marks.add("i:" + ip)
    return out


def _reward(
    book: Any,
    prog: ReferralProgramme,
    ref: Referral,
    stage: str,
    at: datetime,
    summary: ReferralSummary,
) -> None:
    """Both sides' points for a stage (signup or order); keys make a second call a no-op."""
    expires = at + timedelta(days=prog.validity_days) if prog.validity_days else None
    assert ref.inviter_id is not None
    for side, person, points in (
        ("inviter", ref.inviter_id, getattr(prog, f"inviter_{stage}_points")),
        ("invitee", ref.invitee_id, getattr(prog, f"invitee_{stage}_points")),
    ):
        key = f"referral:{stage}:{ref.invitee_id}:{side}"
        if points > 0 and book.entry(key) is None:
            book.credit(
                person,
                "EARN",
                points,
                key,
                at,
                expires_at=expires,
                reason=f"referral {stage}: {ref.invitee_id} invited by {ref.inviter_id}",
            )
            summary.rewarded.add(person)


def _decide(
    ws: Workspace,
    project: ProjectLike,
    prog: ReferralProgramme,
    row: tuple[Any, ...],
    code: str,
    owner: str | None,
    marks: dict[str, set[str]],
    summary: ReferralSummary,
) -> None:
    uuid, _, invitee, ts, _, props = row
    persons = [invitee] + ([owner] if owner else [])
    with locked(ws, project.id, persons) as book:
        session = book.session
        ref = session.scalar(
            select(Referral).where(
                Referral.project_id == project.id, Referral.invitee_id == invitee
            )
        )
        if ref is None:
            p = _props(props)
            mine = {"d:" + str(p["$device_id"])} if p.get("$device_id") else set()
            mine |= {"i:" + str(p["$ip"])} if p.get("$ip") else set()
            theirs = marks.get(owner or "", set())
            reason = ""
            if owner is None:
                reason = "unknown_code"
            elif owner == invitee:
                reason = "self_referral"
            elif any(m.startswith("d:") for m in mine & theirs):
                reason = "same_device"
            elif any(m.startswith("i:") for m in mine & theirs):
                reason = "same_ip"
            else:
                accepted = session.scalar(
                    select(func.count()).where(
                        Referral.project_id == project.id,
                        Referral.inviter_id == owner,
                        Referral.status == "accepted",
                    )
                )
                if int(accepted or 0) >= prog.max_rewards_per_inviter:
                    reason = "cap_reached"
            ref = Referral(
                project_id=project.id,
                invitee_id=invitee,
                inviter_id=owner,
                code=code[:64],
                signup_uuid=str(uuid),
                signed_up_at=ts,
                status="rejected" if reason else "accepted",
                reason=reason,
            )
            session.add(ref)
            session.flush()
            summary.signups += 1
            if reason:
                summary.rejected[reason] = summary.rejected.get(reason, 0) + 1
            else:
                summary.accepted += 1
        if ref.status == "accepted":
            _reward(book, prog, ref, "signup", ref.signed_up_at, summary)


def _first_orders(
    ws: Workspace, project: ProjectLike, prog: ReferralProgramme, summary: ReferralSummary
) -> None:
    with ws.sessions() as session:
        open_refs = list(
            session.scalars(
                select(Referral).where(
                    Referral.project_id == project.id,
                    Referral.inviter_id.is_not(None),
                    Referral.first_order_uuid.is_(None),
                )
            )
        )
    if not open_refs:
        return
    by_invitee = {r.invitee_id: r for r in open_refs}
    cursor = ws.events(project.slug).con.cursor()
    try:
        rows = cursor.execute(
            """SELECT person_id, arg_min(CAST(uuid AS VARCHAR), (timestamp, uuid)),
                      min(timestamp), arg_min(revenue, (timestamp, uuid))
               FROM events e JOIN (SELECT unnest(?) AS p, unnest(?) AS since) r
                 ON e.person_id = r.p AND e.timestamp >= r.since
               WHERE event = ? GROUP BY 1""",
            [
                list(by_invitee),
                [r.signed_up_at for r in by_invitee.values()],
                prog.order_event,
            ],
        ).fetchall()
    finally:
        cursor.close()
    for person, order_uuid, at, revenue in rows:
        ref = by_invitee[person]
        assert ref.inviter_id is not None
        with locked(ws, project.id, [person, ref.inviter_id]) as book:
            row = book.session.get(Referral, ref.id)
            assert row is not None
            if row.first_order_uuid is None:
                row.first_order_uuid, row.first_order_at = order_uuid, at
                row.first_order_amount = Decimal(str(revenue)) if revenue is not None else None
                summary.first_orders += 1
            if row.status == "accepted":
                _reward(book, prog, row, "order", at, summary)


def process(
    ws: Workspace,
    project: ProjectLike,
    *,
    first: date | None = None,
    last: date | None = None,
    inserted_after: datetime | None = None,
) -> ReferralSummary:
    """Register codes from invite events, attribute signups, reward signups and first orders."""
    prog = programme(ws, project.id)
    summary = ReferralSummary()
    signup_events = [e.strip() for e in prog.signup_events.split(",") if e.strip()]
    invites, newest = read_events(
        ws, project.slug, [prog.invite_event], first=first, last=last, inserted_after=inserted_after
    )
    summary.codes_registered = _register_codes(ws, project.id, invites, prog.code_property)
    rows, newest_signup = read_events(
        ws, project.slug, signup_events, first=first, last=last, inserted_after=inserted_after
    )
    marked = [(r, code_of(_props(r[5]), prog.code_property)) for r in rows]
    coded = sorted(((r, c) for r, c in marked if c), key=lambda x: (x[0][3], str(x[0][0])))
    with ws.sessions() as session:
        owners = {
            c.code: c.person_id
            for c in session.scalars(
                select(ReferralCode).where(
                    ReferralCode.project_id == project.id,
                    ReferralCode.code.in_({c for _, c in coded}),
                )
            )
        }
    needed = sorted({owners[c] for _, c in coded if c in owners})
    marks = _fingerprints(ws, project.slug, needed)
    for row, code in coded:
        assert code is not None
        _decide(ws, project, prog, row, code, owners.get(code), marks, summary)
    _first_orders(ws, project, prog, summary)
    stamps = [t for t in (newest, newest_signup) if t is not None]
    summary.last_inserted_at = max(stamps) if stamps else None
    return summary


def process_new(ws: Workspace, project: ProjectLike) -> ReferralSummary:
    mark = job_mark(ws, project.id, "referral")
    summary = process(ws, project, inserted_after=mark - OVERLAP if mark else None)
    if summary.last_inserted_at is not None:
        set_job_mark(ws, project.id, "referral", summary.last_inserted_at)
    return summary


def referral_job(ws: Workspace, now_utc: datetime) -> dict[str, int]:
    """Job: attribute and reward the referrals of newly loaded events in every project."""
    return {p.slug: process_new(ws, p).signups for p in ws.projects()}
