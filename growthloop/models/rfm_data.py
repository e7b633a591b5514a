"""Fetch RFM inputs from a project's orders: one row per customer as of a reference date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import numpy.typing as npt

from growthloop.models.errors import TOO_FEW, ModelInputError
from growthloop.models.rfm import MODEL, RfmInput

# The order's day in the project time zone; timestamps are stored as naive UTC.
LOCAL_DAY = "CAST(timezone(?, timestamp AT TIME ZONE 'UTC') AS DATE)"


@dataclass(frozen=True)
class CustomerRfm:
    """Customers (person ids) and their RFM input as of `as_of`."""

    as_of: date
    person_ids: npt.NDArray[np.str_]
    data: RfmInput


def fetch_rfm(
    con: duckdb.DuckDBPyConnection, tz: ZoneInfo, as_of: date, since: date | None = None
) -> CustomerRfm:
    """Recency (days before `as_of`), order count and amount per customer.

    Counts the orders whose local day lies in [since, as_of] (all history when `since` is None);
    recency 0 means the last order fell on `as_of`.
    """
    sql = f"""
        WITH o AS (SELECT person_id, {LOCAL_DAY} AS day, amount FROM orders)
        SELECT person_id, date_diff('day', max(day), CAST(? AS DATE)) AS recency,
               count(*) AS frequency, sum(amount)::DOUBLE AS monetary
        FROM o WHERE day <= CAST(? AS DATE) AND day >= CAST(? AS DATE)
        GROUP BY person_id ORDER BY person_id
    """
    rows = con.execute(sql, [tz.key, as_of, as_of, since or date.min]).fetchall()
    if not rows:
        window = f"{since} .. {as_of}" if since else f"up to {as_of}"
        raise ModelInputError(TOO_FEW.format(model=MODEL, minimum=1, unit=f"order {window}", got=0))
    ids, recency, frequency, monetary = zip(*rows, strict=True)
    return CustomerRfm(as_of, np.asarray(ids, dtype=str), RfmInput.of(recency, frequency, monetary))
