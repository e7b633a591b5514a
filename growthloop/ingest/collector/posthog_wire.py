"""PostHog's capture protocol (v0): /capture/, /batch/, /e/, /i/v0/e/.

Bodies are JSON, gzip'd JSON (Content-Encoding: gzip or ?compression=gzip-js) or a form whose
field `data` is base64 of (possibly gzip'd) JSON. The payload is one event, a list of events,
or {"batch": [...]}; the project key is `api_key` / `token` in the payload, `token` in an
event's properties, or ?api_key= / ?token= in the URL (posthog-js sends it in properties).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from growthloop.ingest.collector.batch import Batch, convert_all
from growthloop.ingest.collector.decode import (
    BadRequest,
    form_fields,
    gunzip,
    maybe_gunzip,
    parse_json,
    unbase64,
)
from growthloop.ingest.collector.normalise import (
    CANONICAL_UUID,
    EARLIEST_SECONDS,
    LATEST_SECONDS,
    MAX_ID,
    BadEvent,
    Event,
    event_uuid,
    iso,
    make_event,
    object_field,
    parse_time,
    text_id,
)

SOURCE = "posthog"
_KEY_FIELDS = ("api_key", "token")
# Sent per request rather than per event; not part of what the event means.
_SEND_FIELDS = ("sent_at", "offset", "api_key", "token")


def decode_body(
    body: bytes, content_type: str, content_encoding: str, query: Mapping[str, str], limit: int
) -> Any:
    """The JSON payload of a capture request, however the SDK packed it."""
    if not body and "data" in query:  # GET beacons carry the payload in the URL
        body = f"data={query['data']}".encode()
        content_type = "application/x-www-form-urlencoded"
    if not body:
        raise BadRequest(400, "request body is empty; send events as JSON")
    gzipped = "gzip" in content_encoding.lower() or query.get("compression") == "gzip-js"
    if gzipped or body.startswith(b"\x1f\x8b"):
        body = gunzip(body, limit, "body")
    form = "form-urlencoded" in content_type.lower() or body.startswith(b"data=")
    if form:
        fields = form_fields(body)
        if "data" not in fields:
            raise BadRequest(400, "form body has no field 'data' (base64 of the JSON events)")
        if fields.get("compression") == "lz64":
            raise BadRequest(400, "form field 'data': lz64 compression is not supported; use gzip")
        text = fields["data"].strip()
        raw = text.encode() if text.startswith(("{", "[")) else unbase64(text, "form field 'data'")
        return parse_json(maybe_gunzip(raw, limit, "form field 'data'"), "form field 'data'")
    return parse_json(body, "body")


def read_batch(payload: Any, query: Mapping[str, str], received_at: datetime) -> Batch:
    """Events of a decoded capture payload, and the project key it carries."""
    if isinstance(payload, list):
        messages, envelope = payload, {}
    elif isinstance(payload, dict) and "batch" in payload:
        if not isinstance(payload["batch"], list):
            raise BadRequest(400, "field 'batch' must be a list of events")
        messages, envelope = payload["batch"], payload
    elif isinstance(payload, dict):
        messages, envelope = [payload], payload
    else:
        raise BadRequest(400, 'payload must be an event object, a list, or {"batch": [...]}')
    if not messages:
        raise BadRequest(400, "payload holds no events")
    key = _key(envelope, messages, query)
    return convert_all(SOURCE, key, messages, lambda m: to_event(m, received_at))


def _key(envelope: Mapping[str, Any], messages: list[Any], query: Mapping[str, str]) -> str | None:
    for name in _KEY_FIELDS:
        if isinstance(envelope.get(name), str):
            return str(envelope[name])
    for message in messages:
        if isinstance(message, dict):
            for name in _KEY_FIELDS:
                if isinstance(message.get(name), str):
                    return str(message[name])
            props = message.get("properties")
            if isinstance(props, dict) and isinstance(props.get("token"), str):
                return str(props["token"])
    for name in _KEY_FIELDS:
        if query.get(name):
            return query[name]
    return None


def to_event(message: dict[str, Any], received_at: datetime) -> Event:
    """One PostHog event as our event; raises BadEvent naming the field."""
    return _plain_event(message) or _any_event(message, received_at)


_SPECIAL = frozenset({"$set", "$set_once", "token"})
_SPECIAL_EVENTS = frozenset({"$create_alias", "$identify"})


def _plain_id(value: object) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_ID and value.strip() == value


def _plain_event(message: dict[str, Any]) -> Event | None:
    """The common case, checked inline (this runs for every event the server takes): a valid
    name and distinct id, an epoch or ISO timestamp, the SDK's UUID, properties without the
    key, user agent, session id or top-level $set. Anything else: None, and `_any_event`
    does the full job (the stored event is the same where both apply)."""
    name, did = message.get("event"), message.get("distinct_id")
    props, given = message.get("properties"), message.get("uuid")
    if not (
        _plain_id(name)
        and _plain_id(did)
        and type(props) is dict
        and type(given) is str
        and name not in _SPECIAL_EVENTS
        and _SPECIAL.isdisjoint(message)
        and "token" not in props
        and "$raw_user_agent" not in props
        and "$session_id" not in props
        and CANONICAL_UUID.fullmatch(given)
    ):
        return None
    stamp: Any = message.get("timestamp")
    kind = type(stamp)
    if kind is float or kind is int:
        # Epoch seconds or milliseconds go to the spool as sent: the importer reads numbers
        # by the same rule (>= 1e11: milliseconds), so only the range is checked here.
        seconds = stamp / 1000 if abs(stamp) >= 1e11 else stamp
        if not EARLIEST_SECONDS <= seconds < LATEST_SECONDS:  # also false for NaN
            return None
    elif kind is str:
        try:
            stamp = iso(parse_time(stamp, "timestamp"))
        except BadEvent:
            return None
    else:
        return None
    return {
        "uuid": given.lower(),
        "event": name,
        "distinct_id": did,
        "timestamp": stamp,
        "properties": props,
    }


def _any_event(message: dict[str, Any], received_at: datetime) -> Event:
    event = message.get("event")
    name = text_id(event, "event")
    properties = object_field(message.get("properties"), "properties")
    if "token" in properties:  # the project key is not event data
        properties = {k: v for k, v in properties.items() if k != "token"}
    # Server SDKs send $set / $set_once at the top level; PostHog reads them as properties.
    for op in ("$set", "$set_once"):
        if op in message and op not in properties:
            properties = {**properties, op: object_field(message[op], op)}
    raw_id = message.get("distinct_id", properties.get("distinct_id"))
    distinct_id = text_id(raw_id, "distinct_id")
    if message.get("timestamp") is not None:
        timestamp = parse_time(message["timestamp"], "timestamp")
    elif isinstance(message.get("offset"), int | float):
        timestamp = parse_time(received_at - timedelta(milliseconds=message["offset"]), "offset")
    else:
        timestamp = received_at
    if name == "$create_alias":
        text_id(properties.get("alias"), "properties.alias")
    if name == "$identify" and properties.get("$anon_distinct_id") is not None:
        text_id(properties.get("$anon_distinct_id"), "properties.$anon_distinct_id")
    ua = properties.get("$raw_user_agent")
    return make_event(
        uuid=event_uuid(message.get("uuid"), SOURCE, message, _SEND_FIELDS),
        event=name,
        distinct_id=distinct_id,
        timestamp=timestamp,
        properties=properties,
        user_agent_string=ua if isinstance(ua, str) else None,
    )


__all__ = ["BadEvent", "decode_body", "read_batch", "to_event"]
