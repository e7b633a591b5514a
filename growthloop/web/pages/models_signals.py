"""Model pages: A/B tests with the sample-size calculator, anomalies, content, goal pacing."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from growthloop.models.alert_rules import METRICS
from growthloop.models.experiments_data import ExperimentSpec
from growthloop.web.api.models_common import period, store_of, today
from growthloop.web.api.models_signals import (
    anomalies_result,
    content_result,
    pacing_result,
)
from growthloop.web.api.models_tests import experiment_names, experiment_result, get_sample_size
from growthloop.web.context import CurrentProject
from growthloop.web.pages.models_channels import period_form
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


@router.get("/models/experiments")
def experiments_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    name: str | None = None,
    pre_days: int | None = None,
    baseline: float | None = None,
    effect: float | None = None,
    daily_users: float | None = None,
) -> Response:
    """Experiments seen in exposure events, one experiment's statistics, the sample-size calculator."""
    page, problem = Page(request), Problem()
    t, fmt = page.t, page.fmt
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        found = experiment_names(store)
        chosen = name or (found[0]["name"] if found else None)
        blocks.append(
            Block(
                "experiment-list",
                t("models.experiments"),
                table=page.table(
                    [("name", t("models.experiment"), "text"), ("users", t("models.users"), "int")],
                    found,
                    "name",
                    highlight=lambda r: r["name"] == chosen,
                ),
            )
        )
        if chosen:
            got = experiment_result(store, ExperimentSpec(chosen), pre_days)
            variants = page.table(
                [
                    ("variant", t("models.variant"), "text"),
                    ("users", t("models.users"), "int"),
                    ("conversions", t("models.conversions"), "int"),
                    ("conversion_rate", t("models.conversion_rate"), "pct"),
                    ("revenue_per_user", t("models.revenue_per_user"), "money"),
                ],
                got["variants"],
                "variant",
            )
            srm = got["sample_ratio"]
            facts = [
                (t("models.srm"), f"χ² {srm['chi2']:.2f}, p {srm['p_value']:.3f}"
                 + (" — " + t("models.srm_mismatch") if srm["mismatch"] else "")),
                (t("models.several_variants"), fmt.number(got["users_in_several_variants"])),
            ]  # fmt: skip
            for variant, b in got["bayesian"].items():
                facts.append(
                    (t("models.chance_to_win", variant=variant), fmt.percent(b["chance_to_win"], 2))
                )
            blocks.append(Block("experiment-variants", chosen, facts=facts, table=variants))
            rows = []
            for r in got["results"]:
                c = r["comparison"]
                rows.append(
                    {
                        "key": f"{r['metric']}-{r['variant']}",
                        "metric": t("models.metric_conversion") if r["metric"] == "conversion" else t("models.metric_revenue"),
                        "variant": r["variant"],
                        "absolute": c["absolute"],
                        "ci": f"{c['absolute_ci']['low']:.4g} … {c['absolute_ci']['high']:.4g}",
                        "relative": c.get("relative"),
                        "p": c["p_value"],
                        "adjusted": r["adjusted_p_value"],
                        "sequence": f"{r['always_valid']['interval']['low']:.4g} … {r['always_valid']['interval']['high']:.4g}",
                        "significant": t("models.yes") if r["significant"] else t("models.no"),
                    }
                )  # fmt: skip
            table = page.table(
                [
                    ("metric", t("models.metric"), "text"),
                    ("variant", t("models.variant"), "text"),
                    ("absolute", t("models.lift"), "num3"),
                    ("ci", t("models.ci"), "text"),
                    ("relative", t("models.relative_lift"), "pct"),
                    ("p", "p", "p"),
                    ("adjusted", t("models.adjusted_p"), "p"),
                    ("sequence", t("models.always_valid"), "text"),
                    ("significant", t("models.significant"), "text"),
                ],
                rows,
                "key",
                highlight=lambda r: r["significant"] == t("models.yes"),
            )
            blocks.append(
                Block(
                    "experiment-results", t("models.results"), t("models.results_note"), table=table
                )
            )
    if effect is not None and baseline is not None:
        try:
            size = get_sample_size(principal, effect, baseline, None, 0.05, 0.8, 1.0, daily_users)
        except HTTPException as exc:
            problem.message = str(exc.detail)
        else:
            facts = [
                (t("models.test_users"), fmt.number(size["test_users"])),
                (t("models.control_users"), fmt.number(size["control_users"])),
                (t("models.days"), fmt.number(size["days"]) if size["days"] else "–"),
            ]
            blocks.append(Block("sample-size", t("models.sample_size"), facts=facts))
    form = [
        FormField("name", t("models.experiment"), name or "", "text"),
        FormField("pre_days", t("models.cuped_days"), pre_days, "number"),
        FormField("baseline", t("models.baseline"), baseline, "number"),
        FormField("effect", t("models.mde"), effect, "number"),
        FormField("daily_users", t("models.daily_users"), daily_users, "number"),
    ]
    return model_page(
        page, project, "experiments", t("models.ab_title"), t("models.ab_intro"), form, blocks,
        problem,
    )  # fmt: skip


