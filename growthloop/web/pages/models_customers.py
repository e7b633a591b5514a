"""Customer model pages: RFM (/models/rfm) and CLV with the churn warning (/models/clv)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from growthloop.models import rfm
from growthloop.web.api.models_common import store_of, today
from growthloop.web.api.models_customers import (
    behaviour,
    churn_list,
    clv_result,
    clv_view,
    rfm_result,
)
from growthloop.web.api.models_save import (
    ChurnSegmentIn,
    RfmSegmentIn,
    save_churn_segment,
    save_rfm_segment,
)
from growthloop.web.context import CurrentProject
from growthloop.web.pages.models_view import (
    Action,
    Block,
    FormField,
    Page,
    Problem,
    figure,
    model_page,
    shown,
)
from growthloop.web.security import Operator, Viewer

router = APIRouter(include_in_schema=False)


def segment_block(
    page: Page, slug: str, kind: str, rows: list[dict[str, Any]], as_of: date, threshold: str
) -> Block:
    """One segment map: sizes and revenue shares, a chart, and a save button per segment."""
    t = page.t
    named = [{**r, "name": page.segment(r["segment"])} for r in rows]
    table = page.table(
        [
            ("name", t("models.segment"), "text"),
            ("customers", t("models.customers"), "int"),
            ("customer_share", t("models.customer_share"), "pct"),
            ("revenue", t("models.revenue"), "money"),
            ("revenue_share", t("models.revenue_share"), "pct"),
        ],
        named,
        "segment",
        highlight=lambda r: r["revenue_share"] > 3 * r["customer_share"] > 0,
        action=lambda r: (
            Action(
                f"/models/rfm/save?project={slug}",
                t("models.save_segment"),
                {
                    "segment": r["segment"],
                    "map": kind,
                    "as_of": as_of.isoformat(),
                    "threshold": threshold,
                },
            )
            if r["customers"]
            else None
        ),
    )
    chart = figure(
        [
            {"type": "bar", "name": t("models.customer_share"),
             "x": [r["name"] for r in named], "y": [r["customer_share"] for r in named]},
            {"type": "bar", "name": t("models.revenue_share"),
             "x": [r["name"] for r in named], "y": [r["revenue_share"] for r in named]},
        ],
        {"barmode": "group", "yaxis": {"tickformat": ".0%"}},
    )  # fmt: skip
    title = t("models.rfm_rf") if kind == "rf" else t("models.rfm_value")
    return Block(f"rfm-{kind}", title, t("models.rfm_highlight"), table=table, figure=chart)


@router.get("/models/rfm")
def rfm_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = None,
    compare_to: date | None = None,
    threshold: rfm.Threshold = "mean",
) -> Response:
    """RFM scores, both segment maps and the movement between two dates."""
    page, problem, t = Page(request), Problem(), Page(request).t
    day = as_of or today(request)
    before = compare_to or day - timedelta(days=30)
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        got = rfm_result(store, day, None, threshold, before)
        cuts = got["cut_points"]
        names = {
            "recency_days": t("models.cut_recency"),
            "frequency": t("models.cut_frequency"),
            "monetary": t("models.cut_monetary"),
        }
        facts = [(t("models.customers"), page.fmt.number(got["customers"]))] + [
            (names.get(k, k), " / ".join(page.fmt.number(v, 0) for v in cuts[k])) for k in cuts
        ]
        blocks.append(Block("rfm-summary", t("models.rfm_summary"), facts=facts))
        blocks.append(segment_block(page, project.slug, "rf", got["rf_segments"], day, threshold))
        blocks.append(
            segment_block(page, project.slug, "value", got["value_segments"], day, threshold)
        )
        moves = got["transitions"]
        labels = [page.segment(c) if c != rfm.NOT_A_CUSTOMER else t("models.not_a_customer")
                  for c in moves["columns"]]  # fmt: skip
        rows = [
            {"from": labels[i], **{str(j): n for j, n in enumerate(counts)}}
            for i, counts in enumerate(moves["counts"])
        ]
        table = page.table(
            [("from", t("models.from_to"), "text")]
            + [(str(j), labels[j], "int") for j in range(len(labels))],
            rows,
            "from",
        )
        note = t("models.transitions_note", start=page.fmt.date(before), end=page.fmt.date(day))
        blocks.append(Block("rfm-transitions", t("models.transitions"), note, table=table))
    form = [
        FormField("as_of", t("models.as_of"), day.isoformat(), "date"),
        FormField("compare_to", t("models.compare_to"), before.isoformat(), "date"),
        FormField(
            "threshold",
            t("models.threshold"),
            threshold,
            "select",
            [("mean", t("models.mean")), ("median", t("models.median"))],
        ),
    ]
    return model_page(
        page, project, "rfm", t("models.rfm"), t("models.rfm_intro"), form, blocks, problem
    )


@router.post("/models/rfm/save")
def save_rfm(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    segment: Annotated[str, Form()],
    as_of: Annotated[date, Form()],
    map: Annotated[str, Form()] = "rf",
    threshold: Annotated[str, Form()] = "mean",
) -> Response:
    """Save an RFM segment as a static user segment and open it."""
    try:
        body = RfmSegmentIn.model_validate(
            {"segment": segment, "map": map, "as_of": as_of, "threshold": threshold}
        )
    except ValidationError as exc:
        where = ".".join(str(x) for x in exc.errors()[0]["loc"])
        raise HTTPException(422, f"{where}: {exc.errors()[0]['msg']}") from None
    made = save_rfm_segment(principal, request, project, body)
    return RedirectResponse(f"/segments/{made['id']}?project={project.slug}", status_code=303)


@router.post("/models/churn/save")
def save_churn(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    as_of: Annotated[date, Form()],
) -> Response:
    """Save the churn-risk list as a static user segment and open it."""
    made = save_churn_segment(principal, request, project, ChurnSegmentIn(as_of=as_of))
    return RedirectResponse(f"/segments/{made['id']}?project={project.slug}", status_code=303)


@router.get("/models/clv")
def clv_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    as_of: date | None = None,
    months: int = 12,
    discount_rate: float = 0.01,
) -> Response:
    """BG/NBD and Gamma-Gamma fits, the churn-risk list, and the behavioural signal."""
    page, problem = Page(request), Problem()
    t, fmt = page.t, page.fmt
    day = as_of or today(request)
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        view = clv_view(store, day, 90, months, discount_rate)
        got = clv_result(view, 0)
        bg, gg = got["bgnbd"], got["gamma_gamma"]
        facts = [
            (t("models.buyers"), fmt.number(got["buyers"])),
            (t("models.repeat_buyers"), fmt.number(got["repeat_buyers"])),
            ("BG/NBD r, α, a, b", ", ".join(f"{bg[k]:.4g}" for k in ("r", "alpha", "a", "b"))),
            (t("models.log_likelihood"), f"{bg['log_likelihood']:.2f}"),
            (t("models.on_bound"), ", ".join(bg["on_bound"]) or "–"),
            ("Gamma-Gamma p, q, γ", ", ".join(f"{gg[k]:.4g}" for k in ("p", "q", "gamma")) if gg else got["gamma_gamma_refused"]),
            (t("models.median_p_alive"), fmt.percent(got["median_p_alive"])),
            (t("models.median_clv"), fmt.money(got["median_clv"]) if got["median_clv"] is not None else "–"),
        ]  # fmt: skip
        chart = figure(
            [{"type": "histogram", "x": view.p_alive.tolist(), "nbinsx": 20,
              "name": t("models.p_alive")}],
            {"xaxis": {"title": {"text": t("models.p_alive")}, "tickformat": ".0%"}},
        )  # fmt: skip
        note = " ".join(got["notes"])
        blocks.append(Block("clv-fit", t("models.clv_fit"), note, facts=facts, figure=chart))
        risk, rows = churn_list(view)
        table = page.table(
            [
                ("person_id", t("models.person"), "text"),
                ("total_spend", t("models.total_spend"), "money"),
                ("repeat_purchases", t("models.repeat_purchases"), "int"),
                ("p_alive", t("models.p_alive"), "pct"),
                ("expected_purchases", t("models.expected_purchases"), "num2"),
                ("clv", t("models.clv"), "money"),
            ],
            rows,
            "person_id",
        )
        blocks.append(
            Block(
                "churn-risk",
                t("models.churn_list", count=len(rows)),
                t("models.churn_note", value=fmt.money(risk.value_threshold)),
                table=table,
                action=Action(
                    f"/models/churn/save?project={project.slug}",
                    t("models.save_churn"),
                    {"as_of": day.isoformat()},
                ),
            )
        )
    # The behavioural signal needs no purchase model: shown even when BG/NBD refuses the data.
    with shown(problem), store_of(request, project) as store:
        late = behaviour(store, day)
        facts = [
            (t("models.active_users"), fmt.number(late["users"])),
            (t("models.with_cadence"), fmt.number(late["with_cadence"])),
            (t("models.overdue_users"), fmt.number(len(late["flagged"]))),
        ]
        table = page.table(
            [
                ("person_id", t("models.person"), "text"),
                ("active_days", t("models.active_days"), "int"),
                ("typical_gap_days", t("models.typical_gap"), "num"),
                ("days_away", t("models.days_away"), "int"),
                ("overdue_ratio", t("models.overdue_ratio"), "num"),
            ],
            late["flagged"][:50],
            "person_id",
        )
        blocks.append(
            Block("churn-behaviour", t("models.behaviour"), t("models.behaviour_note"),
                  facts=facts, table=table)
        )  # fmt: skip
    form = [
        FormField("as_of", t("models.as_of"), day.isoformat(), "date"),
        FormField("months", t("models.months"), months, "number"),
        FormField("discount_rate", t("models.discount_rate"), discount_rate, "number"),
    ]
    return model_page(
        page, project, "clv", t("models.clv_title"), t("models.clv_intro"), form, blocks, problem
    )
