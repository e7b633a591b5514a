"""Forward a feedback entry to the product team: a JSON POST to the project's webhook.

Every attempt is recorded (URL, HTTP status or the connection error, who, when). A 2xx answer
marks the entry forwarded; anything else leaves its status as it was and raises ForwardError
with the receiver's answer, so the operator can try again. The body carries the entry's id, so a
receiver can drop a repeated delivery.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.feedback import FeedbackError, _get, webhook_of
from growthloop.ops.feedback_models import FeedbackEntry, FeedbackForward
from growthloop.store.metadata import Project, utcnow
from growthloop.workspace import Workspace

TIMEOUT_SECONDS = 10.0


class ForwardError(RuntimeError):
    """The webhook did not accept the entry; the attempt is recorded."""


def payload(entry: FeedbackEntry, project: str, link: str) -> dict[str, Any]:
    """What the product team receives."""
    return {
        "type": "growthloop.feedback",
        "project": project,
        "id": entry.id,
        "text": entry.text,
        "rating": entry.rating,
        "tags": list(entry.tags),
        "status": entry.status,
        "assignee": entry.assignee,
        "distinct_id": entry.distinct_id,
        "source": entry.source,
        "received_at": entry.received_at.isoformat() + "Z",
        "link": link,
    }


def _post(url: str, body: dict[str, Any], timeout: float) -> tuple[int | None, str]:
    """(HTTP status, error text): status None when there was no answer at all."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "growthloop"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        answer = exc.read(500).decode("utf-8", "replace")
        return exc.code, f"HTTP {exc.code} {exc.reason}: {answer}".strip()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"no answer from {url}: {reason}"


def forward(
    ws: Workspace, project_id: int, who: Account, entry_id: int, timeout: float = TIMEOUT_SECONDS
) -> FeedbackForward:
    """POST the entry to the webhook and record the attempt; ForwardError when it failed."""
    settings = webhook_of(ws, project_id)
    if settings is None or not settings.webhook_url:
        raise FeedbackError(
            "webhook_url: no webhook is set for this project; an admin sets it on /feedback"
        )
    with ws.sessions() as s:
        entry = _get(s, project_id, entry_id)
        project = s.get(Project, project_id)
        slug = project.slug if project else ""
    link = f"{ws.settings.base_url.rstrip('/')}/feedback/{entry.id}?project={slug}"
    status, error = _post(settings.webhook_url, payload(entry, slug, link), timeout)
    ok = status is not None and 200 <= status < 300
    with ws.sessions.begin() as s:
        attempt = FeedbackForward(
            entry_id=entry_id, url=settings.webhook_url, ok=ok, status_code=status,
            error=error, user_name=who.name, at=utcnow(),
        )  # fmt: skip
        s.add(attempt)
        if ok:
            stored = _get(s, project_id, entry_id)
            changes: dict[str, Any] = {"forwarded_at": [stored.forwarded_at, attempt.at]}
            if stored.status in ("new", "triaged"):
                changes["status"] = [stored.status, "forwarded"]
                stored.status = "forwarded"
            stored.forwarded_at = attempt.at
            stored.updated_at = attempt.at
            audit.record(s, project_id, who, "feedback", entry_id, "forward", changes)
    if not ok:
        raise ForwardError(
            f"forwarding feedback {entry_id} to {settings.webhook_url} failed: {error}"
        )
    return attempt
