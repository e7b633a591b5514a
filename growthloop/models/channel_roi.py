"""Channel ROI (渠道效能): what each acquisition channel (and campaign) cost and brought back.

Pure: takes per-channel counts that SQL produces (`channel_roi_data`) and derives the ratios.
A channel's new users are the people first seen in the period through it; the activated,
effective and paying users and the revenue are those new users' (a cohort view: the revenue
an acquisition brings, not last-touch order credit).

- CAC (获客成本) = spend / paying users; cost per new user = spend / new users;
- ROAS = revenue / spend; ROI = (revenue - spend) / spend (revenue, not margin);
- payback period = the first day since acquisition on which the cohort's cumulative revenue
  reaches the spend;
- effective-user ratio (有效用户占比) = effective users / new users, effective meaning activated
  or back for a second session.

A ratio whose denominator is zero (no spend for an organic channel, no paying users) is None,
with a note saying why, never infinity or NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from growthloop.models.errors import BAD_PARAMETER, FloatArray, ModelInputError

NO_SPEND = "no spend recorded for {channel}: CAC, ROAS, ROI and payback need spend"
NO_PAYING = "no paying users from {channel}: CAC needs at least one"
NO_NEW_USERS = "no new users from {channel} in the period"
NOT_PAID_BACK = "{channel} has not paid back its spend within the {days} days observed"


@dataclass(frozen=True)
class ChannelCounts:
    """One channel's (or channel x campaign's) spend and its new users' outcomes.

    `cumulative_revenue[d]` is the cohort's revenue from acquisition to the end of day d after
    it (day 0 = the day of the first visit).
    """

    channel: str
    campaign: str
    spend: float
    new_users: int
    activated_users: int
    effective_users: int
    paying_users: int
    revenue: float
    cumulative_revenue: tuple[float, ...]

    def __post_init__(self) -> None:
        counts = (self.new_users, self.activated_users, self.effective_users, self.paying_users)
        if min(counts) < 0 or self.spend < 0 or max(counts[1:]) > self.new_users:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name=f"counts of {self.channel}",
                    rule="non-negative, with every subset of users at most the new users",
                    value=counts,
                )
            )


@dataclass(frozen=True)
class ChannelRoi:
    counts: ChannelCounts
    cost_per_new_user: float | None
    cac: float | None
    roas: float | None
    roi: float | None
    payback_days: int | None
    activation_rate: float | None
    effective_ratio: float | None
    paying_rate: float | None
    revenue_per_new_user: float | None
    notes: tuple[str, ...]


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def payback_days(cumulative_revenue: FloatArray, spend: float) -> int | None:
    """The first day whose cumulative revenue reaches the spend; None if it never does."""
    reached = np.flatnonzero(cumulative_revenue >= spend)
    return int(reached[0]) if reached.size else None


def channel_roi(counts: ChannelCounts) -> ChannelRoi:
    """The derived measures of one channel."""
    name = counts.channel + (f" / {counts.campaign}" if counts.campaign else "")
    notes = []
    if counts.new_users == 0:
        notes.append(NO_NEW_USERS.format(channel=name))
    payback = None
    if counts.spend == 0:
        notes.append(NO_SPEND.format(channel=name))
    else:
        if counts.paying_users == 0:
            notes.append(NO_PAYING.format(channel=name))
        payback = payback_days(
            np.asarray(counts.cumulative_revenue, dtype=np.float64), counts.spend
        )
        if payback is None:
            notes.append(NOT_PAID_BACK.format(channel=name, days=len(counts.cumulative_revenue)))
    roas = _ratio(counts.revenue, counts.spend)
    return ChannelRoi(
        counts=counts,
        cost_per_new_user=_ratio(counts.spend, counts.new_users) if counts.spend else None,
        cac=_ratio(counts.spend, counts.paying_users) if counts.spend else None,
        roas=roas,
        roi=None if roas is None else roas - 1,
        payback_days=payback,
        activation_rate=_ratio(counts.activated_users, counts.new_users),
        effective_ratio=_ratio(counts.effective_users, counts.new_users),
        paying_rate=_ratio(counts.paying_users, counts.new_users),
        revenue_per_new_user=_ratio(counts.revenue, counts.new_users),
        notes=tuple(notes),
    )


def cohort_revenue_per_user(counts: ChannelCounts) -> FloatArray:
    """Cumulative revenue per new user by day since acquisition (the channel's LTV curve)."""
    if counts.new_users == 0:
        raise ModelInputError(NO_NEW_USERS.format(channel=counts.channel))
    result: FloatArray = np.asarray(counts.cumulative_revenue, dtype=np.float64) / counts.new_users
    return result