@router.get("/models/anomalies")
def anomalies_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    metric: str = "events",
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """A daily series with its expected range and the flagged days."""
    page, problem = Page(request), Problem()
    t = page.t
    first, last = period(request, start, end, complete_days=True)
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        got = anomalies_result(store, metric, first, last)
        days = got["days"]
        checked = [d for d in days if d["checked"]]
        flagged = got["anomalies"]
        chart = figure(
            [
                {"type": "scatter", "mode": "lines", "name": t("models.normal_high"),
                 "x": [d["day"] for d in checked], "y": [d["high"] for d in checked],
                 "line": {"width": 0}, "showlegend": False},
                {"type": "scatter", "mode": "lines", "name": t("models.normal_range"),
                 "x": [d["day"] for d in checked], "y": [d["low"] for d in checked],
                 "fill": "tonexty", "line": {"width": 0}},
                {"type": "scatter", "mode": "lines", "name": t("models.value"),
                 "x": [d["day"] for d in days], "y": [d["value"] for d in days]},
                {"type": "scatter", "mode": "markers", "name": t("models.flagged"),
                 "x": [a["day"] for a in flagged], "y": [a["value"] for a in flagged],
                 "marker": {"size": 10, "color": "#dc2626"}},
            ],
            {"yaxis": {"tickformat": ",.0f"}},
        )  # fmt: skip
        table = page.table(
            [
                ("day", t("models.day"), "text"),
                ("value", t("models.value"), "num"),
                ("expected", t("models.expected"), "num"),
                ("low", t("models.low"), "num"),
                ("high", t("models.high"), "num"),
                ("score", t("models.score"), "num"),
                ("direction", t("models.direction"), "text"),
                ("severity", t("models.severity"), "text"),
            ],
            flagged,
            "day",
            highlight=lambda r: r["severity"] == "high",
        )
        blocks.append(Block("anomalies", t("models.flagged_days"), t("models.anomalies_note"),
                            table=table, figure=chart))  # fmt: skip
    form = [
        FormField(
            "metric",
            t("models.metric"),
            metric,
            "select",
            [(m, t("models.events") if m == "events" else t("kpi." + m)) for m in METRICS],
        ),
        *period_form(page, first, last),
    ]
    return model_page(
        page, project, "anomalies", t("models.anomalies_title"), t("models.anomalies_intro"),
        form, blocks, problem,
    )  # fmt: skip


