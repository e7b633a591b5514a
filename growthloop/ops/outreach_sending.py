"""Sending outreach: plan a run (who gets it, who is held out, who is skipped and why), then
deliver the queued rows by email or webhook, retrying failures with exponential backoff.

Idempotency: a run is unique per (message, run_key) and its send log per (run, person), both
written before anything goes out. Delivery claims rows (queued -> sending, attempts + 1, a claim
mark of its own) in a committed transaction before it talks to the server, so a second worker, a
rerun or a crash after the server accepted a message can never send it again. A crash between
the claim and the recorded outcomes leaves that batch in `sending`: at most once, and visible.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from growthloop.ops.outreach import (
    ADDRESS_PROPERTY,
    address_of,
    in_holdout,
    members,
    person_properties,
    settings_of,
    unsubscribe_token,
)
from growthloop.ops.outreach_models import (
    FAILED,
    HOLDOUT,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    Outreach,
    OutreachRun,
    OutreachSend,
    Suppression,
)
from growthloop.ops.outreach_templates import MessageTemplate, preview
from growthloop.ops.outreach_transports import (
    DeliveryFailure,
    Mailer,
    Transport,
    post_webhook,
    transport_for,
)
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import Project, utcnow
from growthloop.web.security import load_secret
from growthloop.workspace import Workspace

WEBHOOK_TIMEOUT = 10.0
SMTP_TIMEOUT = 30.0


# --- planning a run --------------------------------------------------------------------------


def run_key_for(item: Outreach, now: datetime) -> str:
    """A one-off message has one run ("once"); a repeating one a run per scheduled moment."""
    if item.repeat_days == 0:
        return "once"
    assert item.send_at is not None
    period = timedelta(days=item.repeat_days)
    moment = item.send_at + ((now - item.send_at) // period) * period
    return moment.isoformat(timespec="minutes")


def _recently_messaged(ws: Workspace, project_id: int, since: datetime) -> Counter[str]:
    """Messages per person (queued, being sent or sent) since `since`, across all outreach."""
    with ws.sessions() as s:
        rows = s.execute(
            select(OutreachSend.person_id, func.count())
            .where(
                OutreachSend.project_id == project_id,
                OutreachSend.status.in_((QUEUED, SENDING, SENT)),
                func.coalesce(OutreachSend.sent_at, OutreachSend.created_at) >= since,
            )
            .group_by(OutreachSend.person_id)
        ).all()
    return Counter({person: int(n) for person, n in rows})


def _suppressed(ws: Workspace, project_id: int, channel: str) -> set[str]:
    with ws.sessions() as s:
        rows = s.scalars(
            select(Suppression.address).where(
                Suppression.project_id == project_id, Suppression.channel == channel
            )
        )
        return set(rows)


def plan_run(ws: Workspace, item: Outreach, run_key: str, now: datetime) -> OutreachRun:
    """The run for `run_key`: made once with every member's send-log row, found again after.

    Refuses (TargetError) when the template fails for any recipient: the problem shows before
    anything is queued, never half-way through a send.
    """
    with ws.sessions() as s:
        found = s.scalar(
            select(OutreachRun).where(
                OutreachRun.outreach_id == item.id, OutreachRun.run_key == run_key
            )
        )
        if found is not None:
            return found
        project = s.get(Project, item.project_id)
        assert project is not None
    people = members(ws, item, now)
    props = person_properties(ws, project.slug, people)
    template = MessageTemplate.compile(item.subject, item.body)
    checked = preview(template, props, samples=0, max_problems=3)
    if checked.problem_count:
        raise TargetError(
            f"template: {checked.problem_count} of {checked.checked} recipients cannot be"
            f" rendered, nothing was sent; first: {checked.problems[0]}"
        )
    secret = load_secret(ws.settings)
    base = ws.settings.base_url.rstrip("/")
    conf = settings_of(ws, item.project_id)
    counts = (
        _recently_messaged(ws, item.project_id, now - timedelta(days=conf.cap_days))
        if conf.cap_messages
        else Counter[str]()
    )
    suppressed = _suppressed(ws, item.project_id, item.channel)
    rows = []
    for person in people:
        address = address_of(item.channel, person, props[person])
        row = OutreachSend(
            project_id=item.project_id,
            person_id=person,
            address=address,
            status=QUEUED,
            next_attempt_at=now,
        )
        if not address:
            row.status, row.reason = (
                SKIPPED,
                f"no address (person property {ADDRESS_PROPERTY[item.channel]})",
            )
        elif address in suppressed:
            row.status, row.reason = SKIPPED, "suppressed (unsubscribed or on the suppression list)"
        elif in_holdout(item.id, person, item.holdout_percent):
            row.status, row.reason = HOLDOUT, "holdout group"
        elif conf.cap_messages and counts[person] >= conf.cap_messages:
            row.status = SKIPPED
            row.reason = f"frequency cap: {counts[person]} messages in {conf.cap_days} days"
        else:
            token = unsubscribe_token(
                secret, item.project_id, item.channel, address, person, item.id
            )
            url = f"{base}/unsubscribe/{token}"
            message = template.render(person, props[person], url)
            row.subject, row.body = message.subject, message.body
            if item.channel == "email" and "unsubscribe_url" not in item.body:
                row.body += f"\n\n--\nUnsubscribe: {url}\n"
            row.unsubscribe_url = url
        if row.status != QUEUED:
            row.next_attempt_at = None
        rows.append(row)
    try:
        with ws.sessions.begin() as s:
            run = OutreachRun(
                outreach_id=item.id, run_key=run_key, started_at=now, members=len(people)
            )
            s.add(run)
            s.flush()
            for row in rows:
                row.run_id = run.id
            s.add_all(rows)
            return run
    except IntegrityError:  # planned by someone else at the same moment: theirs stands
        with ws.sessions() as s:
            again = s.scalar(
                select(OutreachRun).where(
                    OutreachRun.outreach_id == item.id, OutreachRun.run_key == run_key
                )
            )
            assert again is not None
            return again


# --- delivering ------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one delivery pass did: rows sent, retried later, failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


BATCH = 50


def claim(ws: Workspace, row_ids: list[int], now: datetime) -> list[OutreachSend]:
    """queued -> sending (attempts + 1) in one committed transaction; the rows this call took.

    A random claim mark tells this worker's rows from those another worker took at the same time.
    """
    mark = secrets.token_hex(8)
    with ws.sessions.begin() as s:
        s.execute(
            update(OutreachSend)
            .where(OutreachSend.id.in_(row_ids), OutreachSend.status == QUEUED)
            .values(status=SENDING, claim=mark, attempts=OutreachSend.attempts + 1, updated_at=now)
        )
    with ws.sessions() as s:
        query = select(OutreachSend).where(OutreachSend.claim == mark)
        return list(s.scalars(query.order_by(OutreachSend.id)))


def deliver(
    ws: Workspace,
    project_id: int,
    now: datetime | None = None,
    *,
    run_id: int | None = None,
    transport: Transport | None = None,
) -> Delivery:
    """Send every queued row of the project (or of one run) that is due at `now`, BATCH rows
    per claim: a crash half-way leaves at most one batch in `sending`, never sent twice."""
    now = now or utcnow()
    transport = transport or transport_for(ws, project_id)
    query = (
        select(OutreachSend.id, Outreach)
        .join(OutreachRun, OutreachRun.id == OutreachSend.run_id)
        .join(Outreach, Outreach.id == OutreachRun.outreach_id)
        .where(
            OutreachSend.project_id == project_id,
            OutreachSend.status == QUEUED,
            or_(OutreachSend.next_attempt_at.is_(None), OutreachSend.next_attempt_at <= now),
        )
        .order_by(OutreachSend.id)
    )
    if run_id is not None:
        query = query.where(OutreachSend.run_id == run_id)
    with ws.sessions() as s:
        due = [(row_id, item) for row_id, item in s.execute(query).all()]
    messages = {row_id: item for row_id, item in due}
    out = Delivery()
    with Mailer(transport.smtp) as mailer:
        for start in range(0, len(due), BATCH):
            outcomes: list[tuple[int, dict[str, object]]] = []
            for row in claim(ws, [row_id for row_id, _ in due[start : start + BATCH]], now):
                item = messages[row.id]
                try:
                    if item.channel == "email":
                        mailer.send(row)
                    else:
                        post_webhook(row, item.channel, item.id, transport)
                except DeliveryFailure as exc:
                    outcomes.append((row.id, _failure(row, item, exc, now, out)))
                    continue
                sent = {"status": SENT, "sent_at": now, "reason": "", "next_attempt_at": None}
                outcomes.append((row.id, sent))
                out.sent += 1
            with ws.sessions.begin() as s:
                for row_id, values in outcomes:
                    values["updated_at"] = now
                    s.execute(
                        update(OutreachSend).where(OutreachSend.id == row_id).values(**values)
                    )
    return out


def _failure(
    row: OutreachSend, item: Outreach, exc: DeliveryFailure, now: datetime, out: Delivery
) -> dict[str, object]:
    """The row's new values after a failed attempt: queued again after a backoff, or failed."""
    attempts = row.attempts
    values: dict[str, object] = {"reason": f"attempt {attempts}: {exc.reason}"}
    out.errors.append(f"{row.person_id}: {exc.reason}")
    if exc.permanent or attempts >= item.max_attempts:
        out.failed += 1
        return values | {"status": FAILED, "next_attempt_at": None}
    out.retrying += 1
    wait = item.backoff_seconds * 2 ** (attempts - 1)
    return values | {"status": QUEUED, "next_attempt_at": now + timedelta(seconds=wait)}
