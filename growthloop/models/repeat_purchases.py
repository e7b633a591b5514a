"""From purchase rows to the per-customer summary BG/NBD and Gamma-Gamma use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from growthloop.models.clv import BG_NBD, RepeatSummary
from growthloop.models.errors import (
    BAD_PARAMETER,
    EMPTY_INPUT,
    FloatArray,
    ModelInputError,
    as_float_array,
    check_same_length,
)


@dataclass(frozen=True)
class CustomerSummary:
    """Customers (in order of their codes) with their repeat summary and spend.

    `mean_repeat_spend` is the mean amount of the repeat transactions (0 without repeats), the
    input of Gamma-Gamma; the first purchase is left out as in Fader, Hardie & Lee.
    """

    customers: npt.NDArray[np.int64]
    summary: RepeatSummary
    mean_repeat_spend: FloatArray
    total_spend: FloatArray


def summarise_purchases(
    customer: object, day: object, amount: object, *, end_day: int, period_days: float = 7.0
) -> CustomerSummary:
    """x, t_x and T per customer from purchase rows (customer code, day number, amount).

    Purchases on the same day are merged into one transaction; purchases after `end_day` are
    ignored; times are in units of `period_days` days (weeks by default), measured from each
    customer's first purchase, and T runs to `end_day`.
    """
    codes = np.asarray(customer, dtype=np.int64)
    days = as_float_array(day, "day", BG_NBD)
    money = as_float_array(amount, "amount", BG_NBD)
    check_same_length(customer=codes, day=days, amount=money)
    if period_days <= 0:
        raise ModelInputError(
            BAD_PARAMETER.format(name="period_days", rule="> 0", value=period_days)
        )
    keep = days <= end_day
    if not keep.any():
        raise ModelInputError(
            EMPTY_INPUT.format(what=f"purchases up to day {end_day}", model=BG_NBD)
        )
    codes, days, money = codes[keep], days[keep].astype(np.int64), money[keep]
    # One transaction per (customer, day), amounts added.
    pairs, inverse = np.unique(np.column_stack([codes, days]), axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=money, minlength=len(pairs))
    who, when = pairs[:, 0], pairs[:, 1]
    customers, start, count = np.unique(who, return_index=True, return_counts=True)
    # np.unique sorted the pairs by customer then day: a customer's first row is the first day.
    first = when[start]
    last = when[start + count - 1]
    total = np.add.reduceat(merged, start)
    first_amount = merged[start]
    x = (count - 1).astype(np.float64)
    repeat_spend = np.divide(total - first_amount, x, out=np.zeros_like(x), where=x > 0)
    summary = RepeatSummary.of(x, (last - first) / period_days, (end_day - first) / period_days)
    return CustomerSummary(customers, summary, repeat_spend, total)
