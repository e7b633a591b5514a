"""What each import kind accepts: target columns, which are required, and column mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from growthloop.store.schema import (
    CONTENT_ITEMS,
    CONTENT_METRICS,
    EVENTS,
    ORDERS,
    SPEND,
    Column,
    Table,
)

# Columns a file may give for events beyond the table's own: the full referrer URL (the store
# keeps its domain) and the logged-in user id that an anonymous distinct_id belongs to.
_EVENT_EXTRAS = (
    Column("referrer", "VARCHAR", "Referrer URL; stored as referrer_domain."),
    Column("user_id", "VARCHAR", "Logged-in user id: merges distinct_id into that person."),
)
_EVENT_DERIVED = {"person_id", "path", "referrer_domain", "inserted_at"}


@dataclass(frozen=True)
class ImportKind:
    name: str
    table: Table
    accepts: tuple[Column, ...]
    keep_extra_as_properties: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.accepts if c.required)

    def target(self, name: str) -> Column:
        for col in self.accepts:
            if col.name == name:
                return col
        raise KeyError(name)

    def resolve(
        self, mapping: Mapping[str, str], source_columns: list[str] | None
    ) -> dict[str, str]:
        """target -> source column. Unmapped targets use the source column of the same name."""
        names = {c.name for c in self.accepts}
        unknown = sorted(set(mapping) - names)
        if unknown:
            raise ValueError(
                f"--map {unknown[0]}=...: {self.name} has no column {unknown[0]!r};"
                f" columns are: {', '.join(c.name for c in self.accepts)}"
            )
        resolved: dict[str, str] = {}
        for col in self.accepts:
            if col.name in mapping:
                resolved[col.name] = mapping[col.name]
            elif source_columns is None or col.name in source_columns:
                resolved[col.name] = col.name
        return resolved


def _accepts(
    table: Table, skip: frozenset[str] = frozenset(), extra: tuple[Column, ...] = ()
) -> tuple[Column, ...]:
    return tuple(c for c in table.columns if c.name not in skip) + extra


KINDS: dict[str, ImportKind] = {
    "events": ImportKind(
        "events",
        EVENTS,
        _accepts(EVENTS, frozenset(_EVENT_DERIVED), _EVENT_EXTRAS),
        keep_extra_as_properties=True,
    ),
    "orders": ImportKind(
        "orders", ORDERS, _accepts(ORDERS, frozenset({"person_id", "inserted_at"}))
    ),
    "spend": ImportKind("spend", SPEND, _accepts(SPEND)),
    "content": ImportKind("content", CONTENT_ITEMS, _accepts(CONTENT_ITEMS)),
    "content-metrics": ImportKind("content-metrics", CONTENT_METRICS, _accepts(CONTENT_METRICS)),
}


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`["target=source", ...]` from the command line."""
    out: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ValueError(
                f"--map {pair!r}: write it as TARGET=SOURCE, e.g. --map distinct_id=user"
            )
        out[target.strip()] = source.strip()
    return out
