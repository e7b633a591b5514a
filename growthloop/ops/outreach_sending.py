"""Sending outreach: plan a run (who gets it, who is held out, who is skipped and why), then
deliver the queued rows by email or webhook, retrying failures with exponential backoff.

Idempotency: a run is unique per (message, run_key) and its send log per (run, person), both
written before anything goes out. Delivery claims a row (queued -> sending, attempts + 1) in its
own committed transaction before it talks to the server, so a second worker, a rerun or a crash
after the server accepted the message can never send it again. A crash between the claim and the
outcome leaves the row in `sending`: at most once, and visible in the send log.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

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
from growthloop.ops.targets import TargetError
from growthloop.reports.schedule import Smtp, send
from growthloop.store.metadata import Project, utcnow
from growthloop.web.security import load_secret
from growthloop.workspace import Workspace

WEBHOOK_TIMEOUT = 10.0
SMTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Transport:
    """Where messages go: the SMTP server (settings) and the project's webhooks."""

    smtp: Smtp | None
    webhooks: dict[str, str]
    headers: dict[str, str]


def transport_for(ws: Workspace, project_id: int) -> Transport:
    """The transport from settings (smtp_*) and the project's outreach settings."""
    st, conf = ws.settings, settings_of(ws, project_id)
    smtp = None
    if st.smtp_host:
        smtp = Smtp(
            st.smtp_host,
            st.smtp_port,
            st.smtp_sender,
            st.smtp_username,
            st.smtp_password,
            st.smtp_starttls,
        )
    hooks = {"push": conf.push_webhook_url, "sms": conf.sms_webhook_url}
    return Transport(smtp, {k: v for k, v in hooks.items() if v}, dict(conf.webhook_headers or {}))


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


class DeliveryFailure(Exception):
    """A message the server or webhook did not take; `permanent` ones are not retried."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def _email(row: OutreachSend, transport: Transport) -> None:
    if transport.smtp is None:
        raise DeliveryFailure("no SMTP server: set smtp_host in the settings", permanent=True)
    message = EmailMessage()
    message["Subject"] = row.subject
    message["To"] = row.address
    if row.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{row.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(row.body)
    try:
        send(message, transport.smtp, timeout=SMTP_TIMEOUT)
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryFailure(
            f"SMTP {exc.smtp_code} {text}", permanent=exc.smtp_code >= 500
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryFailure(
            f"SMTP recipient refused: {exc.recipients}", permanent=min(codes) >= 500
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailure(f"SMTP {type(exc).__name__}: {exc}") from None


def _webhook(row: OutreachSend, channel: str, item_id: int, transport: Transport) -> None:
    url = transport.webhooks.get(channel)
    if not url:
        raise DeliveryFailure(
            f"no {channel} webhook: set it in the outreach settings", permanent=True
        )
    payload = {
        "channel": channel,
        "to": row.address,
        "person_id": row.person_id,
        "subject": row.subject,
        "body": row.body,
        "outreach_id": item_id,
        "run_id": row.run_id,
        "send_id": row.id,
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={
            **transport.headers,
            "Content-Type": "application/json",
            "Idempotency-Key": f"growthloop-outreach-{row.id}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
        raise DeliveryFailure(f"webhook HTTP {exc.code} {exc.reason}", permanent) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailure(f"webhook {type(exc).__name__}: {reason}") from None


@dataclass
class Delivery:
    """What one delivery pass did: rows sent, retried later, failed for good."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(ws: Workspace, row_id: int, now: datetime) -> bool:
    """queued -> sending in a committed transaction; False when another worker took it."""
    with ws.sessions.begin() as s:
        done = s.execute(
            update(OutreachSend)
            .where(OutreachSend.id == row_id, OutreachSend.status == QUEUED)
            .values(status=SENDING, attempts=OutreachSend.attempts + 1, updated_at=now)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def deliver(
    ws: Workspace,
    project_id: int,
    now: datetime | None = None,
    *,
    run_id: int | None = None,
    transport: Transport | None = None,
) -> Delivery:
    """Send every queued row of the project (or of one run) that is due at `now`."""
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
    out = Delivery()
    for row_id, item in due:
        if not _claim(ws, row_id, now):
            continue
        with ws.sessions() as s:
            row = s.get(OutreachSend, row_id)
            assert row is not None
        try:
            if item.channel == "email":
                _email(row, transport)
            else:
                _webhook(row, item.channel, item.id, transport)
        except DeliveryFailure as exc:
            _record_failure(ws, row, item, exc, now, out)
            continue
        with ws.sessions.begin() as s:
            s.execute(
                update(OutreachSend)
                .where(OutreachSend.id == row_id)
                .values(status=SENT, sent_at=now, reason="", next_attempt_at=None, updated_at=now)
            )
        out.sent += 1
    return out


def _record_failure(
    ws: Workspace,
    row: OutreachSend,
    item: Outreach,
    exc: DeliveryFailure,
    now: datetime,
    out: Delivery,
) -> None:
    attempts = row.attempts
    final = exc.permanent or attempts >= item.max_attempts
    values: dict[str, object] = {"reason": f"attempt {attempts}: {exc.reason}", "updated_at": now}
    if final:
        values |= {"status": FAILED, "next_attempt_at": None}
        out.failed += 1
    else:
        wait = item.backoff_seconds * 2 ** (attempts - 1)
        values |= {"status": QUEUED, "next_attempt_at": now + timedelta(seconds=wait)}
        out.retrying += 1
    out.errors.append(f"{row.person_id}: {exc.reason}")
    with ws.sessions.begin() as s:
        s.execute(update(OutreachSend).where(OutreachSend.id == row.id).values(**values))
