"""Segment's tracking API (also what RudderStack SDKs send): /v1/track, /v1/identify,
/v1/page, /v1/screen, /v1/group, /v1/alias and /v1/batch.

The write key comes by HTTP Basic auth (user = key, empty password) or as `writeKey` in the
body. messageId is the event's id, so a retried message is stored once. Mapping to PostHog-style
events: identify -> $identify (anonymousId -> $anon_distinct_id, traits -> $set), alias ->
$create_alias, page -> $pageview, screen -> $screen, group -> $groupidentify.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from growthloop.ingest.collector.batch import Batch, convert_all
from growthloop.ingest.collector.decode import BadRequest
from growthloop.ingest.collector.normalise import (
    BadEvent,
    Event,
    event_uuid,
    make_event,
    object_field,
    parse_time,
    text_id,
)

SOURCE = "segment"
TYPES = ("track", "identify", "page", "screen", "group", "alias")
_SEND_FIELDS = ("sentAt", "receivedAt", "writeKey")
# context.campaign names -> UTM property names (Segment says `name` for the campaign).
_CAMPAIGN = {
    "source": "utm_source",
    "medium": "utm_medium",
    "name": "utm_campaign",
    "content": "utm_content",
    "term": "utm_term",
}


def basic_auth_key(authorization: str | None) -> str | None:
    """The user part of 'Authorization: Basic base64(user:password)'."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(401, "Authorization: Basic credentials are not valid base64") from None
    return decoded.partition(":")[0] or None


def read_batch(payload: Any, kind: str, authorization: str | None, received_at: datetime) -> Batch:
    """Events of a /v1/<kind> body; kind 'batch' holds {"batch": [...]}."""
    if not isinstance(payload, dict):
        raise BadRequest(400, "body must be a JSON object")
    key = basic_auth_key(authorization) or (
        payload["writeKey"] if isinstance(payload.get("writeKey"), str) else None
    )
    if kind == "batch":
        messages = payload.get("batch")
        if not isinstance(messages, list):
            raise BadRequest(400, "field 'batch' must be a list of messages")
        if not messages:
            raise BadRequest(400, "field 'batch' holds no messages")
        context = payload.get("context")
        shared: dict[str, Any] = context if isinstance(context, dict) else {}
    else:
        messages, shared = [{**payload, "type": kind}], {}
    return convert_all(SOURCE, key, messages, lambda m: to_event(m, shared, received_at))


def to_event(
    message: dict[str, Any], shared_context: Mapping[str, Any], received_at: datetime
) -> Event:
    """One Segment message as our event; raises BadEvent naming the field."""
    kind = message.get("type")
    if kind not in TYPES:
        raise BadEvent("type", f"{kind!r} is not one of {', '.join(TYPES)}")
    user_id = _optional_id(message.get("userId"), "userId")
    anonymous_id = _optional_id(message.get("anonymousId"), "anonymousId")
    distinct_id = user_id or anonymous_id
    if distinct_id is None:
        raise BadEvent("userId", "userId or anonymousId is required")
    stamp = message.get("timestamp") or message.get("originalTimestamp")
    timestamp = parse_time(stamp, "timestamp") if stamp else received_at
    context = {**shared_context, **object_field(message.get("context"), "context")}
    properties = _context_properties(context)
    if user_id and anonymous_id:
        properties["$anon_distinct_id"] = anonymous_id
    name = _event_name(kind, message, properties)
    ua = context.get("userAgent")
    return make_event(
        uuid=event_uuid(message.get("messageId"), SOURCE, message, _SEND_FIELDS),
        event=name,
        distinct_id=distinct_id,
        timestamp=timestamp,
        properties=properties,
        user_agent_string=ua if isinstance(ua, str) else None,
    )


def _optional_id(value: object, field: str) -> str | None:
    return None if value is None or value == "" else text_id(value, field)


def _event_name(kind: str, message: dict[str, Any], properties: dict[str, Any]) -> str:
    """The event name for a message type; fills the type's own properties in place."""
    if kind == "track":
        properties.update(object_field(message.get("properties"), "properties"))
        return text_id(message.get("event"), "event")
    if kind in ("page", "screen"):
        own = object_field(message.get("properties"), "properties")
        properties.update(own)
        if isinstance(message.get("name"), str):
            properties["$screen_name" if kind == "screen" else "$title"] = message["name"]
        if kind == "page" and isinstance(own.get("url"), str):
            properties["$current_url"] = own["url"]
        if kind == "page" and isinstance(own.get("referrer"), str):
            properties["$referrer"] = own["referrer"]
        return "$pageview" if kind == "page" else "$screen"
    if kind == "identify":
        properties["$set"] = object_field(message.get("traits"), "traits")
        return "$identify"
    if kind == "alias":
        properties["alias"] = text_id(message.get("previousId"), "previousId")
        return "$create_alias"
    properties["$group_type"] = "group"
    properties["$group_key"] = text_id(message.get("groupId"), "groupId")
    properties["$group_set"] = object_field(message.get("traits"), "traits")
    return "$groupidentify"


def _context_properties(context: Mapping[str, Any]) -> dict[str, Any]:
    """PostHog-style properties from Segment's context: page, campaign, ip, library."""
    out: dict[str, Any] = {}
    page = context.get("page")
    if isinstance(page, dict):
        for field, prop in (
            ("url", "$current_url"),
            ("referrer", "$referrer"),
            ("title", "$title"),
        ):
            if isinstance(page.get(field), str) and page[field]:
                out[prop] = page[field]
    campaign = context.get("campaign")
    if isinstance(campaign, dict):
        for field, prop in _CAMPAIGN.items():
            if isinstance(campaign.get(field), str) and campaign[field]:
                out[prop] = campaign[field]
    if isinstance(context.get("ip"), str):
        out["$ip"] = context["ip"]
    library = context.get("library")
    if isinstance(library, dict) and isinstance(library.get("name"), str):
        out["$lib"] = library["name"]
    os = context.get("os")
    if isinstance(os, dict) and isinstance(os.get("name"), str):
        out["$os"] = os["name"]
    return out
