"""Outreach (个性化触达): messages to a segment by email, push or SMS, with a holdout group.

This module holds the message objects and their rules: create / change / delete, the project's
frequency cap and webhooks, the suppression list and signed unsubscribe links, and who the
recipients are. Sending lives in `outreach_sending`, measuring in `outreach_results`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.outreach_models import (
    CHANNELS,
    Outreach,
    OutreachSettings,
    Suppression,
)
from growthloop.ops.outreach_templates import MessageTemplate, TemplateProblem
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

FIELDS = (
    "name",
    "channel",
    "subject",
    "body",
    "segment_id",
    "person_ids",
    "holdout_percent",
    "send_at",
    "repeat_days",
    "active",
    "conversion_event",
    "window_days",
    "max_attempts",
    "backoff_seconds",
)
# Where each channel finds a person's address: a person property, or the person id itself
# (a push provider addresses app users by their id).
ADDRESS_PROPERTY = {"email": "email", "sms": "phone", "push": None}
UNSUBSCRIBE_SALT = "growthloop-unsubscribe"


def _check(values: dict[str, Any]) -> None:
    """Refuse values a message cannot be sent with; TargetError names the field."""
    if values["channel"] not in CHANNELS:
        raise TargetError(f"channel: {values['channel']!r} is not one of {', '.join(CHANNELS)}")
    if not 0 <= values["holdout_percent"] < 100:
        raise TargetError(f"holdout_percent: {values['holdout_percent']} is not in [0, 100)")
    if values["repeat_days"] < 0:
        raise TargetError("repeat_days: 0 sends once, n > 0 repeats every n days")
    if values["repeat_days"] and values["send_at"] is None:
        raise TargetError("send_at: a repeating message needs its first moment")
    if values["window_days"] < 1:
        raise TargetError("window_days: the conversion window is at least 1 day")
    if not 1 <= values["max_attempts"] <= 20:
        raise TargetError("max_attempts: between 1 and 20")
    if values["backoff_seconds"] < 0:
        raise TargetError("backoff_seconds: not negative")
    if values["segment_id"] is None and not values["person_ids"]:
        raise TargetError("segment_id: choose a saved segment (or give person_ids)")
    if not str(values["conversion_event"]).strip():
        raise TargetError("conversion_event: name the event that counts as a conversion")
    try:
        MessageTemplate.compile(values["subject"], values["body"])
    except TemplateProblem as exc:
        raise TargetError(str(exc)) from None


DEFAULTS: dict[str, Any] = {
    "subject": "",
    "segment_id": None,
    "person_ids": None,
    "holdout_percent": 10.0,
    "send_at": None,
    "repeat_days": 0,
    "active": True,
    "conversion_event": "purchase",
    "window_days": 7,
    "max_attempts": 4,
    "backoff_seconds": 60,
}


def create_outreach(
    ws: Workspace, project_id: int, who: Account | None, values: dict[str, Any]
) -> Outreach:
    """A new message; TargetError for a bad field or a template that does not compile."""
    merged = {k: values.get(k, DEFAULTS.get(k)) for k in FIELDS}
    for field in ("name", "channel", "body"):
        value = merged[field]
        if not isinstance(value, str) or not value.strip():
            raise TargetError(f"{field}: required")
    _check(merged)
    with ws.sessions.begin() as s:
        item = Outreach(project_id=project_id, **merged)
        s.add(item)
        s.flush()
        audit.record(s, project_id, who, "outreach", item.id, "create", audit.created(item, FIELDS))
        return item


def get_outreach(ws: Workspace, project_id: int, outreach_id: int) -> Outreach:
    """One message of the project; NotFound otherwise."""
    with ws.sessions() as s:
        item = s.get(Outreach, outreach_id)
        if item is None or item.project_id != project_id:
            raise audit.NotFound(f"outreach: no message {outreach_id} in this project")
        return item


def list_outreach(ws: Workspace, project_id: int) -> list[Outreach]:
    """The project's messages, newest first."""
    with ws.sessions() as s:
        query = select(Outreach).where(Outreach.project_id == project_id)
        return list(s.scalars(query.order_by(Outreach.id.desc())))


def update_outreach(
    ws: Workspace,
    project_id: int,
    who: Account | None,
    outreach_id: int,
    version: int,
    updates: dict[str, Any],
) -> Outreach:
    """Change fields; Conflict when someone saved it since `version`."""
    with ws.sessions.begin() as s:
        item = s.get(Outreach, outreach_id)
        if item is None or item.project_id != project_id:
            raise audit.NotFound(f"outreach: no message {outreach_id} in this project")
        _check({f: getattr(item, f) for f in FIELDS} | updates)
        changes = audit.apply_update(item, f"outreach {outreach_id}", version, updates)
        audit.record(s, project_id, who, "outreach", item.id, "update", changes)
        return item


def delete_outreach(ws: Workspace, project_id: int, who: Account | None, outreach_id: int) -> None:
    """Delete a message with its runs and send log."""
    with ws.sessions.begin() as s:
        item = s.get(Outreach, outreach_id)
        if item is None or item.project_id != project_id:
            raise audit.NotFound(f"outreach: no message {outreach_id} in this project")
        audit.record(s, project_id, who, "outreach", item.id, "delete", {})
        s.delete(item)


