"""Date ranges and time buckets in the project time zone.

Events store naive UTC timestamps. A range is resolved to UTC bounds in Python (so the filter is a
plain comparison the engine can prune on), and bucketing converts UTC to local wall time with the
zone's UTC offsets over the range, written as Ibis arithmetic so every backend runs it alike.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from growthloop.analytics.spec import DateRange, Interval

_RELATIVE = re.compile(r"^-(\d+)([hdwmy])$")
_NAMED = ("today", "yesterday", "this week", "last week", "this month", "last month", "this year")


@dataclass(frozen=True)
class ResolvedRange:
    """A date range as local wall-clock bounds [start, end) and the matching naive UTC bounds."""

    start: datetime
    end: datetime
    start_utc: datetime
    end_utc: datetime
    tz: ZoneInfo

    def previous(self) -> ResolvedRange:
        """The period of the same length that ends where this one starts."""
        length = self.end_utc - self.start_utc
        start_utc = self.start_utc - length
        return ResolvedRange(
            local_from_utc(start_utc, self.tz),
            self.start,
            start_utc,
            self.start_utc,
            self.tz,
        )


def utc_from_local(local: datetime, tz: ZoneInfo) -> datetime:
    """Naive local wall time -> naive UTC."""
    return local.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def local_from_utc(utc: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC -> naive local wall time."""
    return utc.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _named_period(name: str, today: date) -> tuple[date, date | None]:
    """Start day and exclusive end day (None: up to now) of a named period."""
    monday = today - timedelta(days=today.weekday())
    periods: dict[str, tuple[date, date | None]] = {
        "today": (today, None),
        "yesterday": (today - timedelta(days=1), today),
        "this week": (monday, None),
        "last week": (monday - timedelta(days=7), monday),
        "this month": (_month_start(today), None),
        "last month": (_month_start(today, 1), _month_start(today)),
        "this year": (date(today.year, 1, 1), None),
    }
    return periods[name]


def _relative_start(value: str, now: datetime) -> datetime:
    match = _RELATIVE.match(value)
    if not match:
        raise ValueError(value)
    n, unit = int(match.group(1)), match.group(2)
    midnight = datetime.combine(now.date(), time())
    if unit == "h":
        return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=n)
    if unit == "d":
        return midnight - timedelta(days=n)
    if unit == "w":
        return midnight - timedelta(weeks=n)
    first = _month_start(now.date(), n * (12 if unit == "y" else 1))
    last_day = calendar.monthrange(first.year, first.month)[1]
    return datetime.combine(first.replace(day=min(now.day, last_day)), time())


def _absolute(value: str, *, end: bool) -> datetime:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time())
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a date: use YYYY-MM-DD, an ISO date-time, a relative date such"
            f" as -7d / -24h / -4w / -3m / -1y, or one of: {', '.join(_NAMED)}"
        ) from exc
    if parsed.tzinfo is not None:
        raise ValueError(f"{value!r}: give local wall time without an offset")
    return parsed


def resolve_range(spec: DateRange, tz: ZoneInfo, now_utc: datetime) -> ResolvedRange:
    """Resolve a DateRange against `now_utc` (naive UTC) in time zone `tz`."""
    now = local_from_utc(now_utc, tz)
    end: datetime | None = None
    if spec.date_from in _NAMED:
        start_day, end_day = _named_period(spec.date_from, now.date())
        start = datetime.combine(start_day, time())
        end = datetime.combine(end_day, time()) if end_day else None
    elif _RELATIVE.match(spec.date_from):
        start = _relative_start(spec.date_from, now)
    else:
        start = _absolute(spec.date_from, end=False)
    if spec.date_to is not None:
        if spec.date_to in _NAMED:
            _, end_day = _named_period(spec.date_to, now.date())
            end = datetime.combine(end_day, time()) if end_day else now
        elif _RELATIVE.match(spec.date_to):
            end = _relative_start(spec.date_to, now)
        else:
            end = _absolute(spec.date_to, end=True)
    if end is None:
        end = now
    if end <= start:
        raise ValueError(f"date range is empty: {start} is not before {end} ({tz.key})")
    return ResolvedRange(start, end, utc_from_local(start, tz), utc_from_local(end, tz), tz)


def utc_offsets(tz: ZoneInfo, start_utc: datetime, end_utc: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) over [start_utc, end_utc], as (from_utc, offset) pieces."""

    def offset(at: datetime) -> int:
        delta = at.replace(tzinfo=UTC).astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    pieces = [(start_utc, offset(start_utc))]
    cursor = start_utc
    while cursor < end_utc:
        step = min(cursor + timedelta(days=1), end_utc)
        if offset(step) != pieces[-1][1]:
            lo, hi = cursor, step  # offset(lo) is the current piece's, offset(hi) differs
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid <= lo:
                    break
                if offset(mid) == pieces[-1][1]:
                    lo = mid
                else:
                    hi = mid
            pieces.append((hi, offset(hi)))
        cursor = step
    return pieces


def to_local(ts: ir.TimestampValue, rng: ResolvedRange) -> ir.TimestampValue:
    """UTC timestamps -> local wall time over the range (one piece per UTC offset in force)."""
    pieces = utc_offsets(rng.tz, rng.start_utc - timedelta(days=1), rng.end_utc + timedelta(days=1))
    local = ts + ibis.interval(seconds=pieces[-1][1])
    # Walk back from the last piece: before each switch instant the earlier offset applies.
    for (_, seconds), (switch_at, _) in reversed(list(itertools.pairwise(pieces))):
        local = ibis.ifelse(ts < switch_at, ts + ibis.interval(seconds=seconds), local)
    return local


_TRUNCATE_UNIT = {"hour": "h", "day": "D", "week": "W", "month": "M"}


def bucket(local_ts: ir.TimestampValue, interval: Interval) -> ir.TimestampValue:
    """Start of the hour/day/week (Monday)/month containing a local timestamp."""
    return local_ts.truncate(_TRUNCATE_UNIT[interval])


def bucket_start(moment: datetime, interval: Interval) -> datetime:
    """Python twin of `bucket`, for listing the buckets of a range."""
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = datetime.combine(moment.date(), time())
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: datetime, interval: Interval) -> datetime:
    """The bucket after `start` (a bucket start)."""
    if interval == "hour":
        return start + timedelta(hours=1)
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(weeks=1)
    return datetime.combine(_month_start(start.date() + timedelta(days=31)), time())


def buckets(rng: ResolvedRange, interval: Interval) -> list[datetime]:
    """Every bucket start that overlaps the range, in order."""
    out = []
    current = bucket_start(rng.start, interval)
    while current < rng.end:
        out.append(current)
        current = next_bucket(current, interval)
    return out
