"""What the growth-model endpoints share: model errors as 422, JSON-ready values, default periods."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
from fastapi import HTTPException, Query, Request

from growthloop.models.errors import ModelInputError
from growthloop.web.api.errors import http_errors
from growthloop.web.context import ProjectRef
from growthloop.web.insights import read_cursor
from growthloop.web.security import workspace_of

DEFAULT_PERIOD_DAYS = 90

AsOf = Query(default=None, description="Reference day (default: today, project time zone).")
Start = Query(default=None, description="First day (default: 89 days before `end`).")
End = Query(default=None, description="Last day (default: today, project time zone).")


def model_errors() -> AbstractContextManager[None]:
    """A model's refusal (ModelInputError) as 422 with the model's own message."""
    return http_errors(unprocessable=(ModelInputError,))


def today(request: Request) -> date:
    """Today in the project time zone."""
    return datetime.now(workspace_of(request).settings.tz).date()


def period(
    request: Request, start: date | None, end: date | None, *, complete_days: bool = False
) -> tuple[date, date]:
    """[start, end]: `end` defaults to today (yesterday, the last complete day, with
    `complete_days`), `start` to 89 days before; 422 when reversed."""
    last = end or today(request) - timedelta(days=1 if complete_days else 0)
    first = start or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first > last:
        raise HTTPException(422, f"start: {first} is after end {last}")
    return first, last


@dataclasses.dataclass(frozen=True)
class Store:
    """A cursor on the project's events with the project's time zone and currency."""

    cursor: duckdb.DuckDBPyConnection
    tz: ZoneInfo
    currency: str


@contextmanager
def store_of(request: Request, project: ProjectRef) -> Iterator[Store]:
    """The project's event store for one request, with model errors as 422."""
    settings = workspace_of(request).settings
    with read_cursor(project.store) as cursor, model_errors():
        yield Store(cursor, settings.tz, settings.currency)


def plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts, numpy as Python, dates as ISO strings, NaN/inf as None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
        for name in dir(type(value)):
            if not name.startswith("_") and isinstance(getattr(type(value), name), property):
                out[name] = plain(getattr(value, name))
        return out
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, date):
        return value.isoformat()
    return value
