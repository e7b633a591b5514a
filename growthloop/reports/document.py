"""The parts of a generated report: findings, tables, charts and sections, in any locale.

A report keeps numbers, not text: a finding is a catalogue key with typed values, a table cell
a value with its kind. Text is made when the report is shown, in the reader's language, so one
report object renders in zh-CN and English alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from growthloop.i18n import Formatter, Translator

Kind = Literal[
    "text",
    "int",
    "pct",
    "money",
    "change",
    "points",
    "ratio",
    "date",
    "day",
    "event",
    "channel",
    "kpi",
    "term",
]
Cell = str | int | float | date | None


@dataclass(frozen=True)
class Value:
    """A value and how to write it: a count, a rate, money, a change, a day, an event name."""

    kind: Kind
    value: Cell


def show(kind: Kind, value: Cell, t: Translator, fmt: Formatter) -> str:
    """One value as text in the translator's locale; "–" when there is no value."""
    if value is None:
        return "–"
    if kind == "int" and isinstance(value, int | float):
        return fmt.number(float(value))
    if kind == "pct" and isinstance(value, int | float):
        return fmt.percent(float(value))
    if kind == "money" and isinstance(value, int | float):
        return fmt.money(float(value))
    if kind == "change" and isinstance(value, int | float):
        return fmt.change(float(value))
    if kind == "points" and isinstance(value, int | float):
        return t("report.points", n=fmt.number(float(value) * 100, 1))
    if kind == "ratio" and isinstance(value, int | float):
        return fmt.number(float(value), 2)
    if kind == "date" and isinstance(value, date):
        return fmt.date(value)
    if kind == "day" and isinstance(value, date):
        return fmt.short_date(value)
    if kind == "event":
        return t.get(f"report.event.{value}", str(value))
    if kind == "channel":
        return t.get(f"channel.{value}", str(value))
    if kind == "kpi":
        return t(f"report.kpi.{value}")
    if kind == "term":
        return t.get(f"report.term.{value}", str(value))
    return str(value)


@dataclass(frozen=True)
class Finding:
    """A sentence from the catalogue (`report.finding.*`) filled with the numbers behind it."""

    key: str
    values: dict[str, Value] = field(default_factory=dict)

    def text(self, t: Translator, fmt: Formatter) -> str:
        """The finding in the translator's language."""
        args = {name: show(v.kind, v.value, t, fmt) for name, v in self.values.items()}
        return t(f"report.finding.{self.key}", **args)


@dataclass(frozen=True)
class Table:
    """Rows under columns; `columns` are catalogue keys (`report.col.*`), `kinds` say how to
    write each column's cells (or `row_kinds`, per row, when rows hold different measures)."""

    columns: tuple[str, ...]
    kinds: tuple[Kind, ...]
    rows: tuple[tuple[Cell, ...], ...]
    row_kinds: tuple[tuple[Kind, ...], ...] | None = None

    def kinds_of(self, index: int) -> tuple[Kind, ...]:
        """How to write the cells of row `index`."""
        return self.row_kinds[index] if self.row_kinds is not None else self.kinds

    def header(self, t: Translator) -> list[str]:
        """Column titles in the translator's language."""
        return [t(f"report.col.{c}") for c in self.columns]

    def shown(self, t: Translator, fmt: Formatter) -> list[list[str]]:
        """Every cell as text."""
        return [
            [show(k, v, t, fmt) for k, v in zip(self.kinds_of(i), row, strict=True)]
            for i, row in enumerate(self.rows)
        ]


@dataclass(frozen=True)
class Chart:
    """A bar or line chart: x labels (values of kind `x_kind`) and named series."""

    type: Literal["bar", "line"]
    x_kind: Kind
    x: tuple[Cell, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    """(catalogue key of the series name under `report.col.`, values)."""
    percent: bool = False


@dataclass(frozen=True)
class Section:
    """One part of a report: its findings (the first one leads), a table, maybe a chart, the
    names of the specs its numbers come from, and `facts` (the key numbers, for checks)."""

    key: str
    findings: tuple[Finding, ...]
    table: Table
    specs: tuple[str, ...]
    chart: Chart | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def title(self, t: Translator) -> str:
        """The section's heading."""
        return t(f"report.section.{self.key}")


class Report(Protocol):
    """What every report offers the renderers (HTML, PDF, XLSX, email)."""

    @property
    def project(self) -> str: ...

    @property
    def as_of(self) -> datetime: ...

    @property
    def timezone(self) -> str: ...

    @property
    def sections(self) -> tuple[Section, ...]: ...

    @property
    def file_stem(self) -> str:
        """The download's file name without suffix."""
        ...

    def heading(self, t: Translator, fmt: Formatter) -> tuple[str, str]:
        """Title and subtitle in the translator's language."""
        ...

    def recipe(self) -> dict[str, Any]:
        """The data window and the specs, to make the same numbers again."""
        ...
