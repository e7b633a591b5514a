"""Fetch CLV and churn inputs from a project's store: purchase days per buyer, active days per user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import numpy.typing as npt

from growthloop.models.clv import BG_NBD
from growthloop.models.errors import TOO_FEW, FloatArray, ModelInputError
from growthloop.models.repeat_purchases import CustomerSummary, summarise_purchases
from growthloop.models.rfm_data import LOCAL_DAY

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class BuyerSummary:
    """Buyers (person ids) and their repeat-purchase summary as of `as_of`."""

    as_of: date
    person_ids: npt.NDArray[np.str_]
    purchases: CustomerSummary


@dataclass(frozen=True)
class Activity:
    """Per user: active days, first and last active day (days since 1970-01-01, local)."""

    as_of: date
    person_ids: npt.NDArray[np.str_]
    active_days: FloatArray
    first_day: FloatArray
    last_day: FloatArray


def fetch_buyers(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, as_of: date, period_days: float = 7.0
) -> BuyerSummary:
    """Each buyer's orders up to `as_of` (local days, same-day orders merged) as x, t_x, T."""
    sql = f"""
        SELECT person_id, date_diff('day', DATE '1970-01-01', {LOCAL_DAY}) AS day,
               amount::DOUBLE AS amount
        FROM orders WHERE {LOCAL_DAY} <= CAST(? AS DATE) ORDER BY person_id
    """
    rows = con.execute(sql, [tz.key, tz.key, as_of]).fetchall()
    if not rows:
        raise ModelInputError(
            TOO_FEW.format(model=BG_NBD, minimum=1, unit=f"order up to {as_of}", got=0)
        )
    persons, days, amounts = zip(*rows, strict=True)
    ids, codes = np.unique(np.asarray(persons, dtype=str), return_inverse=True)
    summary = summarise_purchases(
        codes.ravel(), days, amounts, end_day=(as_of - EPOCH).days, period_days=period_days
    )
    return BuyerSummary(as_of, ids[summary.customers], summary)


def fetch_activity(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, as_of: date, since: date
) -> Activity:
    """Active days (any event) per identified or anonymous person within [since, as_of]."""
    sql = f"""
        WITH d AS (SELECT DISTINCT person_id,
                          date_diff('day', DATE '1970-01-01', {LOCAL_DAY}) AS day FROM events)
        SELECT person_id, count(*)::DOUBLE, min(day)::DOUBLE, max(day)::DOUBLE FROM d
        WHERE day BETWEEN ? AND ? GROUP BY person_id ORDER BY person_id
    """
    rows = con.execute(sql, [tz.key, (since - EPOCH).days, (as_of - EPOCH).days]).fetchall()
    if not rows:
        raise ModelInputError(
            TOO_FEW.format(
                model="churn warning", minimum=1, unit=f"active user in {since} .. {as_of}", got=0
            )
        )
    ids, n, first, last = zip(*rows, strict=True)
    return Activity(
        as_of,
        np.asarray(ids, dtype=str),
        np.asarray(n, dtype=np.float64),
        np.asarray(first, dtype=np.float64),
        np.asarray(last, dtype=np.float64),
    )
