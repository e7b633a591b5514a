"""Spec parts every analysis shares: date ranges, property filters, breakdowns, event selectors.

Specs are pydantic models so that the UI, the API, saved insights and the CLI all store and run
the same JSON. Every model forbids unknown fields: a typo in a saved spec is an error, not a
silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from growthloop.store.schema import EVENTS

Interval = Literal["hour", "day", "week", "month"]
"""Time bucket, in the project time zone. Weeks start on Monday (ISO weeks)."""

Operator = Literal[
    "=",
    "!=",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "regex",
    ">",
    ">=",
    "<",
    "<=",
    "is_set",
    "is_not_set",
]
PropertySource = Literal["event", "person", "column", "segment"]
"""Where a property lives: the event's `properties` JSON, the person's `properties` JSON, or a
materialised column of the events table (channel, os, utm_source, revenue, ...). `segment`
(breakdowns only): the key lists saved segment ids ("3" or "3,7"); the value is the name of the
first of them the person is in."""

Scalar = str | int | float | bool

# Columns of the events table a filter or breakdown may name directly. Internal bookkeeping
# columns (properties JSON itself, inserted_at) are left out on purpose.
EVENT_COLUMNS: frozenset[str] = frozenset(EVENTS.column_names) - {"properties", "inserted_at"}

SEGMENT_KEY = re.compile(r"[1-9][0-9]{0,9}(,[1-9][0-9]{0,9}){0,99}")
"""Key of a `segment` breakdown: saved segment ids separated by commas."""

OTHER = "$other"
"""Breakdown value that collects everything outside the top N."""
NONE = "$none"
"""Breakdown value of events or persons that do not have the property."""


class SpecModel(BaseModel):
    """Base of every spec part: immutable, JSON-serialisable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class PropertyRef(SpecModel):
    """A property of an event, of a person, or a materialised events column."""

    key: str = Field(min_length=1, max_length=200)
    type: PropertySource = "event"

    @model_validator(mode="after")
    def _known_column(self) -> PropertyRef:
        if self.type == "column" and self.key not in EVENT_COLUMNS:
            known = ", ".join(sorted(EVENT_COLUMNS))
            raise ValueError(f"unknown events column {self.key!r} (known columns: {known})")
        if self.type == "segment" and not SEGMENT_KEY.fullmatch(self.key):
            raise ValueError(
                f"a segment breakdown's key lists saved segment ids like '3' or '3,7',"
                f" not {self.key!r}"
            )
        return self

    @property
    def segment_ids(self) -> tuple[int, ...]:
        """The saved segment ids of a `segment` breakdown, in order."""
        return tuple(int(x) for x in self.key.split(",")) if self.type == "segment" else ()


class PropertyFilter(PropertyRef):
    """One condition on a property. Negative operators (!=, not_in, not_contains) also match
    rows that do not have the property at all, as a user reading "not equal to X" expects."""

    operator: Operator = "="
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> PropertyFilter:
        op, value = self.operator, self.value
        if self.type == "segment":
            raise ValueError('filter by a saved segment with {"type": "segment", "segment_id": N}')
        if op in ("is_set", "is_not_set"):
            if value is not None:
                raise ValueError(f"operator {op!r} takes no value")
        elif op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"operator {op!r} needs a non-empty list of values")
        elif value is None or isinstance(value, list):
            raise ValueError(f"operator {op!r} needs a single value")
        elif op in (">", ">=", "<", "<=") and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise ValueError(f"operator {op!r} needs a number, got {value!r}")
        elif op in ("contains", "not_contains", "regex") and not isinstance(value, str):
            raise ValueError(f"operator {op!r} needs a text value, got {value!r}")
        return self


class EventSelector(SpecModel):
    """Events of one name (None: any event) that also pass all `filters`."""

    event: str | None = Field(default=None, min_length=1, max_length=200)
    filters: tuple[PropertyFilter, ...] = ()

    @property
    def label(self) -> str:
        return self.event or "any event"


