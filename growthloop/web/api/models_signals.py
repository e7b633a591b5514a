"""Anomalies (数据异常), content performance (内容效果) and goal pacing (目标达成) over the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from growthloop.models import anomalies, content
from growthloop.models.alert_rules import EVENTS, METRICS
from growthloop.models.alert_rules_run import daily_series as alert_series
from growthloop.models.content_data import fetch_content
from growthloop.models.kpi_series_data import DailySeries, fetch_pacing_actuals
from growthloop.models.pacing import pace
from growthloop.web.api.models_common import AsOf, End, Start, Store, period, plain, store_of, today
from growthloop.web.context import CurrentProject
from growthloop.web.security import Viewer

router = APIRouter()


def daily_series(
    store: Store, metric: str, start: date, end: date, event: str | None = None
) -> DailySeries:
    """A metric's daily values: "events" (tracked event volume, or one event's) or an overview KPI."""
    return alert_series(store.cursor, store.tz, store.currency, metric, start, end, event)


def anomalies_result(
    store: Store,
    metric: str,
    start: date,
    end: date,
    event: str | None = None,
    threshold: float = anomalies.DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Each day with its expected value and range; the flagged days with direction and severity."""
    series = daily_series(store, metric, start, end, event)
    check = anomalies.detect(
        series.values, [d.weekday() for d in series.dates], threshold=threshold
    )
    days = [
        {
            "day": d,
            "value": series.values[i],
            "checked": bool(check.checked[i]),
            "expected": check.expected[i] if check.checked[i] else None,
            "low": check.low[i] if check.checked[i] else None,
            "high": check.high[i] if check.checked[i] else None,
            "score": check.score[i] if check.checked[i] else None,
        }
        for i, d in enumerate(series.dates)
    ]
    flagged = [
        {"day": series.dates[a.index], **plain(a)}
        for a in sorted(check.anomalies, key=lambda a: series.dates[a.index], reverse=True)
    ]
    return plain(  # type: ignore[no-any-return]
        {
            "metric": metric,
            "event": event,
            "start": start,
            "end": end,
            "threshold": threshold,
            "days": days,
            "anomalies": flagged,
        }
    )


def content_result(store: Store, start: date, end: date) -> dict[str, Any]:
    """Per item, per channel x format, per topic; hits; best slots; title keywords."""
    items = fetch_content(store.cursor, store.tz, start, end)
    found = set(content.hits(items))
    by_id = {i.item_id: i for i in items}
    per_item = [
        {
            **plain(p),
            "item_id": p.key[0],
            "title": by_id[p.key[0]].title,
            "channel": by_id[p.key[0]].channel,
            "format": by_id[p.key[0]].format,
            "first_day_views": by_id[p.key[0]].first_day_views,
            "hit": p.key[0] in found,
        }
        for p in content.per_item(items)
    ]
    return plain(  # type: ignore[no-any-return]
        {
            "start": start,
            "end": end,
            "items": per_item,
            "groups": content.per_group(items),
            "topics": content.per_topic(items),
            "hits": sorted(found),
            "best_slots": content.best_slots(items),
            "keywords": content.keywords(items),
        }
    )


def pacing_result(
    store: Store, kpi: str, start: date, end: date, target: float, as_of: date
) -> dict[str, Any]:
    """Actual to date, linear pace, forecast, gap and the daily rate needed."""
    series, days = fetch_pacing_actuals(
        store.cursor, store.tz, store.currency, kpi, (start, end), as_of
    )
    goal = pace(target, series.values, days)
    return plain(  # type: ignore[no-any-return]
        {
            "kpi": kpi,
            "start": start,
            "end": end,
            "as_of": as_of,
            **plain(goal),
            "daily": [
                {"day": d, "value": v} for d, v in zip(series.dates, series.values, strict=True)
            ],
        }
    )


@router.get("/anomalies")
def get_anomalies(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    metric: str = Query(default=EVENTS, description=f"One of {', '.join(METRICS)}."),
    event: str | None = Query(default=None, description="With metric=events: one event name."),
    start: date | None = Start,
    end: date | None = End,
    threshold: float = Query(default=anomalies.DEFAULT_THRESHOLD, gt=0, le=100),
) -> dict[str, Any]:
    """A daily series checked against its weekday-seasonal robust baseline (default: the 90 days
    up to yesterday; today is not complete yet)."""
    first, last = period(request, start, end, complete_days=True)
    with store_of(request, project) as store:
        return anomalies_result(store, metric, first, last, event, threshold)


@router.get("/content")
def get_content(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = Start,
    end: date | None = End,
) -> dict[str, Any]:
    """Content items published in the period: engagement, conversion, hits, slots, keywords."""
    first, last = period(request, start, end)
    with store_of(request, project) as store:
        return content_result(store, first, last)


@router.get("/pacing")
def get_pacing(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    kpi: Annotated[str, Query(description="orders, gmv or new_users.")],
    start: Annotated[date, Query(description="The target period's first day.")],
    end: Annotated[date, Query(description="The target period's last day.")],
    target: Annotated[float, Query(description="The target for the whole period.")],
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """Goal pacing of a KPI target over a period."""
    with store_of(request, project) as store:
        day = as_of or min(today(request), end)
        return pacing_result(store, kpi, start, end, target, day)
