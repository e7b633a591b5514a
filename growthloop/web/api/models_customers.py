"""Customer models over the API: RFM (RFM模型), CLV and churn warning (客户终身价值 / 流失预警)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Query, Request

from growthloop.models import churn, clv, rfm
from growthloop.models.clv_data import EPOCH, BuyerSummary, fetch_activity, fetch_buyers
from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.models.rfm_data import CustomerRfm, fetch_rfm
from growthloop.web.api.models_common import AsOf, Store, plain, store_of, today
from growthloop.web.context import CurrentProject
from growthloop.web.security import Viewer

router = APIRouter()

SegmentMap = Literal["rf", "value"]
MAPS: dict[str, tuple[str, ...]] = {"rf": rfm.RF_SEGMENTS, "value": rfm.VALUE_SEGMENTS}


@dataclass(frozen=True)
class RfmView:
    """One date's scores and both segment maps."""

    customers: CustomerRfm
    scores: rfm.RfmScores
    rf: npt.NDArray[np.str_]
    value: npt.NDArray[np.str_]

    def segments(self, kind: SegmentMap) -> npt.NDArray[np.str_]:
        return self.rf if kind == "rf" else self.value


def rfm_view(
    store: Store, as_of: date, since: date | None = None, threshold: rfm.Threshold = "mean"
) -> RfmView:
    """Scores and segments of the customers with orders up to `as_of`."""
    data = fetch_rfm(store.cursor, store.tz, as_of, since)
    scores = rfm.score(data.data)
    return RfmView(
        data,
        scores,
        rfm.rf_segments(scores.r, scores.f),
        rfm.value_segments(data.data, threshold),
    )


def rfm_result(
    store: Store,
    as_of: date,
    since: date | None = None,
    threshold: rfm.Threshold = "mean",
    compare_to: date | None = None,
) -> dict[str, Any]:
    """Cut points, segment sizes and revenue shares of both maps; transitions from `compare_to`."""
    now = rfm_view(store, as_of, since, threshold)
    monetary = now.customers.data.monetary
    out: dict[str, Any] = {
        "as_of": as_of,
        "since": since,
        "threshold": threshold,
        "customers": len(now.customers.person_ids),
        "cut_points": now.scores.cut_points,
        "rf_segments": rfm.segment_summary(now.rf, monetary, rfm.RF_SEGMENTS),
        "value_segments": rfm.segment_summary(now.value, monetary, rfm.VALUE_SEGMENTS),
        "transitions": None,
    }
    if compare_to is not None:
        if compare_to >= as_of:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="compare_to", rule=f"before as_of {as_of}", value=compare_to
                )
            )
        before = rfm_view(store, compare_to, since, threshold)
        moves = rfm.transitions(
            before.customers.person_ids.tolist(),
            before.rf.tolist(),
            now.customers.person_ids.tolist(),
            now.rf.tolist(),
            rfm.RF_SEGMENTS,
        )
        out["transitions"] = {"from": compare_to, **plain(moves)}
    return plain(out)  # type: ignore[no-any-return]


def rfm_customers(
    view: RfmView, segment: str | None, kind: SegmentMap, limit: int
) -> list[dict[str, Any]]:
    """Per customer: recency, frequency, monetary, scores and both segments (one segment's only)."""
    if segment is not None and segment not in MAPS[kind]:
        raise ModelInputError(
            BAD_PARAMETER.format(name="segment", rule=f"one of {list(MAPS[kind])}", value=segment)
        )
    d, s = view.customers.data, view.scores
    rows: list[dict[str, Any]] = [
        {
            "person_id": str(p),
            "recency_days": float(d.recency_days[i]),
            "frequency": float(d.frequency[i]),
            "monetary": float(d.monetary[i]),
            "r": int(s.r[i]),
            "f": int(s.f[i]),
            "m": int(s.m[i]),
            "rf_segment": str(view.rf[i]),
            "value_segment": str(view.value[i]),
        }
        for i, p in enumerate(view.customers.person_ids)
        if segment is None or view.segments(kind)[i] == segment
    ]
    rows.sort(key=lambda r: (-float(r["monetary"]), str(r["person_id"])))
    return rows[:limit]


@dataclass(frozen=True)
class ClvView:
    """BG/NBD and Gamma-Gamma fitted on the buyers as of a day, with per-buyer predictions."""

    buyers: BuyerSummary
    bgnbd: clv.BgNbdParams
    gamma_gamma: clv.GammaGammaParams | None
    gamma_gamma_refused: str | None
    p_alive: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64] | None
    horizon_days: int
    months: int
    discount_rate: float
    notes: tuple[str, ...] = ()


