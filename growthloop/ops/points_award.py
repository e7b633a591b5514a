"""Apply the points rules to events from the event store: over a date range, or as a job over
the events loaded since its last run.

The job keeps a high-water mark of events.inserted_at (when the loader stored a row) and reads
back OVERLAP before it, because a load transaction that started earlier can commit later with
an older inserted_at; the idempotency keys make the re-read harmless. A range run reads by event
time in the project time zone and can be repeated any number of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from growthloop.ops import levels
from growthloop.ops.points_ledger import expire, locked
from growthloop.ops.points_models import JobMark, PointsAccount
from growthloop.ops.points_rules import Candidate, candidates, list_rules
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

OVERLAP = timedelta(hours=1)


class ProjectLike(Protocol):
    """A project as the ops functions need it (a metadata Project or a web ProjectRef)."""

    @property
    def id(self) -> int: ...

    @property
    def slug(self) -> str: ...


PERSONS_PER_TRANSACTION = 200


@dataclass
class AwardSummary:
    """What one award run did."""

    events: int = 0
    entries: int = 0
    points: int = 0
    capped: int = 0
    level_changes: int = 0
    level_events: int = 0
    last_inserted_at: datetime | None = None
    per_rule: dict[int, int] = field(default_factory=dict)


def utc_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def read_events(
    ws: Workspace,
    slug: str,
    names: list[str],
    *,
    first: date | None = None,
    last: date | None = None,
    inserted_after: datetime | None = None,
) -> tuple[list[tuple[Any, ...]], datetime | None]:
    """(uuid, event, person_id, timestamp, revenue, properties) rows of the named events, and
    the newest inserted_at among them."""
    where: list[str] = ["event IN (SELECT unnest(?))"]
    params: list[Any] = [names]
    tz = ws.settings.tz
    if first is not None:
        where.append("timestamp >= ?")
        params.append(utc_start(first, tz))
    if last is not None:
        where.append("timestamp < ?")
        params.append(utc_start(last + timedelta(days=1), tz))
    if inserted_after is not None:
        where.append("inserted_at > ?")
        params.append(inserted_after)
    cursor = ws.events(slug).con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        rows = cursor.execute(
            "SELECT CAST(uuid AS VARCHAR), event, person_id, timestamp, revenue, properties,"
            f" inserted_at FROM events WHERE {' AND '.join(where)}",
            params,
        ).fetchall()
    finally:
        cursor.close()
    newest = max((r[6] for r in rows), default=None)
    return [r[:6] for r in rows], newest


def apply(ws: Workspace, project_id: int, cands: list[Candidate], summary: AwardSummary) -> None:
    """Write the candidates' EARN entries, a batch of persons per transaction; caps apply in
    candidate order, keys already written are skipped."""
    by_person: dict[str, list[Candidate]] = {}
    for c in cands:
        by_person.setdefault(c.person_id, []).append(c)
    persons = sorted(by_person)
    for i in range(0, len(persons), PERSONS_PER_TRANSACTION):
        part = persons[i : i + PERSONS_PER_TRANSACTION]
        batch = [c for p in part for c in by_person[p]]
        with locked(ws, project_id, part) as book:
            done = book.existing_keys(c.key for c in batch)
            used: dict[tuple[int, str, date], int] = {}
            for c in batch:
                if c.key in done:
                    continue
                grant = c.points
                if c.daily_cap is not None:
                    slot = (c.rule_id, c.person_id, _local(c.at, ws.settings.tz))
                    if slot not in used:
                        used[slot] = book.cap_used(c.rule_id, c.person_id, slot[2])
                    grant = min(grant, c.daily_cap - used[slot])
                    if grant < c.points:
                        summary.capped += 1
                    if grant <= 0:
                        continue
                    used[slot] += grant
                book.credit(
                    c.person_id,
                    "EARN",
                    grant,
                    c.key,
                    c.at,
                    expires_at=c.expires_at,
                    rule_id=c.rule_id,
                    event_uuid=c.event_uuid,
                )
                done.add(c.key)
                summary.entries += 1
                summary.points += grant
                summary.per_rule[c.rule_id] = summary.per_rule.get(c.rule_id, 0) + grant


def _local(at: datetime, tz: ZoneInfo) -> date:
    return at.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).date()


def award(
    ws: Workspace,
    project: ProjectLike,
    *,
    first: date | None = None,
    last: date | None = None,
    inserted_after: datetime | None = None,
) -> AwardSummary:
    """Apply the active rules to the project's events in [first, last] (local days) or loaded
    after `inserted_after`; then refresh the touched persons' levels and write level events."""
    summary = AwardSummary()
    started = utcnow()
    latest: dict[str, datetime] = {}
    rules = list_rules(ws, project.id, active_only=True)
    if rules:
        names = sorted({r.event for r in rules})
        rows, newest = read_events(
            ws, project.slug, names, first=first, last=last, inserted_after=inserted_after
        )
        summary.events, summary.last_inserted_at = len(rows), newest
        cands = candidates(rules, rows)
        apply(ws, project.id, cands, summary)
        for c in cands:
            latest[c.person_id] = max(latest.get(c.person_id, c.at), c.at)
    # Persons whose points changed outside the rules (referral rewards, adjustments) too.
    persons = set(latest) | changed_since(ws, project.id, job_mark(ws, project.id, "levels"))
    summary.level_changes = levels.refresh(ws, project, persons, latest)
    set_job_mark(ws, project.id, "levels", started)
    summary.level_events = levels.write_events(ws, project)
    return summary


def changed_since(ws: Workspace, project_id: int, since: datetime | None) -> set[str]:
    """Persons whose account changed at or after `since` (all persons with an account if None)."""
    with ws.sessions() as session:
        query = select(PointsAccount.person_id).where(PointsAccount.project_id == project_id)
        if since is not None:
            query = query.where(PointsAccount.updated_at >= since)
        return set(session.scalars(query))


def job_mark(ws: Workspace, project_id: int, name: str) -> datetime | None:
    with ws.sessions() as session:
        return session.scalar(
            select(JobMark.mark).where(JobMark.project_id == project_id, JobMark.name == name)
        )


def set_job_mark(ws: Workspace, project_id: int, name: str, mark: datetime) -> None:
    with ws.sessions.begin() as session:
        row = session.scalar(
            select(JobMark).where(JobMark.project_id == project_id, JobMark.name == name)
        )
        if row is None:
            session.add(JobMark(project_id=project_id, name=name, mark=mark))
        elif mark > row.mark:
            row.mark, row.updated_at = mark, utcnow()


def award_new(ws: Workspace, project: ProjectLike) -> AwardSummary:
    """Award the events loaded since the last run (all events on the first run)."""
    mark = job_mark(ws, project.id, "award")
    summary = award(ws, project, inserted_after=mark - OVERLAP if mark else None)
    if summary.last_inserted_at is not None:
        set_job_mark(ws, project.id, "award", summary.last_inserted_at)
    return summary


def award_job(ws: Workspace, now_utc: datetime) -> dict[str, int]:
    """Job: award newly loaded events in every project; returns entries written per project."""
    return {p.slug: award_new(ws, p).entries for p in ws.projects()}


def expire_job(ws: Workspace, now_utc: datetime) -> dict[str, int]:
    """Job: expire the points past their validity in every project (EXPIRE entries written)."""
    return {p.slug: expire(ws, p.id, now_utc) for p in ws.projects()}
