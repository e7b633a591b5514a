"""Accounts and the referral programme: user numbers in signup order, inviters, rewards."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from growthloop.demo import business as b
from growthloop.demo.population import Sessions

INVITE_LEAD_US = 10 * 60 * 1_000_000  # an invitation is sent at least 10 minutes before it is used
REWARD_DELAY_US = 45 * 60 * 1_000_000  # the inviter's reward lands after the invitee's session
REFERRAL_POINTS = 200


@dataclass(frozen=True)
class Accounts:
    """user_number per visitor (0 = never signed up); inviter per session (-1 = none)."""

    user_number: NDArray[np.int64]
    inviter: NDArray[np.int64]  # visitor index of the inviter, on the invitee's first session
    reward_visitor: NDArray[np.int64]  # inviter of each referral reward
    reward_us: NDArray[np.int64]  # when the reward is credited


def make_accounts(rng: np.random.Generator, s: Sessions, n_visitors: int) -> Accounts:
    """Number accounts by signup time and give each invited visitor an inviter.

    An invited visitor's inviter is someone who sent an invitation (an `invite_sent` session) at
    least INVITE_LEAD_US earlier, recent senders being likelier; an invited visitor with no earlier
    invitation anywhere is re-labelled a direct visitor (this happens only in the first days).
    """
    signups = np.flatnonzero(s.signup)
    order = signups[np.argsort(s.start_us[signups], kind="stable")]
    user_number = np.zeros(n_visitors, dtype=np.int64)
    user_number[s.visitor[order]] = np.arange(1, len(order) + 1)

    senders = np.flatnonzero(s.invite)
    senders = senders[np.argsort(s.start_us[senders], kind="stable")]
    invitees = np.flatnonzero(s.first & (s.source == b.SOURCE_INDEX["invite"]))
    before = np.searchsorted(s.start_us[senders], s.start_us[invitees] - INVITE_LEAD_US)
    known = before > 0
    s.source[invitees[~known]] = b.SOURCE_INDEX["direct"]
    invitees, before = invitees[known], before[known]
    pick = np.floor(before * np.sqrt(rng.random(len(before)))).astype(np.int64)
    inviter_session = senders[np.minimum(pick, before - 1)]
    inviter = np.full(len(s), -1, dtype=np.int64)
    inviter[invitees] = s.visitor[inviter_session]
    return Accounts(
        user_number=user_number,
        inviter=inviter,
        reward_visitor=s.visitor[inviter_session],
        reward_us=s.start_us[invitees] + REWARD_DELAY_US,
    )
