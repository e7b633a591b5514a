"""Channel model pages: channel ROI, attribution and budget mix."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from growthloop.models.attribution import MODELS
from growthloop.web.api.models_channels import (
    attribution_result,
    budget_mix_result,
    roi_result,
)
from growthloop.web.api.models_common import period, store_of
from growthloop.web.context import CurrentProject
from growthloop.web.pages.models_view import (
    Block,
    FormField,
    Page,
    Problem,
    figure,
    model_page,
    shown,
)
from growthloop.web.security import Viewer

router = APIRouter(include_in_schema=False)


def period_form(page: Page, start: date, end: date) -> list[FormField]:
    return [
        FormField("start", page.t("models.start"), start.isoformat(), "date"),
        FormField("end", page.t("models.end"), end.isoformat(), "date"),
    ]


@router.get("/models/channel-roi")
def roi_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = None,
    end: date | None = None,
    by_campaign: bool = False,
) -> Response:
    """Spend, users, revenue, CAC, ROAS, ROI and payback per channel."""
    page, problem = Page(request), Problem()
    t = page.t
    first, last = period(request, start, end)
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        got = roi_result(store, first, last, by_campaign)
        rows = [{**r, "name": page.channel(r["channel"])} for r in got["channels"]]
        worst = got["lowest_roas"]
        columns = [("name", t("models.channel"), "text")]
        if by_campaign:
            columns.append(("campaign", t("models.campaign"), "text"))
        columns += [
            ("spend", t("models.spend"), "money"),
            ("new_users", t("models.new_users"), "int"),
            ("activated_users", t("models.activated"), "int"),
            ("paying_users", t("models.paying"), "int"),
            ("revenue", t("models.revenue"), "money"),
            ("cac", t("models.cac"), "money"),
            ("roas", t("models.roas"), "num2"),
            ("roi", t("models.roi"), "pct"),
            ("payback_days", t("models.payback"), "int"),
            ("effective_ratio", t("models.effective_ratio"), "pct"),
        ]
        table = page.table(columns, rows, "channel", highlight=lambda r: r["channel"] == worst)
        paid = [r for r in rows if r["roas"] is not None]
        chart = figure(
            [{"type": "bar", "x": [r["name"] for r in paid], "y": [r["roas"] for r in paid],
              "name": t("models.roas")}]
        )  # fmt: skip
        note = t("models.lowest_roas", channel=page.channel(worst)) if worst else ""
        blocks.append(Block("roi", t("models.roi_table"), note, table=table, figure=chart))
        cohorts = [
            {"type": "scatter", "mode": "lines", "name": r["name"],
             "y": r["cohort_revenue_per_user"]}
            for r in rows if r["cohort_revenue_per_user"] and r["spend"] > 0
        ]  # fmt: skip
        layout = {"xaxis": {"title": {"text": t("models.days_since_acquisition")}}}
        blocks.append(
            Block("roi-cohorts", t("models.cohort_revenue"), figure=figure(cohorts, layout))
        )
    form = period_form(page, first, last)
    form.append(
        FormField(
            "by_campaign",
            t("models.by_campaign"),
            "true" if by_campaign else "false",
            "select",
            [("false", t("models.no")), ("true", t("models.yes"))],
        )
    )
    return model_page(
        page,
        project,
        "channel-roi",
        t("models.roi_title"),
        t("models.roi_intro"),
        form,
        blocks,
        problem,
    )


@router.get("/models/attribution")
def attribution_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = None,
    end: date | None = None,
    half_life_days: float = 7.0,
) -> Response:
    """Revenue credited per channel by the six models side by side."""
    page, problem = Page(request), Problem()
    t = page.t
    first, last = period(request, start, end)
    names = {
        "first_touch": t("models.first_touch"),
        "last_touch": t("models.last_touch"),
        "linear": t("models.linear"),
        "time_decay": t("models.time_decay"),
        "position_based": t("models.position_based"),
        "markov": t("models.markov"),
    }
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        got = attribution_result(store, first, last, half_life_days=half_life_days)
        rows = [
            {"name": page.channel(r["channel"]), "channel": r["channel"], **r["revenue"],
             "removal_effect": r["removal_effect"]}
            for r in got["channels"]
        ]  # fmt: skip
        table = page.table(
            [("name", t("models.channel"), "text")]
            + [(m, names[m], "money") for m in MODELS]
            + [("removal_effect", t("models.removal_effect"), "pct")],
            rows,
            "channel",
        )
        chart = figure(
            [{"type": "bar", "name": names[m], "x": [r["name"] for r in rows],
              "y": [r[m] for r in rows]} for m in MODELS],
            {"barmode": "group", "yaxis": {"tickformat": ",.0f"}},
        )  # fmt: skip
        note = t(
            "models.attribution_note",
            paths=got["converting_paths"],
            without=got["orders_without_touches"],
        )
        blocks.append(
            Block("attribution", t("models.attribution_table"), note, table=table, figure=chart)
        )
    form = period_form(page, first, last)
    form.append(FormField("half_life_days", t("models.half_life"), half_life_days, "number"))
    return model_page(
        page, project, "attribution", t("models.attribution_title"), t("models.attribution_intro"),
        form, blocks, problem,
    )  # fmt: skip


@router.get("/models/budget-mix")
def budget_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = None,
    end: date | None = None,
    budget: float | None = None,
) -> Response:
    """Response curves, the recommended daily spend per channel, and refusals."""
    page, problem = Page(request), Problem()
    t, fmt = page.t, page.fmt
    first, last = period(request, start, end, complete_days=True)
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        got = budget_mix_result(store, first, last, budget)
        rows = [
            {**r, "name": page.channel(r["channel"]), "r_squared": r["fit"]["r_squared"],
             "decay": r["fit"]["decay"], "notes": "; ".join(r["notes"])}
            for r in got["channels"]
        ]  # fmt: skip
        table = page.table(
            [
                ("name", t("models.channel"), "text"),
                ("r_squared", "R²", "num2"),
                ("decay", t("models.decay"), "num"),
                ("current", t("models.current_spend"), "money"),
                ("recommended", t("models.recommended_spend"), "money"),
                ("shift", t("models.shift"), "money"),
                ("marginal_current", t("models.marginal_now"), "num3"),
                ("marginal_recommended", t("models.marginal_after"), "num3"),
                ("notes", t("models.notes"), "text"),
            ],
            rows,
            "channel",
            highlight=lambda r: r["shift"] < 0,
        )
        chart = figure(
            [{"type": "bar", "name": t("models.current_spend"), "x": [r["name"] for r in rows],
              "y": [r["current"] for r in rows]},
             {"type": "bar", "name": t("models.recommended_spend"), "x": [r["name"] for r in rows],
              "y": [r["recommended"] for r in rows]}],
            {"barmode": "group"},
        )  # fmt: skip
        facts = [
            (t("models.daily_budget"), fmt.money(got["budget"])),
            (t("models.conversions_now"), fmt.number(got["current_conversions"], 1)),
            (t("models.conversions_after"), fmt.number(got["expected_conversions"], 1)),
        ]
        blocks.append(
            Block("budget", t("models.budget_table"), t("models.budget_note"), facts, table, chart)
        )
        if got["refused"]:
            refused = page.table(
                [("channel", t("models.channel"), "text"), ("reason", t("models.reason"), "text")],
                got["refused"],
                "channel",
            )
            blocks.append(Block("budget-refused", t("models.refused"), table=refused))
    form = period_form(page, first, last)
    form.append(FormField("budget", t("models.daily_budget"), budget, "number"))
    return model_page(
        page, project, "budget-mix", t("models.budget_title"), t("models.budget_intro"), form,
        blocks, problem,
    )  # fmt: skip
