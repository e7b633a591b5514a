"""Property filters and breakdown values as Ibis expressions over the events table.

A property is read from one of three places (PropertyRef.type): the event's `properties` JSON,
the person's `properties` JSON (joined in as `person_properties`), or a materialised column of
the events table. JSON values are compared as text for = / in / contains / regex (a number 3 and
the text "3" are equal) and as numbers for > >= < <=.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ibis
import ibis.expr.types as ir

from growthloop.analytics.spec import NONE, PropertyFilter, PropertyRef, Scalar

PERSON_PROPERTIES = "person_properties"
"""Column name under which `with_persons` joins the person's properties onto events."""


def needs_persons(refs: Iterable[PropertyRef | None]) -> bool:
    """Whether any of these properties lives on the person."""
    return any(ref is not None and ref.type == "person" for ref in refs)


def with_persons(events: ir.Table, persons: ir.Table) -> ir.Table:
    """Events with their person's properties as column `person_properties` (null if unknown)."""
    people = persons.select(_person=persons.person_id, **{PERSON_PROPERTIES: persons.properties})
    joined = events.left_join(people, events.person_id == people._person)
    return joined.drop("_person")


def segment_column(ref: PropertyRef) -> str:
    """Column under which the context joins a `segment` breakdown's value onto events."""
    return "_segments_" + ref.key.replace(",", "_")


def _json(table: ir.Table, ref: PropertyRef) -> ir.JSONValue:
    column = table.properties if ref.type == "event" else table[PERSON_PROPERTIES]
    return column[json_member(ref.key)]


def json_member(key: str) -> str:
    """A JSONPath naming exactly the member `key`: DuckDB reads a bare key that starts with `$`
    (`$os`, `$browser`, PostHog's names) as a path, which finds nothing."""
    return '$."' + key.replace('"', '\\"') + '"'


def text_value(table: ir.Table, ref: PropertyRef) -> ir.StringValue:
    """The property as text; null when the row does not have it."""
    if ref.type == "segment":
        segment_label: ir.StringValue = table[segment_column(ref)]
        return segment_label
    if ref.type == "column":
        column = table[ref.key]
        return column if column.type().is_string() else column.cast("string")
    value = _json(table, ref)
    as_text: ir.StringValue = ibis.coalesce(value.str, value.cast("string"))
    # A JSON null reads as the text 'null': treat it as "not set".
    return ibis.ifelse(as_text == "null", ibis.null("string"), as_text)


def number_value(table: ir.Table, ref: PropertyRef) -> ir.FloatingValue:
    """The property as a number; null when missing or not numeric."""
    if ref.type == "column":
        column = table[ref.key]
        if column.type().is_numeric():
            return column.cast("float64")
        return column.cast("string").try_cast("float64")
    value = _json(table, ref)
    return ibis.coalesce(value.float, value.str.try_cast("float64"))


def _as_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _equals_any(table: ir.Table, ref: PropertyRef, values: Sequence[Scalar]) -> ir.BooleanValue:
    text = text_value(table, ref)
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    condition: ir.BooleanValue = text.isin([_as_text(v) for v in values])
    if numbers:
        # 3, 3.0 and "3" are one value; compare numerically so the JSON spelling does not matter.
        condition = condition | number_value(table, ref).isin(numbers)
    return condition


def filter_expr(table: ir.Table, flt: PropertyFilter) -> ir.BooleanValue:
    """The condition a filter puts on rows of `table` (events, possibly joined with persons)."""
    op, value = flt.operator, flt.value
    text = text_value(table, flt)
    if op == "is_set":
        return text.notnull()
    if op == "is_not_set":
        return text.isnull()
    if op in ("=", "!=", "in", "not_in"):
        values = value if isinstance(value, list) else [value]
        positive = _equals_any(table, flt, [v for v in values if v is not None])
    elif op in ("contains", "not_contains"):
        positive = text.lower().contains(str(value).lower())
    elif op == "regex":
        positive = text.re_search(str(value))
    else:
        number = number_value(table, flt)
        assert isinstance(value, int | float)  # checked by PropertyFilter's validator
        bound = ibis.literal(float(value), type="float64")
        comparisons = {">": number > bound, ">=": number >= bound, "<": number < bound}
        positive = comparisons.get(op, number <= bound)
    if op in ("!=", "not_in", "not_contains"):
        return (~positive).fill_null(True)
    return positive.fill_null(False)


def all_filters(table: ir.Table, filters: Iterable[PropertyFilter]) -> ir.BooleanValue:
    """AND of all filters (true when there are none)."""
    condition: ir.BooleanValue = ibis.literal(True)
    for flt in filters:
        condition = condition & filter_expr(table, flt)
    return condition


def breakdown_value(table: ir.Table, ref: PropertyRef) -> ir.StringValue:
    """The breakdown value of each row as text; `$none` when the row does not have it."""
    return text_value(table, ref).fill_null(NONE)