NOT_COMPUTABLE = (
    "expected purchases and CLV could not be computed for {n} buyers: with a = {a:.4g} and "
    "b = {b:.4g} (drop-out heterogeneity not identified) the hypergeometric term overflows; "
    "P(alive) is still valid"
)


def clv_view(
    store: Store,
    as_of: date,
    horizon_days: int = 90,
    months: int = 12,
    discount_rate: float = 0.01,
) -> ClvView:
    """Fit both models on weeks; CLV over `months` periods of 30 days at `discount_rate` each."""
    buyers = fetch_buyers(store.cursor, store.tz, as_of)
    data = buyers.purchases.summary
    fit = clv.fit_bgnbd(data)
    alive = clv.p_alive(fit, data)
    notes: list[str] = []
    # With a and b on their bound, clv.expected_purchases can overflow to NaN (noted, not hidden).
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        expected = clv.expected_purchases(fit, data, horizon_days / 7)
    spend_fit: clv.GammaGammaParams | None = None
    refused: str | None = None
    value: npt.NDArray[np.float64] | None = None
    try:
        repeat = data.x > 0
        spend_fit = clv.fit_gamma_gamma(data.x[repeat], buyers.purchases.mean_repeat_spend[repeat])
        spend = clv.expected_spend(spend_fit, data.x, buyers.purchases.mean_repeat_spend)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            value = clv.lifetime_value(
                fit, data, spend, periods=months, period_length=30 / 7, discount_rate=discount_rate
            )
    except ModelInputError as exc:
        refused = str(exc)
    bad = int((~np.isfinite(expected)).sum())
    if bad:
        notes.append(NOT_COMPUTABLE.format(n=bad, a=fit.a, b=fit.b))
    return ClvView(
        buyers,
        fit,
        spend_fit,
        refused,
        alive,
        expected,
        value,
        horizon_days,
        months,
        discount_rate,
        tuple(notes),
    )


def clv_result(view: ClvView, limit: int) -> dict[str, Any]:
    """The fits and the buyers (most valuable first, by CLV when there is one, else spend)."""
    b = view.buyers
    rank = b.purchases.total_spend
    if view.value is not None and np.isfinite(view.value).all():
        rank = view.value
    order = np.lexsort((b.person_ids, -rank))[:limit]
    people = [person_row(view, int(i)) for i in order]
    return plain(  # type: ignore[no-any-return]
        {
            "as_of": b.as_of,
            "buyers": len(b.person_ids),
            "repeat_buyers": int((b.purchases.summary.x > 0).sum()),
            "time_unit": "week",
            "bgnbd": view.bgnbd,
            "gamma_gamma": view.gamma_gamma,
            "gamma_gamma_refused": view.gamma_gamma_refused,
            "horizon_days": view.horizon_days,
            "months": view.months,
            "discount_rate": view.discount_rate,
            "median_p_alive": float(np.median(view.p_alive)),
            "median_clv": None if view.value is None else float(np.median(view.value)),
            "notes": view.notes,
            "customers": people,
        }
    )


def person_row(view: ClvView, i: int) -> dict[str, Any]:
    """One buyer's history and predictions."""
    s = view.buyers.purchases.summary
    return {
        "person_id": str(view.buyers.person_ids[i]),
        "repeat_purchases": float(s.x[i]),
        "total_spend": float(view.buyers.purchases.total_spend[i]),
        "p_alive": float(view.p_alive[i]),
        "expected_purchases": float(view.expected[i]),
        "clv": None if view.value is None else float(view.value[i]),
    }


def churn_list(
    view: ClvView, value_quantile: float = 0.8, max_p_alive: float = 0.5
) -> tuple[churn.ChurnRisk, list[dict[str, Any]]]:
    """High spend to date and low P(alive), most valuable first."""
    risk = churn.churn_risk(
        view.buyers.purchases.total_spend,
        view.p_alive,
        value_quantile=value_quantile,
        max_p_alive=max_p_alive,
    )
    return risk, [person_row(view, int(i)) for i in risk.indices]


