"""RFM model (RFM模型): recency, frequency and monetary scores, segment maps and transitions.

Pure functions over per-customer arrays: `recency_days` (days from the last order to the
reference date, 0 = bought that day), `frequency` (orders) and `monetary` (amount paid). The data
come from `growthloop.models.rfm_data`; nothing here reads a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from growthloop.models.errors import (
    BAD_PARAMETER,
    EMPTY_INPUT,
    FloatArray,
    ModelInputError,
    as_float_array,
    check_non_negative,
    check_same_length,
)

IntArray = npt.NDArray[np.int64]
MODEL = "RFM"

# The 10-segment map over (R score, F score), as used by most RFM tools: rows R = 1..5,
# columns F = 1..5.
RF_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
)
_RF_GRID = (
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    ("new", "potential_loyalists", "potential_loyalists", "champions", "champions"),
)

# The 8-segment map common in Chinese operations teams: each of R, F, M is high or low against
# the customers' mean or median; the segment is keyed (R high, F high, M high).
VALUE_SEGMENTS = (
    "important_value",
    "important_development",
    "important_retention",
    "important_winback",
    "general_value",
    "general_development",
    "general_retention",
    "general_winback",
)
_VALUE_KEYS = {
    (True, True, True): "important_value",
    (True, False, True): "important_development",
    (False, True, True): "important_retention",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_development",
    (False, True, False): "general_retention",
    (False, False, False): "general_winback",
}

# The names the literature uses, for reports and documentation; the web pages translate the
# codes through the i18n catalogues.
SEGMENT_NAMES: dict[str, tuple[str, str]] = {
    "champions": ("Champions", "冠军客户"),
    "loyal": ("Loyal", "忠诚客户"),
    "potential_loyalists": ("Potential Loyalists", "潜在忠诚客户"),
    "new": ("New", "新客户"),
    "promising": ("Promising", "有潜力客户"),
    "need_attention": ("Need Attention", "需要关注"),
    "about_to_sleep": ("About to Sleep", "即将沉睡"),
    "at_risk": ("At Risk", "有流失风险"),
    "cant_lose": ("Can't Lose", "不能失去"),
    "hibernating": ("Hibernating", "休眠客户"),
    "important_value": ("Important value", "重要价值客户"),
    "important_development": ("Important development", "重要发展客户"),
    "important_retention": ("Important retention", "重要保持客户"),
    "important_winback": ("Important win-back", "重要挽留客户"),
    "general_value": ("General value", "一般价值客户"),
    "general_development": ("General development", "一般发展客户"),
    "general_retention": ("General retention", "一般保持客户"),
    "general_winback": ("General win-back", "一般挽留客户"),
}

# Row/column of a transition matrix for customers present at only one of the two dates.
NOT_A_CUSTOMER = "not_a_customer"

Threshold = Literal["mean", "median"]


@dataclass(frozen=True)
class RfmInput:
    """Per-customer recency (days), frequency (orders) and monetary (amount), checked."""

    recency_days: FloatArray
    frequency: FloatArray
    monetary: FloatArray

    @classmethod
    def of(cls, recency_days: object, frequency: object, monetary: object) -> RfmInput:
        """Validates the three arrays: same length, not empty, finite, R and F non-negative."""
        r = as_float_array(recency_days, "recency_days", MODEL)
        f = as_float_array(frequency, "frequency", MODEL)
        m = as_float_array(monetary, "monetary", MODEL)
        check_same_length(recency_days=r, frequency=f, monetary=m)
        check_non_negative(r, "recency_days", "an order after the reference date cannot count")
        check_non_negative(f, "frequency", "order counts are never negative")
        return cls(r, f, m)


@dataclass(frozen=True)
class RfmScores:
    """Scores 1-5 per customer (R 5 = most recent) and the quintile cut points used."""

    r: IntArray
    f: IntArray
    m: IntArray
    cut_points: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class SegmentRow:
    """One segment: customers, share of customers, revenue, share of revenue."""

    segment: str
    customers: int
    customer_share: float
    revenue: float
    revenue_share: float


@dataclass(frozen=True)
class Transitions:
    """Customers moving from the segments at one date (rows) to those at another (columns)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: IntArray

    def shares(self) -> FloatArray:
        """Each row as shares of the row's customers (0 for an empty row)."""
        totals = self.counts.sum(axis=1, keepdims=True)
        out: FloatArray = np.zeros(self.counts.shape, dtype=np.float64)
        np.divide(self.counts, totals, out=out, where=totals > 0)
        return out


def quintile_cut_points(values: FloatArray) -> tuple[float, ...]:
    """The 20th, 40th, 60th and 80th percentiles (linear interpolation between order statistics)."""
    return tuple(float(q) for q in np.percentile(values, [20, 40, 60, 80]))