def in_holdout(outreach_id: int, person_id: str, percent: float) -> bool:
    """The person's fixed side of the split: sha256 of (message, person) as a number in [0, 1)."""
    digest = hashlib.sha256(f"{outreach_id}:{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < percent / 100


# --- project settings: frequency cap and webhooks -------------------------------------------


def settings_of(ws: Workspace, project_id: int) -> OutreachSettings:
    """The project's outreach settings (defaults: no cap, no webhooks)."""
    with ws.sessions() as s:
        found = s.scalar(select(OutreachSettings).where(OutreachSettings.project_id == project_id))
        return found or OutreachSettings(
            project_id=project_id,
            cap_messages=None,
            cap_days=7,
            push_webhook_url="",
            sms_webhook_url="",
            webhook_headers={},
            version=0,
        )


def save_settings(
    ws: Workspace, project_id: int, who: Account | None, values: dict[str, Any]
) -> OutreachSettings:
    """Set the frequency cap (`cap_messages` per `cap_days`, None: no cap) and the webhooks."""
    cap, days = values.get("cap_messages"), values.get("cap_days", 7)
    if cap is not None and cap < 1:
        raise TargetError("cap_messages: at least 1 (or empty for no cap)")
    if days < 1:
        raise TargetError("cap_days: at least 1")
    for key in ("push_webhook_url", "sms_webhook_url"):
        url = values.get(key) or ""
        if url and not url.startswith(("http://", "https://")):
            raise TargetError(f"{key}: {url!r} is not an http(s) URL")
    headers = values.get("webhook_headers") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise TargetError("webhook_headers: an object of header name -> text value")
    with ws.sessions.begin() as s:
        found = s.scalar(select(OutreachSettings).where(OutreachSettings.project_id == project_id))
        if found is None:
            found = OutreachSettings(project_id=project_id)
            s.add(found)
        before = {k: getattr(found, k, None) for k in values}
        for key, value in values.items():
            setattr(found, key, value)
        s.flush()
        changes = {k: [before[k], v] for k, v in values.items() if before[k] != v}
        audit.record(s, project_id, who, "outreach_settings", found.id, "update", changes)
        return found


# --- suppression list and unsubscribe links --------------------------------------------------


def unsubscribe_token(
    secret: str, project_id: int, channel: str, address: str, person_id: str, outreach_id: int
) -> str:
    """A signed token naming who unsubscribes from what; the link carries it."""
    payload = {"p": project_id, "c": channel, "a": address, "i": person_id, "o": outreach_id}
    return str(URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT).dumps(payload))


def read_unsubscribe_token(secret: str, token: str) -> dict[str, Any] | None:
    """The token's payload, or None when it was not signed with this secret."""
    try:
        payload = URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) and {"p", "c", "a"} <= payload.keys() else None


def suppress(
    ws: Workspace,
    project_id: int,
    channel: str,
    address: str,
    *,
    person_id: str = "",
    reason: str = "manual",
    outreach_id: int | None = None,
) -> bool:
    """Put an address on the channel's suppression list; False when it already was."""
    if channel not in CHANNELS:
        raise TargetError(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    address = normalise_address(channel, address)
    if not address:
        raise TargetError("address: empty")
    try:
        with ws.sessions.begin() as s:
            s.add(
                Suppression(
                    project_id=project_id,
                    channel=channel,
                    address=address,
                    person_id=person_id,
                    reason=reason,
                    outreach_id=outreach_id,
                )
            )
    except IntegrityError:  # the unique (project, channel, address) row is there already
        return False
    return True


def unsuppress(ws: Workspace, project_id: int, channel: str, address: str) -> bool:
    """Take an address off the list; False when it was not on it."""
    with ws.sessions.begin() as s:
        found = s.scalar(
            select(Suppression).where(
                Suppression.project_id == project_id,
                Suppression.channel == channel,
                Suppression.address == normalise_address(channel, address),
            )
        )
        if found is None:
            return False
        s.delete(found)
        return True


def suppressions(ws: Workspace, project_id: int) -> list[Suppression]:
    """The project's suppression list, newest first."""
    with ws.sessions() as s:
        query = select(Suppression).where(Suppression.project_id == project_id)
        return list(s.scalars(query.order_by(Suppression.id.desc())))


def normalise_address(channel: str, address: str) -> str:
    """Email addresses compare case-insensitively; others as written, trimmed."""
    address = address.strip()
    return address.lower() if channel == "email" else address


# --- recipients ------------------------------------------------------------------------------


def members(ws: Workspace, item: Outreach, now: datetime | None = None) -> list[str]:
    """The person ids the message goes to now: its saved segment's members, else its list."""
    if item.segment_id is None:
        return sorted(set(item.person_ids or []))
    from growthloop.analytics import saved_segments  # the segments package imports ops

    try:
        found = saved_segments.segment_members(ws, item.project_id, item.segment_id, now)
    except saved_segments.SegmentError as exc:
        raise TargetError(f"segment_id: {exc}") from None
    return sorted(set(found))


def person_properties(
    ws: Workspace, project_slug: str, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """person_id -> properties from the event store; a person it does not know has none."""
    out: dict[str, dict[str, Any]] = {p: {} for p in ids}
    cursor = ws.events(project_slug).con.cursor()
    try:
        rows = cursor.execute(
            "SELECT person_id, properties FROM persons WHERE person_id IN (SELECT unnest(?))",
            [list(ids)],
        ).fetchall()
    finally:
        cursor.close()
    for person_id, properties in rows:
        out[person_id] = json.loads(properties) if properties else {}
    return out


def address_of(channel: str, person_id: str, properties: dict[str, Any]) -> str:
    """The person's address on a channel ('' when the person has none)."""
    key = ADDRESS_PROPERTY[channel]
    value = person_id if key is None else properties.get(key)
    return normalise_address(channel, str(value)) if value else ""


def now_utc() -> datetime:
    """Naive UTC now (the metadata database stores naive UTC)."""
    return utcnow()
