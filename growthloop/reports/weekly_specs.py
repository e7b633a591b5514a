"""The analytics specs a weekly report runs, for one Monday-Sunday week.

Every number in the weekly report comes from one of these specs, run through
`growthloop.analytics` with "now" pinned to the end of the week; the report records the specs
(as JSON) and that moment, so anyone can run them again and get the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MAIN_FUNNEL = ("$pageview", "product_view", "add_to_cart", "checkout", "purchase")
FUNNEL_SEGMENT = "platform"
"""The event property the main funnel is broken down by to find where a step lost most."""
HISTORY_DAYS = 28
"""Days before the week that the anomaly baseline looks at."""
RETENTION_WEEKS = 6
"""Weekly signup cohorts shown: the report's week and the five before it."""

Spec = dict[str, Any]


@dataclass(frozen=True)
class Week:
    """A Monday-Sunday week in the project time zone."""

    start: date

    def __post_init__(self) -> None:
        if self.start.weekday() != 0:
            raise ValueError(f"a report week starts on a Monday; {self.start} is not one")

    @classmethod
    def containing(cls, day: date) -> Week:
        """The week that holds `day`."""
        return cls(day - timedelta(days=day.weekday()))

    @property
    def end(self) -> date:
        """The week's Sunday."""
        return self.start + timedelta(days=6)

    def previous(self) -> Week:
        """The week before."""
        return Week(self.start - timedelta(days=7))

    def as_of(self, tz: ZoneInfo) -> datetime:
        """The last (naive UTC) microsecond of the week: "now" for every spec of the report, so
        that retention cells of the weeks after it stay empty rather than count as 0."""
        midnight = datetime.combine(self.end + timedelta(days=1), time(), tz)
        return midnight.astimezone(UTC).replace(tzinfo=None) - timedelta(microseconds=1)


def _range(first: date, last: date) -> dict[str, str]:
    return {"date_from": first.isoformat(), "date_to": last.isoformat()}


def kpi_spec(week: Week) -> Spec:
    """Core KPIs per day of the week, with the previous week alongside (compare)."""
    revenue = {"key": "revenue", "type": "column"}
    return {
        "kind": "trends",
        "series": [
            {"math": "unique_users", "name": "visitors"},
            {"event": "signup", "math": "unique_users", "name": "new_users"},
            {"event": "purchase", "math": "total", "name": "orders"},
            {"event": "purchase", "math": "sum", "property": revenue, "name": "revenue"},
            {"event": "purchase", "math": "unique_users", "name": "buyers"},
        ],
        "interval": "day",
        "date_range": _range(week.start, week.end),
        "compare": True,
    }


def channel_spec(week: Week) -> Spec:
    """Visitors and new users by channel, this week and the previous one."""
    return {
        "kind": "trends",
        "series": [
            {"math": "unique_users", "name": "visitors"},
            {"event": "signup", "math": "unique_users", "name": "new_users"},
        ],
        "interval": "week",
        "date_range": _range(week.start, week.end),
        "breakdown": {"property": {"key": "channel", "type": "column"}, "limit": 12},
        "compare": True,
    }


def funnel_spec(week: Week) -> Spec:
    """The main funnel over one week, by platform; conversions within a day of the pageview."""
    return {
        "kind": "funnel",
        "steps": [{"event": name} for name in MAIN_FUNNEL],
        "window": {"value": 1, "unit": "day"},
        "date_range": _range(week.start, week.end),
        "breakdown": {"property": {"key": FUNNEL_SEGMENT}, "limit": 10},
    }


def retention_spec(week: Week) -> Spec:
    """Weekly cohorts of new signups and whether they came back (any event) in later weeks."""
    first = week.start - timedelta(weeks=RETENTION_WEEKS - 1)
    return {
        "kind": "retention",
        "start_event": {"event": "signup"},
        "return_event": {},
        "period": "week",
        "periods": RETENTION_WEEKS - 1,
        "cohort_type": "first_time",
        "date_range": _range(first, week.end),
    }


def content_spec(week: Week) -> Spec:
    """Shop visits from content posts (content_view) by post, this week and the previous one."""
    return {
        "kind": "trends",
        "series": [{"event": "content_view", "math": "total", "name": "content_visits"}],
        "interval": "week",
        "date_range": _range(week.start, week.end),
        "breakdown": {"property": {"key": "content_id"}, "limit": 10},
        "compare": True,
    }


def daily_spec(week: Week) -> Spec:
    """Tracked events and purchases per day: the week and the baseline days before it."""
    return {
        "kind": "trends",
        "series": [
            {"math": "total", "name": "events"},
            {"event": "purchase", "math": "total", "name": "orders"},
        ],
        "interval": "day",
        "date_range": _range(week.start - timedelta(days=HISTORY_DAYS), week.end),
    }


def experiments_spec(week: Week) -> Spec:
    """Users exposed to each experiment during the week."""
    return {
        "kind": "trends",
        "series": [{"event": "experiment_exposure", "math": "unique_users", "name": "exposed"}],
        "interval": "week",
        "date_range": _range(week.start, week.end),
        "breakdown": {"property": {"key": "experiment"}, "limit": 10},
    }


def experiment_funnel_spec(week: Week, experiment: str) -> Spec:
    """Exposure to `experiment`, then a purchase within a day, by variant."""
    exposed = {"key": "experiment", "operator": "=", "value": experiment}
    return {
        "kind": "funnel",
        "steps": [
            {"event": "experiment_exposure", "filters": [exposed]},
            {"event": "purchase"},
        ],
        "window": {"value": 1, "unit": "day"},
        "date_range": _range(week.start, week.end),
        "breakdown": {"property": {"key": "variant"}, "limit": 10},
    }