class BehaviourCondition(SpecModel):
    """Did (or, with `negate`, did not) do `event` at least `min_count` times in the last
    `days` days before now (None: ever)."""

    type: Literal["behaviour"]
    event: EventSelector
    min_count: int = Field(default=1, ge=1)
    days: int | None = Field(default=30, ge=1)
    negate: bool = False


class PersonCondition(SpecModel):
    """A condition on a person property (the filter's `type` must be `person`)."""

    type: Literal["person"]
    filter: PropertyFilter

    @model_validator(mode="after")
    def _person_property(self) -> PersonCondition:
        if self.filter.type != "person":
            raise ValueError("a person condition filters a person property (type 'person')")
        return self


class SegmentDefinition(SpecModel):
    """People matching `all` (or `any`) of the conditions (用户分群)."""

    match: Literal["all", "any"] = "all"
    conditions: tuple[
        Annotated[
            BehaviourCondition | PersonCondition | FunnelCondition | InSegmentCondition,
            Field(discriminator="type"),
        ],
        ...,
    ] = Field(min_length=1)


class SegmentFilter(SpecModel):
    """Keep only events of people in the segment (or, with `negate`, not in it)."""

    type: Literal["segment"]
    segment: SegmentDefinition
    negate: bool = False


class SavedSegmentFilter(SpecModel):
    """Keep only events of people in saved segment `segment_id` as last computed (with
    `negate`, of people not in it)."""

    type: Literal["segment"]
    segment_id: int = Field(ge=1)
    negate: bool = False


Filter = PropertyFilter | SegmentFilter | SavedSegmentFilter
"""What an analysis's `filters` may hold: property conditions and segments."""


class Breakdown(SpecModel):
    """Split results by the value of a property; the `limit` most frequent values are kept and
    the rest are merged into `$other`. Rows without the property get `$none`."""

    property: PropertyRef
    limit: int = Field(default=10, ge=1, le=100)


class DateRange(SpecModel):
    """Absolute dates (`2024-05-01`, `2024-05-01T08:00:00`) or relative ones (`-7d`, `-24h`,
    `-4w`, `-3m`, `-1y`, `today`, `yesterday`, `this week`, `last week`, `this month`,
    `last month`, `this year`), read in the project time zone. `date_to` defaults to now; an
    absolute `date_to` date includes that whole day. A named period (`this month`) as `date_from`
    with no `date_to` covers that period."""

    date_from: str = "-7d"
    date_to: str | None = None


WindowUnit = Literal["second", "minute", "hour", "day", "week"]
UNIT_SECONDS: dict[str, int] = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
}


class Window(SpecModel):
    """A length of time, such as a funnel's conversion window."""

    value: int = Field(default=14, ge=0)
    unit: WindowUnit = "day"

    @property
    def seconds(self) -> int:
        return self.value * UNIT_SECONDS[self.unit]


class InSegmentCondition(SpecModel):
    """In (with `negate`: not in) saved segment `segment_id`: a rule segment's definition is
    evaluated at the same moment, a static segment's list is taken as stored."""

    type: Literal["segment"]
    segment_id: int = Field(ge=1)
    negate: bool = False


class FunnelCondition(SpecModel):
    """Reached step `step` (1-based) of a funnel over `date_range`, as the funnel analysis
    counts it; with `dropped`, reached it and went no further; with `negate`, everyone else."""

    type: Literal["funnel"]
    steps: tuple[EventSelector, ...] = Field(min_length=2, max_length=20)
    step: int = Field(ge=1)
    dropped: bool = False
    mode: Literal["ordered", "strict", "unordered"] = "ordered"
    window: Window = Window(value=14, unit="day")
    date_range: DateRange = DateRange(date_from="-30d")
    filters: tuple[PropertyFilter, ...] = ()
    negate: bool = False

    @model_validator(mode="after")
    def _step_of_funnel(self) -> FunnelCondition:
        if any(s.event is None for s in self.steps):
            raise ValueError("every funnel step names an event")
        if self.step > len(self.steps):
            raise ValueError(f"step {self.step}: this funnel has steps 1 to {len(self.steps)}")
        return self


SegmentDefinition.model_rebuild()
SegmentFilter.model_rebuild()
