"""Referral results over a window of local days: K-factor, the invite funnel, top inviters.

Definitions (docs/points-and-referral.md has worked numbers):
- invites sent `I`: events named the programme's invite_event in the window;
- users `N`: registered persons active in the window: persons with an event in the window who
  are identified or have a signup event (one of signup_events) before the window's end;
- referral signups `S`: accepted referrals whose signup falls in the window (rejected ones, for
  abuse, do not count);
- first orders `F`: of those S, the invitees who have placed a first order (so far);
- i = I / N (invites per user), c = S / I (invite -> signup conversion), K = i x c = S / N.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from growthloop.ops.points_award import ProjectLike, utc_start
from growthloop.ops.points_models import PointsEntry
from growthloop.ops.referral import programme
from growthloop.ops.referral_models import Referral
from growthloop.workspace import Workspace


@dataclass(frozen=True)
class Inviter:
    person_id: str
    invites: int
    signups: int
    rejected: int
    first_orders: int
    points: int


@dataclass(frozen=True)
class ReferralStats:
    first: date
    last: date
    invites: int
    inviters: int
    users: int
    signups: int
    first_orders: int
    rejected: dict[str, int]
    invites_per_user: float | None
    conversion: float | None
    k_factor: float | None
    top: list[Inviter] = field(default_factory=list)

    @property
    def funnel(self) -> list[tuple[str, int]]:
        return [
            ("invites", self.invites),
            ("signups", self.signups),
            ("first_orders", self.first_orders),
        ]


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def stats(
    ws: Workspace, project: ProjectLike, first: date, last: date, top: int = 10
) -> ReferralStats:
    """The programme's results for the local days first..last."""
    if last < first:
        raise ValueError(f"window: {first} .. {last} ends before it starts")
    prog = programme(ws, project.id)
    tz = ws.settings.tz
    start, end = utc_start(first, tz), utc_start(last + timedelta(days=1), tz)
    signup_events = [e.strip() for e in prog.signup_events.split(",") if e.strip()]
    cursor = ws.events(project.slug).con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        invites_by: dict[str, int] = dict(
            cursor.execute(
                "SELECT person_id, count(*) FROM events WHERE event = ?"
                " AND timestamp >= ? AND timestamp < ? GROUP BY 1",
                [prog.invite_event, start, end],
            ).fetchall()
        )
        row = cursor.execute(
            """SELECT count(DISTINCT e.person_id) FROM events e
               WHERE e.timestamp >= $start AND e.timestamp < $end
                 AND (e.person_id IN (SELECT person_id FROM persons WHERE is_identified)
                      OR e.person_id IN (SELECT person_id FROM events
                                         WHERE event IN (SELECT unnest($signups))
                                           AND timestamp < $end))""",
            {"start": start, "end": end, "signups": signup_events},
        ).fetchone()
    finally:
        cursor.close()
    users = int(row[0]) if row else 0
    with ws.sessions() as session:
        refs = list(
            session.scalars(
                select(Referral).where(
                    Referral.project_id == project.id,
                    Referral.signed_up_at >= start,
                    Referral.signed_up_at < end,
                )
            )
        )
        earned: dict[str, int] = {
            p: int(v or 0)
            for p, v in session.execute(
                select(PointsEntry.person_id, func.sum(PointsEntry.points))
                .where(
                    PointsEntry.project_id == project.id,
                    PointsEntry.key.like("referral:%:inviter"),
                    PointsEntry.occurred_at >= start,
                    PointsEntry.occurred_at < end,
                )
                .group_by(PointsEntry.person_id)
            ).all()
        }
    accepted = [r for r in refs if r.status == "accepted"]
    rejected: dict[str, int] = {}
    for r in refs:
        if r.status != "accepted":
            rejected[r.reason] = rejected.get(r.reason, 0) + 1
    invites = sum(invites_by.values())
    ordered = [r for r in accepted if r.first_order_at is not None]
    return ReferralStats(
        first=first,
        last=last,
        invites=invites,
        inviters=len(invites_by),
        users=users,
        signups=len(accepted),
        first_orders=len(ordered),
        rejected=rejected,
        invites_per_user=_ratio(invites, users),
        conversion=_ratio(len(accepted), invites),
        k_factor=_ratio(len(accepted), users),
        top=_top(refs, invites_by, earned, top),
    )


def _top(
    refs: list[Referral], invites: dict[str, int], earned: dict[str, int], limit: int
) -> list[Inviter]:
    rows: dict[str, dict[str, Any]] = {}
    for r in refs:
        if r.inviter_id is None:
            continue
        row = rows.setdefault(r.inviter_id, {"signups": 0, "rejected": 0, "orders": 0})
        if r.status == "accepted":
            row["signups"] += 1
            row["orders"] += r.first_order_at is not None
        else:
            row["rejected"] += 1
    out = [
        Inviter(p, invites.get(p, 0), v["signups"], v["rejected"], v["orders"], earned.get(p, 0))
        for p, v in rows.items()
    ]
    out.sort(key=lambda i: (-i.signups, -i.first_orders, -i.invites, i.person_id))
    return out[:limit]
