"""Feedback inbox (用户反馈): entries from the API, file imports and tracked events, triaged by
status and assignee, tagged, forwarded to the product team, and counted by tag over time.

Statuses: new -> triaged -> forwarded -> done (any order is allowed: a team may close an entry
straight away). Text and origin are kept as received; tags, status and assignee are edited with
the version the edit started from, and every change is in the audit trail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.feedback_models import FeedbackEntry, FeedbackForward, FeedbackSettings
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

STATUSES = ("new", "triaged", "forwarded", "done")
SOURCES = ("api", "import", "event")
FIELDS = ("source", "text", "rating", "tags", "status", "assignee", "distinct_id", "received_at")
MAX_TEXT = 10000
MAX_TAGS = 20
MAX_TAG = 50
UNTAGGED = "(untagged)"


class FeedbackError(ValueError):
    """A value that cannot be stored; the message names the field."""


def clean_tags(tags: Iterable[Any] | str | None, field: str = "tags") -> list[str]:
    """Tags as a list: a list, or text separated by , ; | (and their full-width forms ，；、);
    trimmed, de-duplicated in order."""
    if tags is None:
        return []
    if isinstance(tags, str):
        for sep in ("，", "；", "、", ";", "|"):
            tags = tags.replace(sep, ",")
        items: list[Any] = tags.split(",")
    else:
        items = list(tags)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise FeedbackError(f"{field}: {item!r} is not text")
        tag = item.strip()
        if len(tag) > MAX_TAG:
            raise FeedbackError(f"{field}: {tag[:20]!r}... is longer than {MAX_TAG} characters")
        if tag and tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise FeedbackError(f"{field}: {len(out)} tags, at most {MAX_TAGS}")
    return out


def check_rating(value: Any, field: str = "rating") -> int | None:
    """A rating 1..5 (whole number), or None."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FeedbackError(f"{field}: {value!r} is not a number 1..5") from None
    if number != int(number) or not 1 <= number <= 5:
        raise FeedbackError(f"{field}: {value!r} is not a whole number 1..5")
    return int(number)


def check_status(value: str, field: str = "status") -> str:
    if value not in STATUSES:
        raise FeedbackError(f"{field}: {value!r} is not one of {', '.join(STATUSES)}")
    return value


def entry_values(values: dict[str, Any], source: str, now: datetime) -> dict[str, Any]:
    """A new entry's checked fields (received_at: naive UTC, default `now`)."""
    text = str(values.get("text") or "").strip()
    if not text:
        raise FeedbackError("text: empty; feedback needs its text")
    if len(text) > MAX_TEXT:
        raise FeedbackError(f"text: {len(text)} characters, at most {MAX_TEXT}")
    assignee = str(values.get("assignee") or "").strip()
    if len(assignee) > 100:
        raise FeedbackError("assignee: longer than 100 characters")
    received = values.get("received_at") or now
    if received.tzinfo is not None:
        received = received.astimezone(UTC).replace(tzinfo=None)
    return {
        "source": source,
        "text": text,
        "rating": check_rating(values.get("rating")),
        "tags": clean_tags(values.get("tags")),
        "status": check_status(values.get("status") or "new"),
        "assignee": assignee,
        "distinct_id": str(values.get("distinct_id") or "")[:200],
        "received_at": received,
        "event_uuid": values.get("event_uuid"),
    }


def add_checked(
    s: Session, project_id: int, who: Account | None, checked: dict[str, Any]
) -> FeedbackEntry:
    """Add an entry whose values `entry_values` made, in the session's transaction."""
    now = utcnow()
    entry = FeedbackEntry(project_id=project_id, **checked, created_at=now, updated_at=now)
    s.add(entry)
    s.flush()
    audit.record(s, project_id, who, "feedback", entry.id, "create", audit.created(entry, FIELDS))
    return entry


def add_entry(
    ws: Workspace, project_id: int, who: Account | None, values: dict[str, Any], source: str = "api"
) -> FeedbackEntry:
    """A new entry; FeedbackError names the bad field."""
    checked = entry_values(values, source, utcnow())
    with ws.sessions.begin() as s:
        return add_checked(s, project_id, who, checked)


def _get(s: Session, project_id: int, entry_id: int) -> FeedbackEntry:
    found = s.get(FeedbackEntry, entry_id)
    if found is None or found.project_id != project_id:
        raise audit.NotFound(f"entry_id: no feedback entry {entry_id} in this project")
    return found


def get_entry(ws: Workspace, project_id: int, entry_id: int) -> FeedbackEntry:
    """One entry of the project; NotFound otherwise."""
    with ws.sessions() as s:
        return _get(s, project_id, entry_id)


def forwards_of(ws: Workspace, entry_id: int) -> list[FeedbackForward]:
    """The entry's forward attempts, oldest first."""
    with ws.sessions() as s:
        query = select(FeedbackForward).where(FeedbackForward.entry_id == entry_id)
        return list(s.scalars(query.order_by(FeedbackForward.id)))


