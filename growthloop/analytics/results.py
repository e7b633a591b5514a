"""What every analysis result offers: a JSON-ready dict and a flat table (for CLI, CSV, reports)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class ResultTable:
    """Rows of plain values under named columns."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


class AnalysisResult(Protocol):
    """A typed result: frozen dataclass with a `kind`, a flat `table()` view and `to_dict()`."""

    @property
    def kind(self) -> str: ...

    def table(self) -> ResultTable: ...

    def to_dict(self) -> dict[str, Any]: ...


def plain(value: Any) -> Any:
    """A result value as JSON-ready Python: dates as ISO text, NaN as None, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def as_float(value: Any) -> float | None:
    """A number from the engine as float (None for null/NaN)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
