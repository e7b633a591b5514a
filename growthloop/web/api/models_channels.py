"""Channel models over the API: channel ROI (渠道效能), attribution (归因), budget mix (渠道组合优化)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request

from growthloop.models.attribution import DEFAULT_HALF_LIFE_DAYS, MODELS, attribute
from growthloop.models.attribution_data import DEFAULT_LOOKBACK_DAYS, fetch_paths
from growthloop.models.budget_mix import ResponseCurve, allocate, fit_response
from growthloop.models.budget_mix_data import fetch_channel_days
from growthloop.models.channel_roi import channel_roi, cohort_revenue_per_user
from growthloop.models.channel_roi_data import fetch_channel_counts
from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.web.api.models_common import End, Start, Store, period, plain, store_of
from growthloop.web.context import CurrentProject
from growthloop.web.security import Viewer

router = APIRouter()

CURRENT_DAYS = 28
# The smallest cohort of new users whose ROAS the "lowest ROAS" pick trusts.
MIN_COHORT = 30


def roi_result(
    store: Store,
    start: date,
    end: date,
    by_campaign: bool = False,
    activation_event: str = "signup",
) -> dict[str, Any]:
    """Per channel (and campaign): counts, CAC, ROAS, ROI, payback, rates; cohort revenue per user."""
    counts = fetch_channel_counts(
        store.cursor,
        store.tz,
        start,
        end,
        by_campaign=by_campaign,
        activation_event=activation_event,
    )
    rows: list[dict[str, Any]] = []
    for c in sorted(counts, key=lambda c: (-c.spend, -c.new_users, c.channel, c.campaign)):
        r = channel_roi(c)
        rows.append(
            {
                "channel": c.channel,
                "campaign": c.campaign,
                "spend": c.spend,
                "new_users": c.new_users,
                "activated_users": c.activated_users,
                "effective_users": c.effective_users,
                "paying_users": c.paying_users,
                "revenue": c.revenue,
                "cost_per_new_user": r.cost_per_new_user,
                "cac": r.cac,
                "roas": r.roas,
                "roi": r.roi,
                "payback_days": r.payback_days,
                "activation_rate": r.activation_rate,
                "effective_ratio": r.effective_ratio,
                "paying_rate": r.paying_rate,
                "revenue_per_new_user": r.revenue_per_new_user,
                "cohort_revenue_per_user": (cohort_revenue_per_user(c) if c.new_users else None),
                "notes": r.notes,
            }
        )
    # Retention channels (EDM, push) spend without acquiring anyone: they are judged by
    # attribution, not here.
    paid = [
        (float(r["roas"]), str(r["channel"]))
        for r in rows
        if r["roas"] is not None and r["new_users"] >= MIN_COHORT
    ]
    worst = min(paid)[1] if paid else None
    return plain(  # type: ignore[no-any-return]
        {
            "start": start,
            "end": end,
            "by_campaign": by_campaign,
            "channels": rows,
            "lowest_roas": worst,
        }
    )


def attribution_result(
    store: Store,
    start: date,
    end: date,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> dict[str, Any]:
    """Conversions and revenue credited per channel by all six models, side by side."""
    paths = fetch_paths(store.cursor, store.tz, start, end, lookback_days=lookback_days)
    got = attribute(paths.paths, half_life_days)
    order = np.argsort(-got.revenue["linear"], kind="stable")
    return plain(  # type: ignore[no-any-return]
        {
            "start": start,
            "end": end,
            "lookback_days": lookback_days,
            "half_life_days": got.half_life_days,
            "models": MODELS,
            "converting_paths": got.converting_paths,
            "orders_without_touches": paths.orders_without_touches,
            "channels": [
                {
                    "channel": got.channels[i],
                    "conversions": {m: got.conversions[m][i] for m in MODELS},
                    "revenue": {m: got.revenue[m][i] for m in MODELS},
                    "removal_effect": got.removal_effects[i],
                }
                for i in order
            ],
        }
    )


def budget_mix_result(
    store: Store,
    start: date,
    end: date,
    budget: float | None = None,
    lower: float = 0.5,
    upper: float = 2.0,
) -> dict[str, Any]:
    """Fitted curves (or each channel's refusal), the allocation, marginal returns and shifts."""
    curves: list[ResponseCurve] = []
    current: list[float] = []
    refused: list[dict[str, str]] = []
    for ch in fetch_channel_days(store.cursor, store.tz, start, end):
        try:
            curve = fit_response(ch.channel, ch.spend, ch.conversions)
        except ModelInputError as exc:
            refused.append({"channel": ch.channel, "reason": str(exc)})
            continue
        now = float(ch.spend[-CURRENT_DAYS:].mean())
        if now <= 0:
            refused.append(
                {
                    "channel": ch.channel,
                    "reason": f"{ch.channel}: no spend in the last {CURRENT_DAYS} days",
                }
            )
            continue
        curves.append(curve)
        current.append(now)
    if not curves:
        reasons = "; ".join(r["reason"] for r in refused) or "no channel with spend"
        raise ModelInputError(f"the budget mix cannot be fitted for any channel: {reasons}")
    if not 0 < lower <= 1 <= upper:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="lower / upper", rule="0 < lower <= 1 <= upper", value=(lower, upper)
            )
        )
    mix = allocate(curves, current, budget, (lower, upper))
    return plain(  # type: ignore[no-any-return]
        {
            "start": start,
            "end": end,
            "current_days": CURRENT_DAYS,
            "budget": float(mix.current.sum()) if budget is None else budget,
            "current_conversions": mix.current_conversions,
            "expected_conversions": mix.expected_conversions,
            "channels": [
                {
                    "channel": c.channel,
                    "fit": {
                        "decay": c.decay,
                        "base": c.base,
                        "beta": c.beta,
                        "half_saturation": c.half_saturation,
                        "r_squared": c.r_squared,
                        "days": c.days,
                    },
                    "notes": c.notes,
                    "current": mix.current[i],
                    "recommended": mix.recommended[i],
                    "shift": mix.shift[i],
                    "lower": mix.lower[i],
                    "upper": mix.upper[i],
                    "marginal_current": mix.marginal_current[i],
                    "marginal_recommended": mix.marginal_recommended[i],
                }
                for i, c in enumerate(curves)
            ],
            "refused": refused,
        }
    )


