"""Sensors Data (神策) SDK traffic: /sa (POST or GET; /sa.gif for the image beacon).

Form fields `data` (one message, or a list) and `data_list` (a list) hold base64 of the JSON;
with gzip=1 the JSON is gzip'd first (sa-sdk-javascript sends gzip=9 for plain base64, so the
gzip header is what decides). The project's ingestion key comes as ?token= in the server URL
(`http://host/sa?token=KEY`), a form field `token`, or a message's `token`.

Types: track; track_signup (the login id takes over the anonymous `original_id`: the two are
merged into one person); track_id_bind (ID-Mapping 3 login: the cookie / anonymous identity is
merged into `$identity_login_id`) and track_id_unbind (stored, no identity change);
profile_set / profile_set_once ($set / $set_once events); profile_increment, profile_append,
profile_unset, profile_delete (person updates applied by the loader, see person_ops.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from growthloop.ingest.collector.batch import Batch, convert_all
from growthloop.ingest.collector.decode import (
    BadRequest,
    form_fields,
    maybe_gunzip,
    parse_json,
    unbase64,
)
from growthloop.ingest.collector.normalise import (
    BadEvent,
    Event,
    event_uuid,
    make_event,
    object_field,
    parse_time,
    text_id,
)

SOURCE = "sensors"
PROFILE_EVENTS = {
    "profile_set": ("$set", "$set"),
    "profile_set_once": ("$set_once", "$set_once"),
    "profile_increment": ("$profile_increment", "$increment"),
    "profile_append": ("$profile_append", "$append"),
    "profile_unset": ("$profile_unset", "$unset"),
    "profile_delete": ("$profile_delete", "$delete"),
}
"""Sensors profile type -> (our event name, the property holding the operation)."""
TYPES = ("track", "track_signup", "track_id_bind", "track_id_unbind", *PROFILE_EVENTS)
_LOGIN = "$identity_login_id"
# ID-Mapping 3 ids other than the login id, in the order the anonymous id is looked for.
_ANONYMOUS = (
    "$identity_cookie_id",
    "$identity_anonymous_id",
    "$identity_android_id",
    "$identity_idfv",
)
_SEND_FIELDS = ("_flush_time", "token", "_hybrid_h5", "flush_time")
# Sensors' preset property names -> the PostHog-style names the loader reads (both are kept).
_RENAMES = {"$url": "$current_url", "$utm_source": "utm_source", "$utm_medium": "utm_medium",
            "$utm_campaign": "utm_campaign", "$utm_content": "utm_content", "$utm_term": "utm_term"}  # fmt: skip
_NOT_PROFILE = ("$is_login_id", "$project", "$token", "$lib", "$lib_version", "$lib_method")


def decode_messages(
    body: bytes, query: Mapping[str, str], limit: int
) -> tuple[list[Any], str | None]:
    """The messages of a /sa request and the key it names, from the body or the URL."""
    fields = dict(query)
    if body:
        fields.update(form_fields(body))
    name = "data_list" if "data_list" in fields else "data" if "data" in fields else None
    if name is None:
        raise BadRequest(400, "no form field 'data' or 'data_list' (base64 of the JSON events)")
    raw = unbase64(fields[name], f"field '{name}'")
    payload = parse_json(maybe_gunzip(raw, limit, f"field '{name}'"), f"field '{name}'")
    messages = payload if isinstance(payload, list) else [payload]
    if not messages:
        raise BadRequest(400, f"field '{name}' holds no events")
    key = fields.get("token") or None
    if key is None:
        key = next(
            (
                m["token"]
                for m in messages
                if isinstance(m, dict) and isinstance(m.get("token"), str)
            ),
            None,
        )
    return messages, key


def read_batch(messages: list[Any], key: str | None, received_at: datetime) -> Batch:
    return convert_all(SOURCE, key, messages, lambda m: to_event(m, received_at))


def to_event(message: dict[str, Any], received_at: datetime) -> Event:
    """One Sensors message as our event; raises BadEvent naming the field."""
    kind = message.get("type")
    if kind not in TYPES:
        raise BadEvent("type", f"{kind!r} is not one of {', '.join(TYPES)}")
    distinct_id = text_id(message.get("distinct_id"), "distinct_id")
    stamp = message.get("time")
    timestamp = parse_time(stamp, "time") if stamp is not None else received_at
    given = object_field(message.get("properties"), "properties")
    user_id = None
    if kind in PROFILE_EVENTS:
        name, op = PROFILE_EVENTS[kind]
        properties = {op: _profile_operation(kind, given)}
    else:
        name = text_id(message.get("event"), "event")
        properties = dict(given)
        for sensors_name, ours in _RENAMES.items():  # keep Sensors' names, add ours beside
            if sensors_name in given and ours not in given:
                properties[ours] = given[sensors_name]
        if isinstance(message.get("lib"), dict):
            properties.setdefault("$lib", message["lib"].get("$lib"))
        if kind == "track_signup":
            # $SignUp: the event belongs to the anonymous id, merged into the login id.
            user_id = distinct_id
            distinct_id = text_id(message.get("original_id"), "original_id")
        elif kind == "track_id_bind":
            # $BindID (ID-Mapping 3): the identities it names are one person.
            distinct_id, user_id = _bound_ids(message, distinct_id)
    ua = given.get("$user_agent")
    return make_event(
        uuid=event_uuid(None, SOURCE, message, _SEND_FIELDS),
        event=name,
        distinct_id=distinct_id,
        timestamp=timestamp,
        properties=properties,
        user_agent_string=ua if isinstance(ua, str) else None,
        user_id=user_id,
    )


def _bound_ids(message: Mapping[str, Any], distinct_id: str) -> tuple[str, str | None]:
    """(anonymous id, login id) of a track_id_bind; the login id is None when absent."""
    identities = object_field(message.get("identities"), "identities")
    login = identities.get(_LOGIN, message.get("login_id"))
    anonymous = next((identities[k] for k in _ANONYMOUS if identities.get(k)), None)
    anonymous = anonymous or message.get("anonymous_id")
    if login is None or anonymous is None:
        return distinct_id, None
    return text_id(anonymous, "identities"), text_id(login, f"identities.{_LOGIN}")


def _profile_operation(kind: str, given: Mapping[str, Any]) -> Any:
    values = {k: v for k, v in given.items() if k not in _NOT_PROFILE}
    if kind == "profile_increment":
        for k, v in values.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise BadEvent(f"properties.{k}", "profile_increment needs a number")
    if kind == "profile_append":
        for k, v in values.items():
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise BadEvent(f"properties.{k}", "profile_append needs a list of strings")
    if kind == "profile_unset":
        return sorted(values)
    if kind == "profile_delete":
        return True
    return values