def behaviour(
    store: Store, as_of: date, days: int = 90, factor: float = 3.0, min_active_days: int = 3
) -> dict[str, Any]:
    """Users away for more than `factor` of their own gaps between active days (any event)."""
    if days < 2:
        raise ModelInputError(BAD_PARAMETER.format(name="days", rule="at least 2", value=days))
    act = fetch_activity(store.cursor, store.tz, as_of, as_of - timedelta(days=days - 1))
    late = churn.overdue(
        act.active_days,
        act.first_day,
        act.last_day,
        (as_of - EPOCH).days,
        factor=factor,
        min_active_days=min_active_days,
    )
    flagged = np.flatnonzero(late.flagged)
    flagged = flagged[np.lexsort((act.person_ids[flagged], -late.overdue_ratio[flagged]))]
    return plain(  # type: ignore[no-any-return]
        {
            "as_of": as_of,
            "days": days,
            "factor": factor,
            "users": len(act.person_ids),
            "with_cadence": int(late.has_cadence.sum()),
            "flagged": [
                {
                    "person_id": str(act.person_ids[i]),
                    "active_days": float(act.active_days[i]),
                    "last_active": EPOCH + timedelta(days=int(act.last_day[i])),
                    "typical_gap_days": float(late.typical_gap_days[i]),
                    "days_away": (as_of - EPOCH).days - int(act.last_day[i]),
                    "overdue_ratio": float(late.overdue_ratio[i]),
                }
                for i in flagged
            ],
        }
    )


Limit = Query(default=200, ge=1, le=10000, description="At most this many customers.")


@router.get("/rfm")
def get_rfm(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = AsOf,
    since: Annotated[date | None, Query(description="Count orders from this day only.")] = None,
    threshold: Annotated[
        rfm.Threshold, Query(description="8-segment map: mean or median.")
    ] = "mean",
    compare_to: Annotated[
        date | None, Query(description="Also count movements between segments since this day.")
    ] = None,
) -> dict[str, Any]:
    """RFM cut points, both segment maps with size and revenue share, and the transition matrix."""
    with store_of(request, project) as store:
        return rfm_result(store, as_of or today(request), since, threshold, compare_to)


@router.get("/rfm/customers")
def get_rfm_customers(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = AsOf,
    since: date | None = None,
    threshold: rfm.Threshold = "mean",
    map: Annotated[SegmentMap, Query(description="rf: 10 segments; value: 8 segments.")] = "rf",
    segment: Annotated[str | None, Query(description="Only this segment's customers.")] = None,
    limit: int = Limit,
) -> list[dict[str, Any]]:
    """Customers with their R, F, M values and scores and both segments, biggest spenders first."""
    with store_of(request, project) as store:
        view = rfm_view(store, as_of or today(request), since, threshold)
        return rfm_customers(view, segment, map, limit)


@router.get("/clv")
def get_clv(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = AsOf,
    horizon_days: int = Query(default=90, ge=1, le=3650, description="Expected purchases horizon."),
    months: int = Query(default=12, ge=1, le=120, description="CLV horizon in 30-day periods."),
    discount_rate: float = Query(default=0.01, description="Per 30-day period, in [0, 1)."),
    limit: int = Limit,
) -> dict[str, Any]:
    """BG/NBD and Gamma-Gamma fits; per buyer P(alive), expected purchases and CLV."""
    with store_of(request, project) as store:
        view = clv_view(store, as_of or today(request), horizon_days, months, discount_rate)
        return clv_result(view, limit)


@router.get("/churn")
def get_churn(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = AsOf,
    value_quantile: float = Query(default=0.8, description="Spend at or above this quantile."),
    max_p_alive: float = Query(default=0.5, description="P(alive) below this."),
) -> dict[str, Any]:
    """The churn-risk list: high spend to date, low BG/NBD P(alive)."""
    with store_of(request, project) as store:
        view = clv_view(store, as_of or today(request))
        risk, rows = churn_list(view, value_quantile, max_p_alive)
    return plain(  # type: ignore[no-any-return]
        {
            "as_of": view.buyers.as_of,
            "value_threshold": risk.value_threshold,
            "max_p_alive": risk.max_p_alive,
            "customers": rows,
        }
    )


@router.get("/churn/behaviour")
def get_churn_behaviour(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = AsOf,
    days: int = Query(default=90, ge=2, le=3650, description="Look at the activity of these days."),
    factor: float = Query(default=3.0, gt=0, description="Away for more than this many gaps."),
    min_active_days: int = Query(default=3, ge=2, description="Active days needed for a cadence."),
) -> dict[str, Any]:
    """Users (from events, no purchases needed) away for longer than their own cadence."""
    with store_of(request, project) as store:
        return behaviour(store, as_of or today(request), days, factor, min_active_days)
