"""The result of reading one request: who sent it, the events to store, and the rejects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from growthloop.ingest.collector.normalise import BadEvent, Event


@dataclass(frozen=True)
class Reject:
    """A message of a batch that is not stored: where it was, what was wrong, what it was."""

    index: int
    reason: str
    message: Any


@dataclass
class Batch:
    """Events and rejects of one request, in the order the SDK sent them."""

    source: str
    key: str | None
    events: list[Event] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def convert_all(
    source: str,
    key: str | None,
    messages: Iterable[Any],
    convert: Callable[[Any], Event],
) -> Batch:
    """Convert each message; one that fails becomes a reject naming its index and field."""
    batch = Batch(source, key)
    for index, message in enumerate(messages):
        try:
            if not isinstance(message, dict):
                raise BadEvent("message", f"must be a JSON object, got {type(message).__name__}")
            batch.events.append(convert(message))
        except BadEvent as exc:
            batch.rejects.append(Reject(index, f"[{index}].{exc.field}: {exc.reason}", message))
    return batch
