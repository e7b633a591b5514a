"""The content model's hits (爆款) for the weekly report's content section.

Hits are growthloop.models.content.hits over the posts published in the `HIT_WINDOW_DAYS` days
up to the week's Sunday — the default period of /models/content and GET /api/models/content —
so the report marks the same posts as hits as the model page does.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import duckdb

from growthloop.models import content
from growthloop.models.content_data import fetch_content
from growthloop.models.errors import ModelInputError
from growthloop.reports.weekly_specs import Week

HIT_WINDOW_DAYS = 90


def model_hits(con: duckdb.DuckDBPyConnection, tz: ZoneInfo, week: Week) -> frozenset[str]:
    """Item ids that are hits among the posts published in the 90 days up to the week's end;
    empty when no post was published then (or the project has no content tables' rows)."""
    first = week.end - timedelta(days=HIT_WINDOW_DAYS - 1)
    try:
        items = fetch_content(con, tz, first, week.end)
    except (ModelInputError, duckdb.CatalogException):
        return frozenset()
    return frozenset(content.hits(items))