@router.get("/models/content")
def content_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """Content items: hits, engagement and conversion per channel x format, keywords, slots."""
    page, problem = Page(request), Problem()
    t = page.t
    last = end or today(request)
    first, last = period(request, start or last - timedelta(days=364), last)
    blocks: list[Block] = []
    with shown(problem), store_of(request, project) as store:
        got = content_result(store, first, last)
        measures = [
            ("views", t("models.views"), "int"),
            ("interactions", t("models.interactions"), "int"),
            ("engagement_rate", t("models.engagement_rate"), "pct"),
            ("follows", t("models.follows"), "int"),
            ("clicks", t("models.clicks"), "int"),
            ("conversions", t("models.conversions"), "int"),
            ("conversion_rate", t("models.conversion_rate"), "pct"),
        ]
        items = page.table(
            [("item_id", "ID", "text"), ("title", t("models.title"), "text"),
             ("channel", t("models.channel"), "text"), ("format", t("models.format"), "text"),
             *measures, ("first_day_views", t("models.first_day_views"), "int")],
            got["items"][:30],
            "item_id",
            highlight=lambda r: r["hit"],
        )  # fmt: skip
        blocks.append(
            Block("content-items", t("models.content_items"), t("models.hits_note"), table=items)
        )
        groups = [{**g, "channel": g["key"][0], "format": g["key"][1]} for g in got["groups"]]
        blocks.append(Block("content-groups", t("models.content_groups"), table=page.table(
            [("channel", t("models.channel"), "text"), ("format", t("models.format"), "text"),
             ("items", t("models.items"), "int"), *measures],
            groups, "channel")))  # fmt: skip
        keywords = page.table(
            [("keyword", t("models.keyword"), "text"), ("items", t("models.items"), "int"),
             ("mean_views", t("models.mean_views"), "int"),
             ("engagement_rate", t("models.engagement_rate"), "pct")],
            sorted(got["keywords"], key=lambda k: -k["mean_views"])[:20],
            "keyword",
        )  # fmt: skip
        blocks.append(Block("content-keywords", t("models.keywords"), table=keywords))
        weekdays = t("models.weekdays").split(",")
        slots = [{**s, "weekday_name": weekdays[s["weekday"]], "slot": f"{s['hour']:02d}:00"}
                 for s in sorted(got["best_slots"], key=lambda s: -s["mean_first_day_views"])[:15]]  # fmt: skip
        blocks.append(Block("content-slots", t("models.best_slots"), table=page.table(
            [("channel", t("models.channel"), "text"), ("weekday_name", t("models.weekday"), "text"),
             ("slot", t("models.hour"), "text"), ("items", t("models.items"), "int"),
             ("mean_first_day_views", t("models.first_day_views"), "int")],
            slots, "channel")))  # fmt: skip
    return model_page(
        page, project, "content", t("models.content_title"), t("models.content_intro"),
        period_form(page, first, last), blocks, problem,
    )  # fmt: skip


@router.get("/models/pacing")
def pacing_page(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    kpi: str = "gmv",
    start: date | None = None,
    end: date | None = None,
    target: float | None = None,
    as_of: date | None = None,
) -> Response:
    """Actual to date, linear pace, forecast, gap and daily rate needed for a KPI target."""
    page, problem = Page(request), Problem()
    t, fmt = page.t, page.fmt
    day = as_of or today(request)
    first = start or day.replace(day=1)
    last = end or (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    blocks: list[Block] = []
    money = kpi == "gmv"

    def show(x: float | None) -> str:
        if x is None:
            return "–"
        return fmt.money(x) if money else fmt.number(x)

    if target is not None:
        with shown(problem), store_of(request, project) as store:
            got = pacing_result(store, kpi, first, last, target, min(day, last))
            facts = [
                (t("models.target"), show(got["target"])),
                (t("models.actual"), show(got["actual"]) + f" ({fmt.percent(got['progress'])})"),
                (t("models.linear_pace"), show(got["expected_to_date"])),
                (t("models.pace_ratio"), fmt.number(got["pace_ratio"], 2)),
                (t("models.forecast"), show(got["forecast"])),
                (t("models.gap"), show(got["gap"])),
                (t("models.needed_daily"), show(got["needed_daily_rate"])),
                (t("models.on_track"), t("models.yes") if got["on_track"] else t("models.no")),
            ]
            cumulative, total = [], 0.0
            for d in got["daily"]:
                total += d["value"]
                cumulative.append(total)
            span = (last - first).days + 1
            chart = figure(
                [{"type": "scatter", "mode": "lines", "name": t("models.actual"),
                  "x": [d["day"] for d in got["daily"]], "y": cumulative},
                 {"type": "scatter", "mode": "lines", "name": t("models.linear_pace"),
                  "x": [first.isoformat(), last.isoformat()],
                  "y": [target / span, target], "line": {"dash": "dot"}}],
                {"yaxis": {"tickformat": ",.0f"}},
            )  # fmt: skip
            blocks.append(Block("pacing", t("kpi." + kpi), facts=facts, figure=chart))
    form = [
        FormField("kpi", t("models.metric"), kpi, "select",
                  [(k, t("kpi." + k)) for k in ("gmv", "orders", "new_users")]),
        *period_form(page, first, last),
        FormField("target", t("models.target"), target, "number"),
        FormField("as_of", t("models.as_of"), day.isoformat(), "date"),
    ]  # fmt: skip
    return model_page(
        page, project, "pacing", t("models.pacing_title"), t("models.pacing_intro"), form, blocks,
        problem,
    )  # fmt: skip
