"""Stickiness (用户粘性): how many periods of a range people were active in, and the daily
active, weekly active and monthly active users with the DAU/MAU ratio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import ResolvedRange, bucket, buckets, to_local, utc_from_local
from growthloop.analytics.filters import all_filters
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import DateRange, EventSelector, PropertyFilter, SpecModel
from growthloop.analytics.validation import Rule, validate

WAU_DAYS, MAU_DAYS = 7, 30


class StickinessSpec(SpecModel):
    """Activity = doing `event` (any event if None) passing the filters."""

    kind: Literal["stickiness"] = "stickiness"
    event: EventSelector = EventSelector()
    interval: Literal["day", "week"] = "day"
    date_range: DateRange = DateRange(date_from="-30d")
    filters: tuple[PropertyFilter, ...] = ()


@dataclass(frozen=True)
class StickinessResult:
    interval: str
    active_periods: tuple[int, ...]
    """Index N-1: people active in exactly N periods (days or weeks) of the range."""
    days: tuple[datetime, ...]
    dau: tuple[int, ...]
    wau: tuple[int, ...]
    """People active in the 7 days ending on each day."""
    mau: tuple[int, ...]
    """People active in the 30 days ending on each day."""
    dau_mau: tuple[float | None, ...]
    kind: str = "stickiness"

    def table(self) -> ResultTable:
        rows = [
            (day, self.dau[i], self.wau[i], self.mau[i], self.dau_mau[i])
            for i, day in enumerate(self.days)
        ]
        return ResultTable(("day", "dau", "wau", "mau", "dau_mau"), tuple(rows))

    def to_dict(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]


class Stickiness:
    """Runs a StickinessSpec with two queries: periods active, and DAU/WAU/MAU per day."""

    rules: ClassVar[tuple[Rule[StickinessSpec], ...]] = ()

    def __init__(self, spec: StickinessSpec, ctx: QueryContext) -> None:
        validate(spec, self.rules)
        self.spec = spec
        self.ctx = ctx
        self.range = ctx.resolve(spec.date_range)
        self.days = buckets(self.range, "day")
        self.periods = buckets(self.range, spec.interval)
        lookback = self.days[0] - timedelta(days=MAU_DAYS - 1)
        self.scan = ResolvedRange(
            lookback,
            self.range.end,
            utc_from_local(lookback, self.range.tz),
            self.range.end_utc,
            self.range.tz,
        )

    def _active_days(self) -> ir.Table:
        spec, rng = self.spec, self.scan
        events = self.ctx.scoped_events(
            rng.start_utc, rng.end_utc, spec.filters, spec.event.filters
        )
        if spec.event.event is not None:
            events = events.filter(events.event == spec.event.event)
        if spec.event.filters:
            events = events.filter(all_filters(events, spec.event.filters))
        local = to_local(events.timestamp, rng)
        return events.select(
            "person_id", day=bucket(local, "day"), period=bucket(local, spec.interval)
        ).distinct()

    def to_query(self) -> ir.Table:
        """Per person: in how many periods of the range they were active (0 rows excluded)."""
        act = self._active_days()
        act = act.filter((act.day >= self.days[0]) & (act.day < self.range.end))
        per_person = act.group_by("person_id").aggregate(n=act.period.nunique())
        return per_person.group_by("n").aggregate(people=per_person.count())

    def active_users_query(self) -> ir.Table:
        """DAU, WAU and MAU for every day of the range."""
        act = self._active_days()
        days = ibis.memtable({"d": self.days}, schema={"d": "timestamp(6)"})
        joined = days.join(
            act, (act.day <= days.d) & (act.day > days.d - ibis.interval(days=MAU_DAYS))
        )
        week = joined.day > joined.d - ibis.interval(days=WAU_DAYS)
        return joined.group_by("d").aggregate(
            dau=joined.person_id.nunique(where=joined.day == joined.d),
            wau=joined.person_id.nunique(where=week),
            mau=joined.person_id.nunique(),
        )

    def calculate(self) -> StickinessResult:
        counts = {int(r["n"]): int(r["people"]) for r in self.ctx.execute(self.to_query())}
        active_periods = tuple(counts.get(n, 0) for n in range(1, len(self.periods) + 1))
        users = {r["d"]: r for r in self.ctx.execute(self.active_users_query())}
        dau, wau, mau, ratio = [], [], [], []
        for day in self.days:
            row = users.get(day, {})
            d, w, m = (int(row.get(k) or 0) for k in ("dau", "wau", "mau"))
            dau.append(d)
            wau.append(w)
            mau.append(m)
            ratio.append(d / m if m else None)
        return StickinessResult(
            self.spec.interval,
            active_periods,
            tuple(self.days),
            tuple(dau),
            tuple(wau),
            tuple(mau),
            tuple(ratio),
        )
