"""Goal periods and targets: pure functions, no database and no event store.

- Periods are whole local days: a quarter starts on Jan/Apr/Jul/Oct 1, a month on its 1st, a
  week on a Monday.
- Splitting a target over parts (months of a quarter) is proportional to weights (days in each
  part, or last year's actuals for the same parts), rounded to `decimals` by the largest
  remainder method so the parts add up to the target exactly.
- A missing child target is derived from its parent and siblings: the quotient of a product
  (conversion rate = GMV / (visitors x AOV)), the remainder of a sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal

PeriodKind = Literal["quarter", "month", "week"]
PERIOD_KINDS: tuple[str, ...] = ("quarter", "month", "week")
Combine = Literal["product", "sum"]


class TargetError(ValueError):
    """A period or target that cannot be used; the message says which value and why."""


@dataclass(frozen=True)
class GoalPeriod:
    """A quarter, month or week: [start, end], both days included."""

    kind: str
    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def elapsed_days(self, as_of: date) -> int:
        """Days of the period up to and including `as_of` (0 before it starts)."""
        if as_of < self.start:
            return 0
        return (min(as_of, self.end) - self.start).days + 1


def _month_end(start: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def period_of(kind: str, start: date) -> GoalPeriod:
    """The period of `kind` that starts on `start`; TargetError when `start` cannot start one."""
    if kind == "quarter":
        if start.day != 1 or start.month not in (1, 4, 7, 10):
            raise TargetError(f"period_start: a quarter starts on Jan/Apr/Jul/Oct 1, not {start}")
        end = _month_end(date(start.year, start.month + 2, 1))
    elif kind == "month":
        if start.day != 1:
            raise TargetError(f"period_start: a month starts on its 1st, not {start}")
        end = _month_end(start)
    elif kind == "week":
        if start.weekday() != 0:
            raise TargetError(f"period_start: a week starts on a Monday, not {start}")
        end = start + timedelta(days=6)
    else:
        raise TargetError(f"period_kind: {kind!r} is not one of {', '.join(PERIOD_KINDS)}")
    return GoalPeriod(kind, start, end)


def period_containing(kind: str, day: date) -> GoalPeriod:
    """The quarter, month or week that contains `day`."""
    if kind == "quarter":
        return period_of(kind, date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    if kind == "month":
        return period_of(kind, day.replace(day=1))
    return period_of(kind, day - timedelta(days=day.weekday()))


def months_of(period: GoalPeriod) -> list[GoalPeriod]:
    """The months of a quarter, in order; TargetError for other periods."""
    if period.kind != "quarter":
        raise TargetError(f"period_kind: only a quarter splits into months, not a {period.kind}")
    return [
        period_of("month", date(period.start.year, period.start.month + i, 1)) for i in range(3)
    ]


def year_before(period: GoalPeriod) -> GoalPeriod:
    """The same period one year earlier (a week: the 52nd week before, still a Monday)."""
    if period.kind == "week":
        return period_of("week", period.start - timedelta(weeks=52))
    return period_of(period.kind, period.start.replace(year=period.start.year - 1))


def split_by_weights(total: float, weights: Sequence[float], decimals: int = 2) -> list[float]:
    """`total` in parts proportional to `weights`, rounded so that the parts add up to it.

    Largest remainder: each part is first rounded down to `decimals`; the units left over go one
    each to the parts with the largest remainders (the earlier part wins a tie).
    """
    if not weights:
        raise TargetError("weights: at least one part is needed")
    if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
        raise TargetError(f"weights: need non-negative numbers with a positive sum, got {weights}")
    if not math.isfinite(total) or total < 0:
        raise TargetError(f"target: need a non-negative number, got {total}")
    # Exact fractions: a tie between equal remainders must stay a tie, not a rounding accident.
    scale = 10**decimals
    units = round(Fraction(str(total)) * scale)
    weight_sum = sum(Fraction(str(w)) for w in weights)
    exact = [units * Fraction(str(w)) / weight_sum for w in weights]
    floors = [math.floor(e) for e in exact]
    left = units - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [f / scale for f in floors]


def split_by_days(total: float, parts: Sequence[GoalPeriod], decimals: int = 2) -> list[float]:
    """`total` over `parts` in proportion to their numbers of days."""
    return split_by_weights(total, [p.days for p in parts], decimals)


def derived_target(combine: str, parent_target: float, sibling_targets: Sequence[float]) -> float:
    """The one missing child target given the parent's and the other children's.

    product: parent / product(siblings); sum: parent - sum(siblings).
    """
    if combine == "sum":
        return parent_target - sum(sibling_targets)
    if combine == "product":
        divisor = math.prod(sibling_targets)
        if divisor == 0:
            raise TargetError("target: a sibling's target is 0, so the missing factor is undefined")
        return parent_target / divisor
    raise TargetError(f"combine: {combine!r} is not product or sum")