def quintile_scores(
    values: FloatArray, *, lower_is_better: bool = False
) -> tuple[IntArray, tuple[float, ...]]:
    """Scores 1-5 by quintile; equal values always get the same score.

    A value scores 1 plus the number of cut points it exceeds (or, with `lower_is_better`, lies
    below), so heavy ties (most customers buy once) share one score instead of being split at
    random the way rank-based binning would.
    """
    cuts = quintile_cut_points(values)
    edges = np.asarray(cuts)
    if lower_is_better:
        above = (values[:, None] < edges[None, :]).sum(axis=1)
    else:
        above = (values[:, None] > edges[None, :]).sum(axis=1)
    return (1 + above).astype(np.int64), cuts


def score(data: RfmInput) -> RfmScores:
    """R, F and M scores by quintile; R is high for a recent last order."""
    r, r_cuts = quintile_scores(data.recency_days, lower_is_better=True)
    f, f_cuts = quintile_scores(data.frequency)
    m, m_cuts = quintile_scores(data.monetary)
    return RfmScores(r, f, m, {"recency_days": r_cuts, "frequency": f_cuts, "monetary": m_cuts})


def rf_segments(r: IntArray, f: IntArray) -> npt.NDArray[np.str_]:
    """The 10-segment R x F map (Champions ... Hibernating) as segment codes."""
    for name, s in (("r", r), ("f", f)):
        if s.size and (s.min() < 1 or s.max() > 5):
            raise ModelInputError(
                BAD_PARAMETER.format(name=name, rule="scores 1..5", value=s.min())
            )
    grid = np.asarray(_RF_GRID)
    return grid[np.asarray(r) - 1, np.asarray(f) - 1]


def value_segments(data: RfmInput, threshold: Threshold = "mean") -> npt.NDArray[np.str_]:
    """The 8-segment map (重要价值客户 ... 一般挽留客户) as segment codes.

    R is high when the recency is strictly below the customers' mean (or median) recency; F and
    M are high when strictly above theirs. Strict comparison keeps a median of one order from
    making every one-order customer "high".
    """
    if threshold not in ("mean", "median"):
        raise ModelInputError(
            BAD_PARAMETER.format(name="threshold", rule="'mean' or 'median'", value=repr(threshold))
        )
    centre = np.mean if threshold == "mean" else np.median
    r_high = data.recency_days < centre(data.recency_days)
    f_high = data.frequency > centre(data.frequency)
    m_high = data.monetary > centre(data.monetary)
    codes = np.empty(len(r_high), dtype=object)
    for key, code in _VALUE_KEYS.items():
        codes[(r_high == key[0]) & (f_high == key[1]) & (m_high == key[2])] = code
    return codes.astype(str)


def segment_summary(
    segments: npt.NDArray[np.str_], monetary: FloatArray, order: Sequence[str]
) -> tuple[SegmentRow, ...]:
    """Customers and revenue per segment, in `order` (segments with no customers included)."""
    if len(segments) == 0:
        raise ModelInputError(EMPTY_INPUT.format(what="segments", model="a segment summary"))
    check_same_length(segments=segments, monetary=monetary)
    unknown = sorted(set(np.unique(segments)) - set(order))
    if unknown:
        raise ModelInputError(
            BAD_PARAMETER.format(name="segments", rule=f"one of {list(order)}", value=unknown)
        )
    total_n = len(segments)
    total_revenue = float(monetary.sum())
    rows = []
    for code in order:
        mask = segments == code
        revenue = float(monetary[mask].sum())
        share = revenue / total_revenue if total_revenue else 0.0
        rows.append(SegmentRow(code, int(mask.sum()), int(mask.sum()) / total_n, revenue, share))
    return tuple(rows)


def segment_members(
    person_ids: Sequence[str], segments: Sequence[str], code: str
) -> tuple[str, ...]:
    """The ids of the customers in one segment (for saving it as a user segment for outreach)."""
    check_same_length(person_ids=np.asarray(person_ids), segments=np.asarray(segments))
    return tuple(p for p, s in zip(person_ids, segments, strict=True) if s == code)


def transitions(
    ids_from: Sequence[Any],
    segments_from: Sequence[str],
    ids_to: Sequence[Any],
    segments_to: Sequence[str],
    order: Sequence[str],
) -> Transitions:
    """Counts of customers by (segment at the first date, segment at the second date).

    A customer known at only one date is counted in the extra row or column `not_a_customer`
    (a customer whose first order falls between the two dates, or who left the window).
    """
    check_same_length(ids_from=np.asarray(ids_from), segments_from=np.asarray(segments_from))
    check_same_length(ids_to=np.asarray(ids_to), segments_to=np.asarray(segments_to))
    unknown = sorted((set(segments_from) | set(segments_to)) - set(order))
    if unknown:
        raise ModelInputError(
            BAD_PARAMETER.format(name="segments", rule=f"one of {list(order)}", value=unknown)
        )
    labels = (*order, NOT_A_CUSTOMER)
    index = {code: i for i, code in enumerate(labels)}
    before = dict(zip(ids_from, segments_from, strict=True))
    after = dict(zip(ids_to, segments_to, strict=True))
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for cid in before.keys() | after.keys():
        counts[index[before.get(cid, NOT_A_CUSTOMER)], index[after.get(cid, NOT_A_CUSTOMER)]] += 1
    return Transitions(labels, labels, counts)
