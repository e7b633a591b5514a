"""Stickiness (用户粘性): how many periods of a range people were active in, and the daily
active, weekly active and monthly active users with the DAU/MAU ratio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
from ibis import _

from growthloop.analytics.context import QueryContext
from growthloop.analytics.dates import ResolvedRange, bucket, buckets, to_local, utc_from_local
from growthloop.analytics.filters import all_filters
from growthloop.analytics.results import ResultTable, plain
from growthloop.analytics.spec import DateRange, EventSelector, Filter, SpecModel
from growthloop.analytics.validation import Rule, validate

WAU_DAYS, MAU_DAYS = 7, 30


class StickinessSpec(SpecModel):
    """Activity = doing `event` (any event if None) passing the filters."""

    kind: Literal["stickiness"] = "stickiness"
    event: EventSelector = EventSelector()
    interval: Literal["day", "week"] = "day"
    date_range: DateRange = DateRange(date_from="-30d")
    filters: tuple[Filter, ...] = ()


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

    def to_query(self, act: ir.Table | None = None) -> ir.Table:
        """Per person: in how many periods of the range they were active (0 rows excluded)."""
        act = self._active_days() if act is None else act
        act = act.filter((act.day >= self.days[0]) & (act.day < self.range.end))
        per_person = act.group_by("person_id").aggregate(n=act.period.nunique())
        return per_person.group_by("n").aggregate(people=per_person.count())

    def active_users_query(self, act: ir.Table | None = None) -> ir.Table:
        """Daily changes (dau, wau_change, mau_change) whose running sums are WAU and MAU.

        Each active day a of a person covers the days [a, a + 6] for WAU ([a, a + 29] for MAU),
        cut short where the person's next active day takes over, so one person's pieces never
        overlap: +1 where a piece starts, -1 after it ends, and a running sum counts people
        without a range join.
        """
        act = (self._active_days() if act is None else act).select("person_id", "day").distinct()
        following = act.day.lead().over(group_by="person_id", order_by="day")
        act = act.mutate(_next=following)
        pieces = []
        for column, days in (("wau", WAU_DAYS), ("mau", MAU_DAYS)):
            reach = act.day + ibis.interval(days=days)
            end = ibis.ifelse(act._next.isnull() | (act._next > reach), reach, act._next)
            zero = ibis.literal(0, "int64")
            other = "mau" if column == "wau" else "wau"
            pieces.append(act.select("day", **{column: ibis.literal(1, "int64"), other: zero}))
            pieces.append(act.select(day=end, **{column: ibis.literal(-1, "int64"), other: zero}))
        pieces.append(act.select("day", wau=ibis.literal(0, "int64"), mau=ibis.literal(0, "int64")))
        changes = ibis.union(*(p.select("day", "wau", "mau") for p in pieces))
        dau = act.group_by("day").aggregate(dau=act.count())
        summed = changes.group_by("day").aggregate(wau=changes.wau.sum(), mau=changes.mau.sum())
        return summed.left_join(dau, summed.day == dau.day).select(
            day=summed.day, dau=dau.dau.fill_null(0), wau=summed.wau, mau=summed.mau
        )

    def combined_query(self) -> ir.Table:
        """Both queries in one, so the engine derives the active days once (DuckDB materialises
        a subquery used twice): rows with `n` set are `to_query`'s, the others daily changes."""
        act = self._active_days()
        histogram = self.to_query(act).select(
            "n",
            "people",
            day=ibis.null("timestamp"),
            dau=ibis.null("int64"),
            wau=ibis.null("int64"),
            mau=ibis.null("int64"),
        )
        changes = self.active_users_query(act).select(
            n=ibis.null("int64"),
            people=ibis.null("int64"),
            day=_.day.cast("timestamp"),
            dau=_.dau.cast("int64"),
            wau=_.wau.cast("int64"),
            mau=_.mau.cast("int64"),
        )
        histogram = histogram.mutate(n=_.n.cast("int64"), people=_.people.cast("int64"))
        return histogram.union(changes)

    def calculate(self) -> StickinessResult:
        rows = self.ctx.execute(self.combined_query())
        counts = {int(r["n"]): int(r["people"]) for r in rows if r["n"] is not None}
        active_periods = tuple(counts.get(n, 0) for n in range(1, len(self.periods) + 1))
        changes = sorted((r for r in rows if r["n"] is None), key=lambda r: r["day"])
        by_day: dict[datetime, tuple[int, int, int]] = {}
        wau_now = mau_now = 0
        for row in changes:
            wau_now += int(row["wau"])
            mau_now += int(row["mau"])
            by_day[row["day"]] = (int(row["dau"]), wau_now, mau_now)
        dau, wau, mau, ratio = [], [], [], []
        current = (0, 0, 0)
        position = 0
        for day in self.days:
            # Carry the running sums forward over days without any change.
            while position < len(changes) and changes[position]["day"] <= day:
                current = by_day[changes[position]["day"]]
                position += 1
            d = current[0] if changes and position and changes[position - 1]["day"] == day else 0
            w, m = current[1], current[2]
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
