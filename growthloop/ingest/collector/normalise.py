"""What every wire format turns into: one event dict in the shape the importer reads.

Each SDK module (posthog_wire, segment_wire, sensors_wire) maps its messages to `make_event`.
The dict has the JSON Lines columns of `growthloop import events` (uuid, event, distinct_id,
timestamp, properties, and where known session_id, user_id, os, browser, device_type), so the
spool is read back by the same loading path as an imported file. Everything here is pure.
"""

from __future__ import annotations

import json
import math
import re
import uuid as uuidlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from growthloop.ingest.useragent import parse_user_agent

MAX_ID = 200
"""Longest event name or distinct id accepted (longer ones are almost always a bug)."""
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
EARLIEST_SECONDS, LATEST_SECONDS = EARLIEST.timestamp(), LATEST.timestamp()
# Ids the SDK sent that are not UUIDs are hashed into one in this namespace, so a retry of the
# same message maps to the same uuid and is stored once.
NAMESPACE = uuidlib.UUID("6f1c39e4-8a53-4c55-9d33-2f3b6f0f4a51")

Event = dict[str, Any]
CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_UA_PROPERTIES = {"browser": "$browser", "os": "$os", "device_type": "$device_type"}


class BadEvent(ValueError):
    """One message that cannot be stored; `field` says where in the message."""

    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


def text_id(value: object, field: str) -> str:
    """A non-empty id of at most MAX_ID characters from a string or a number."""
    if type(value) is str and 0 < len(value) <= MAX_ID and value.strip() == value:
        return value  # the common case, checked cheaply
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise BadEvent(field, f"must be a non-empty string, got {shown}")
    text = str(value).strip()
    if not text:
        raise BadEvent(field, "must be a non-empty string")
    if len(text) > MAX_ID:
        raise BadEvent(field, f"is {len(text)} characters long, at most {MAX_ID} are allowed")
    return text


def parse_time(value: object, field: str) -> datetime:
    """An ISO 8601 string (UTC when it has no offset) or epoch seconds / milliseconds."""
    if isinstance(value, bool):
        raise BadEvent(field, f"{value!r} is not a timestamp")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        if not math.isfinite(value):
            raise BadEvent(field, f"{value!r} is not a timestamp")
        seconds = value / 1000 if abs(value) >= 1e11 else float(value)
        if (
            EARLIEST_SECONDS <= seconds < LATEST_SECONDS
        ):  # the common case: no range check on a datetime
            return datetime.fromtimestamp(seconds, UTC)
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise BadEvent(field, f"{value!r} is not a timestamp") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadEvent(field, f"{value[:60]!r} is not an ISO 8601 timestamp") from None
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    else:
        raise BadEvent(field, f"a {type(value).__name__} is not a timestamp")
    if not EARLIEST <= moment < LATEST:
        raise BadEvent(field, f"{value!r} is not between 1990 and 2100")
    return moment


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds (isoformat is several times faster than strftime)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def object_field(value: object, field: str) -> dict[str, Any]:
    """A JSON object (None counts as an empty one)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadEvent(field, f"must be a JSON object, got {type(value).__name__}")
    return value


def event_uuid(
    given: object, source: str, message: Mapping[str, Any], ignore: tuple[str, ...]
) -> str:
    """The SDK's own id (a UUID kept as is, anything else hashed), else a hash of the message.

    Hashing the message without its send-time fields (`ignore`) makes a retried message map to
    the uuid it had the first time, so the store keeps it once."""
    if isinstance(given, str) and given.strip():
        if CANONICAL_UUID.fullmatch(given):  # the common case, without building a UUID
            return given.lower()
        try:
            return str(uuidlib.UUID(given.strip()))
        except ValueError:
            return str(uuidlib.uuid5(NAMESPACE, f"{source}:{given.strip()}"))
    if isinstance(given, int) and not isinstance(given, bool):
        return str(uuidlib.uuid5(NAMESPACE, f"{source}:{given}"))
    content = {k: v for k, v in message.items() if k not in ignore}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return str(uuidlib.uuid5(NAMESPACE, f"{source}:{canonical}"))


@lru_cache(maxsize=4096)
def user_agent(ua: str) -> tuple[str | None, str | None, str | None]:
    """(browser, os, device_type) of a user agent, cached: a site sends few distinct ones."""
    return parse_user_agent(ua)


def make_event(
    *,
    uuid: str,
    event: str,
    distinct_id: str,
    timestamp: datetime,
    properties: dict[str, Any],
    user_agent_string: str | None = None,
    user_id: str | None = None,
) -> Event:
    """The spool record of one event. A user agent fills os/browser/device_type where the
    properties do not already name them ($os, $browser, $device_type)."""
    out: Event = {
        "uuid": uuid,
        "event": event,
        "distinct_id": distinct_id,
        "timestamp": iso(timestamp),
        "properties": properties,
    }
    session = properties.get("$session_id")
    if isinstance(session, str) and session.strip():
        out["session_id"] = session.strip()[:MAX_ID]
    if user_id is not None and user_id != distinct_id:
        out["user_id"] = user_id
    if user_agent_string and not all(k in properties for k in _UA_PROPERTIES.values()):
        parsed = dict(zip(_UA_PROPERTIES, user_agent(user_agent_string[:1000]), strict=True))
        for column, key in _UA_PROPERTIES.items():
            # A property the SDK sent wins over what the user agent says.
            if parsed[column] is not None and key not in properties:
                out[column] = parsed[column]
    return out


def now_utc() -> datetime:
    return datetime.now(UTC)