@router.get("/channel-roi")
def get_channel_roi(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = Start,
    end: date | None = End,
    by_campaign: bool = Query(default=False, description="One row per channel and campaign."),
    activation_event: str = Query(default="signup", min_length=1, max_length=200),
) -> dict[str, Any]:
    """Spend, new/activated/effective/paying users, revenue, CAC, ROAS, ROI, payback per channel."""
    first, last = period(request, start, end)
    with store_of(request, project) as store:
        return roi_result(store, first, last, by_campaign, activation_event)


@router.get("/attribution")
def get_attribution(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = Start,
    end: date | None = End,
    lookback_days: int = Query(default=DEFAULT_LOOKBACK_DAYS, ge=1, le=365),
    half_life_days: float = Query(default=DEFAULT_HALF_LIFE_DAYS, gt=0, le=365),
) -> dict[str, Any]:
    """First/last touch, linear, time decay, position based and Markov credit per channel."""
    first, last = period(request, start, end)
    with store_of(request, project) as store:
        return attribution_result(store, first, last, lookback_days, half_life_days)


@router.get("/budget-mix")
def get_budget_mix(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = Start,
    end: date | None = End,
    budget: float | None = Query(default=None, gt=0, description="Daily total; default: current."),
    lower: float = Query(default=0.5, description="Lowest multiple of a channel's current spend."),
    upper: float = Query(default=2.0, description="Highest multiple of a channel's current spend."),
) -> dict[str, Any]:
    """Response curves per paid channel, the recommended daily spend, marginal returns, refusals."""
    first, last = period(request, start, end, complete_days=True)
    with store_of(request, project) as store:
        return budget_mix_result(store, first, last, budget, lower, upper)
