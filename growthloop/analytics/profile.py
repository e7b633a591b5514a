"""User profile (用户细查): one person's properties, identities and event timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from pydantic import Field

from growthloop.analytics.context import QueryContext, ibis_table
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import DateRange, SpecModel
from growthloop.analytics.validation import Problem, Rule, SpecError, validate
from growthloop.store.schema import PERSON_IDENTITIES


class ProfileSpec(SpecModel):
    """`person` is a person_id or any distinct_id that resolves to one."""

    kind: Literal["profile"] = "profile"
    person: str = Field(min_length=1, max_length=200)
    limit: int = Field(default=100, ge=1, le=10_000)
    date_range: DateRange | None = None
    """Only events in this range (None: all)."""


@dataclass(frozen=True)
class TimelineEvent:
    timestamp: datetime
    """Local wall time in the project time zone."""
    event: str
    distinct_id: str
    url: str | None
    properties: dict[str, Any]


@dataclass(frozen=True)
class ProfileSegment:
    """A saved segment the person is in (docs/segments.md)."""

    id: int
    name: str


@dataclass(frozen=True)
class ProfileResult:
    person_id: str
    is_identified: bool | None
    properties: dict[str, Any]
    distinct_ids: tuple[str, ...]
    event_count: int
    first_seen: datetime | None
    last_seen: datetime | None
    events: tuple[TimelineEvent, ...]
    """Newest first, at most `limit`."""
    kind: str = "profile"
    segments: tuple[ProfileSegment, ...] = ()
    """The saved segments whose last computed members hold the person (by name)."""

    def table(self) -> ResultTable:
        rows = tuple((e.timestamp, e.event, e.distinct_id, e.url) for e in self.events)
        return ResultTable(("timestamp", "event", "distinct_id", "url"), rows)

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


def _json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    parsed = json.loads(value) if isinstance(value, str) else value
    return parsed if isinstance(parsed, dict) else {}


class Profile:
    """Runs a ProfileSpec with small point queries (by person_id)."""

    rules: ClassVar[tuple[Rule[ProfileSpec], ...]] = ()

    def __init__(self, spec: ProfileSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        self.range = ctx.resolve(spec.date_range) if spec.date_range else None

    def person_id(self) -> str:
        """The person the spec names: via person_identities, else the id itself."""
        ids = ibis_table(PERSON_IDENTITIES)
        found = self.ctx.execute(
            ids.filter(ids.distinct_id == self.spec.person).select("person_id")
        )
        return str(found[0]["person_id"]) if found else self.spec.person

    def to_query(self) -> ir.Table:
        """The timeline: the person's newest events."""
        events = self._events(self.person_id())
        return events.order_by([ibis.desc("timestamp"), ibis.desc("uuid")]).limit(self.spec.limit)

    def _events(self, person: str) -> ir.Table:
        rng = self.range
        events = self.ctx.scoped_events(
            rng.start_utc if rng else None, rng.end_utc if rng else None
        )
        return events.filter(events.person_id == person)

    def calculate(self) -> ProfileResult:
        person = self.person_id()
        persons = self.ctx.persons()
        rows = self.ctx.execute(persons.filter(persons.person_id == person))
        ids = ibis_table(PERSON_IDENTITIES)
        distinct = self.ctx.execute(
            ids.filter(ids.person_id == person).select("distinct_id").order_by("distinct_id")
        )
        events = self._events(person)
        stats = self.ctx.execute(
            events.aggregate(
                n=events.count(), first=events.timestamp.min(), last=events.timestamp.max()
            )
        )[0]
        if not rows and not stats["n"]:
            raise SpecError(
                [
                    Problem(
                        "unknown_person", "person", f"no person or events for {self.spec.person!r}"
                    )
                ]
            )
        timeline = self.ctx.execute(
            self.to_query().select("timestamp", "event", "distinct_id", "url", "properties")
        )
        return ProfileResult(
            person_id=person,
            is_identified=bool(rows[0]["is_identified"]) if rows else None,
            properties=_json(rows[0]["properties"]) if rows else {},
            distinct_ids=tuple(str(r["distinct_id"]) for r in distinct),
            event_count=int(stats["n"]),
            first_seen=self._local(stats["first"]),
            last_seen=self._local(stats["last"]),
            events=tuple(
                TimelineEvent(
                    self._local(r["timestamp"]) or datetime.min,
                    r["event"],
                    r["distinct_id"],
                    r["url"],
                    _json(r["properties"]),
                )
                for r in timeline
            ),
            segments=self._segments(person),
        )

    def _segments(self, person: str) -> tuple[ProfileSegment, ...]:
        if self.ctx.saved is None:
            return ()
        found = self.ctx.saved.containing(person)
        return tuple(ProfileSegment(sid, name) for sid, name in sorted(found, key=lambda x: x[1]))

    def _local(self, utc: datetime | None) -> datetime | None:
        if utc is None:
            return None
        return utc.replace(tzinfo=UTC).astimezone(self.ctx.tz).replace(tzinfo=None)