def list_entries(
    ws: Workspace,
    project_id: int,
    status: str | None = None,
    tag: str | None = None,
    assignee: str | None = None,
    limit: int = 500,
) -> list[FeedbackEntry]:
    """The newest entries first, only those with `status`, `tag` and `assignee` when given."""
    query = select(FeedbackEntry).where(FeedbackEntry.project_id == project_id)
    if status:
        query = query.where(FeedbackEntry.status == check_status(status))
    if assignee is not None:
        query = query.where(FeedbackEntry.assignee == assignee)
    query = query.order_by(FeedbackEntry.received_at.desc(), FeedbackEntry.id.desc())
    with ws.sessions() as s:
        # Tags are a JSON list: filtered here, the same on SQLite and PostgreSQL.
        found = [e for e in s.scalars(query) if tag is None or tag in e.tags]
    return found[:limit]


def update_entry(
    ws: Workspace,
    project_id: int,
    who: Account,
    entry_id: int,
    version: int,
    updates: dict[str, Any],
) -> FeedbackEntry:
    """Change the tags, status or assignee of an entry still at `version`; Conflict otherwise."""
    allowed = {"tags", "status", "assignee"}
    unknown = sorted(set(updates) - allowed)
    if unknown:
        raise FeedbackError(f"{unknown[0]}: cannot be changed (only tags, status and assignee)")
    updates = dict(updates)
    if "tags" in updates:
        updates["tags"] = clean_tags(updates["tags"])
    if "status" in updates:
        check_status(updates["status"])
    if "assignee" in updates:
        updates["assignee"] = str(updates["assignee"] or "").strip()[:100]
    try:
        with ws.sessions.begin() as s:
            entry = _get(s, project_id, entry_id)
            changes = audit.apply_update(entry, f"feedback entry {entry_id}", version, updates)
            if changes:
                audit.record(s, project_id, who, "feedback", entry.id, "update", changes)
            return entry
    except StaleDataError:
        raise audit.Conflict(
            f"version: feedback entry {entry_id} was changed by someone else while you saved;"
            " reload it and apply your change again"
        ) from None


@dataclass(frozen=True)
class TagCounts:
    """Entries per tag per period (an entry counts once under each of its tags; entries without
    tags under "(untagged)"), periods as their first day, oldest first."""

    interval: str
    periods: tuple[date, ...]
    counts: dict[str, tuple[int, ...]]
    totals: tuple[int, ...]
    """Entries per period (each entry once, whatever its tags)."""


def period_start(day: date, interval: str) -> date:
    """The day itself, or the Monday of its week."""
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def tag_counts(
    ws: Workspace, project_id: int, tz: ZoneInfo, interval: str, first: date, last: date
) -> TagCounts:
    """Entries received from `first` to `last` (local days, both included) by tag and period."""
    if interval not in ("day", "week"):
        raise FeedbackError(f"interval: {interval!r} is not day or week")
    if last < first:
        raise FeedbackError(f"date_to: {last} is before date_from {first}")
    step = 7 if interval == "week" else 1
    periods: list[date] = []
    at = period_start(first, interval)
    while at <= last:
        periods.append(at)
        at += timedelta(days=step)
    lo = datetime.combine(first, datetime.min.time(), tz).astimezone(UTC).replace(tzinfo=None)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
    query = select(FeedbackEntry.received_at, FeedbackEntry.tags).where(
        FeedbackEntry.project_id == project_id,
        FeedbackEntry.received_at >= lo,
        FeedbackEntry.received_at < hi.astimezone(UTC).replace(tzinfo=None),
    )
    by_tag: dict[str, Counter[date]] = {}
    totals: Counter[date] = Counter()
    with ws.sessions() as s:
        for received, tags in s.execute(query):
            local = received.replace(tzinfo=UTC).astimezone(tz).date()
            period = period_start(local, interval)
            totals[period] += 1
            for tag in tags or [UNTAGGED]:
                by_tag.setdefault(tag, Counter())[period] += 1
    ordered = sorted(by_tag, key=lambda t: (-sum(by_tag[t].values()), t))
    return TagCounts(
        interval,
        tuple(periods),
        {t: tuple(by_tag[t][p] for p in periods) for t in ordered},
        tuple(totals[p] for p in periods),
    )


def webhook_of(ws: Workspace, project_id: int) -> FeedbackSettings | None:
    """The project's feedback settings (its webhook), if set."""
    with ws.sessions() as s:
        return s.get(FeedbackSettings, project_id)


def check_webhook(url: str) -> str:
    """An http(s) URL with a host, or "" to turn forwarding off."""
    url = url.strip()
    if not url:
        return ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FeedbackError(f"webhook_url: {url!r} is not an http:// or https:// address")
    if len(url) > 500:
        raise FeedbackError("webhook_url: longer than 500 characters")
    return url


def set_webhook(ws: Workspace, project_id: int, who: Account, url: str) -> FeedbackSettings:
    """Set (or with "" clear) the webhook that forwarded feedback is POSTed to."""
    url = check_webhook(url)
    with ws.sessions.begin() as s:
        found = s.get(FeedbackSettings, project_id)
        before = found.webhook_url if found else ""
        if found is None:
            now = utcnow()
            found = FeedbackSettings(
                project_id=project_id, webhook_url=url, created_at=now, updated_at=now
            )
            s.add(found)
        else:
            found.webhook_url, found.updated_at = url, utcnow()
        s.flush()
        if before != url:
            changes = {"webhook_url": [before, url]}
            audit.record(s, project_id, who, "feedback_settings", project_id, "update", changes)
        return found
