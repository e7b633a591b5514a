"""Feedback sent as a tracked event: a job copies new `$feedback` / `feedback` events into the
inbox.

An app sends feedback through any SDK the collector speaks, e.g. PostHog's
`capture(distinct_id, "$feedback", {"text": "...", "tags": ["checkout"], "rating": 2})`.
Properties: `text` (required; `$feedback_text`, `message` or `content` are read too), `tags` (a
list or comma-separated text), `rating` (1..5; anything else is dropped, the entry kept). The
entry keeps the event's uuid, unique per project, so a second run — or a run after a crash half
way — adds nothing twice. Events without text are counted as skipped and left alone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
from sqlalchemy import select

from growthloop.ops.feedback import FeedbackError, add_checked, check_rating, entry_values
from growthloop.ops.feedback_models import FeedbackEntry
from growthloop.workspace import Workspace

FEEDBACK_EVENTS = ("$feedback", "feedback")
TEXT_KEYS = ("text", "$feedback_text", "message", "content")
log = logging.getLogger("growthloop.jobs")

_EVENTS_SQL = """
SELECT uuid::VARCHAR, distinct_id, timestamp, properties FROM events
WHERE event IN ('$feedback', 'feedback') AND timestamp <= ?
ORDER BY timestamp, uuid
"""


@dataclass(frozen=True)
class Copied:
    """What one run did for one project."""

    project: str
    added: int
    skipped: int


def _values(distinct_id: str, at: datetime, properties: Any, uuid: str) -> dict[str, Any] | None:
    props = json.loads(properties) if isinstance(properties, str) else (properties or {})
    if not isinstance(props, dict):
        return None
    text = next((str(props[k]) for k in TEXT_KEYS if props.get(k)), "")
    if not text.strip():
        return None
    try:
        rating = check_rating(props.get("rating"))
    except FeedbackError:
        rating = None  # a bad rating does not lose the text
    values = {"text": text, "tags": props.get("tags"), "rating": rating,
              "distinct_id": distinct_id, "received_at": at, "event_uuid": uuid}  # fmt: skip
    try:
        return entry_values(values, "event", at)
    except FeedbackError:
        values["tags"] = None  # tags of the wrong shape: keep the text
        try:
            return entry_values(values, "event", at)
        except FeedbackError:
            return None


def copy_project(
    ws: Workspace, project_id: int, slug: str, con: duckdb.DuckDBPyConnection, now_utc: datetime
) -> Copied:
    """Copy the project's feedback events (read through `con`) up to `now_utc` that are not in
    the inbox yet."""
    rows = con.execute(_EVENTS_SQL, [now_utc]).fetchall()
    if not rows:
        return Copied(slug, 0, 0)
    with ws.sessions.begin() as s:
        have = set(
            s.scalars(
                select(FeedbackEntry.event_uuid).where(
                    FeedbackEntry.project_id == project_id, FeedbackEntry.event_uuid.is_not(None)
                )
            )
        )
        added = skipped = 0
        for uuid, distinct_id, at, properties in rows:
            if uuid in have:
                continue
            values = _values(str(distinct_id), at, properties, uuid)
            if values is None:
                skipped += 1
                continue
            add_checked(s, project_id, None, values)
            have.add(uuid)
            added += 1
    return Copied(slug, added, skipped)


def copy_feedback_events(ws: Workspace, now_utc: datetime) -> list[Copied]:
    """The periodic job: every project's new feedback events into its inbox."""
    out = []
    for project in ws.projects():
        con = ws.events(project.slug).con
        copied = copy_project(ws, project.id, project.slug, con, now_utc)
        if copied.added or copied.skipped:
            log.info("feedback from events: %s", copied)
            out.append(copied)
    return out
