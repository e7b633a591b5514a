"""The alert rules page (/models/alerts): stored rules, their deliveries, and forms to change them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from growthloop.models import alert_rules
from growthloop.models.alerts import DESTINATION_KINDS
from growthloop.web.api.models_alerts import rule_errors
from growthloop.web.context import CurrentProject, ProjectRef
from growthloop.web.pages.models_view import Action, Block, Page
from growthloop.web.rendering import render
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(include_in_schema=False)


def _back(project: ProjectRef) -> RedirectResponse:
    return RedirectResponse(f"/models/alerts?project={project.slug}", status_code=303)


@router.get("/models/alerts")
def alerts_page(principal: Viewer, request: Request, project: CurrentProject) -> Response:
    """Every stored rule with its last check, and the latest deliveries."""
    page = Page(request)
    t = page.t
    ws = workspace_of(request)
    rules = alert_rules.list_rules(ws, project.id)
    rows: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []
    for r in rules:
        out = alert_rules.rule_out(r)
        condition = r.condition if r.condition == "anomaly" else f"{r.condition} {r.threshold:g}"
        if r.condition == "anomaly":
            condition += f" ({r.direction}, ≥ {r.min_severity})"
        rows.append(
            {
                "id": r.id,
                "name": r.name,
                "metric": r.metric + (f": {r.event}" if r.event else ""),
                "condition": condition,
                "destinations": ", ".join(
                    f"{d['kind']} {d['target']}" for d in out["destinations"]
                ),
                "enabled": t("models.yes") if r.enabled else t("models.no"),
                "last_checked_at": r.last_checked_at.strftime("%Y-%m-%d %H:%M UTC")
                if r.last_checked_at
                else "–",
                "last_error": r.last_error or "",
                "version": r.version,
            }
        )
        for d in alert_rules.deliveries(ws, r.id, 10):
            sent.append(
                {"key": f"{r.id}-{d.day}", "rule": r.name, "day": d.day.isoformat(),
                 "status": d.status, "attempts": d.attempts, "value": d.value,
                 "error": d.error or ""}
            )  # fmt: skip
    table = page.table(
        [
            ("name", t("models.rule"), "text"),
            ("metric", t("models.metric"), "text"),
            ("condition", t("models.condition"), "text"),
            ("destinations", t("models.destinations"), "text"),
            ("enabled", t("models.enabled"), "text"),
            ("last_checked_at", t("models.last_checked"), "text"),
            ("last_error", t("models.last_error"), "text"),
        ],
        rows,
        "id",
        action=lambda r: Action(
            f"/models/alerts/{r['id']}/delete?project={project.slug}", t("models.delete")
        ),
    )
    blocks = [Block("alert-rules", t("models.alert_rules"), t("models.alerts_note"), table=table)]
    deliveries = page.table(
        [
            ("rule", t("models.rule"), "text"),
            ("day", t("models.day"), "text"),
            ("status", t("models.status"), "text"),
            ("attempts", t("models.attempts"), "int"),
            ("value", t("models.value"), "num"),
            ("error", t("models.last_error"), "text"),
        ],
        sorted(sent, key=lambda d: d["day"], reverse=True),
        "key",
        highlight=lambda d: d["status"] == "failed",
    )
    blocks.append(Block("alert-deliveries", t("models.deliveries"), table=deliveries))
    return render(
        request,
        "models_alerts.html",
        {
            "project": project,
            "slug": "alerts",
            "title": t("models.alerts_title"),
            "intro": t("models.alerts_intro"),
            "form": [],
            "blocks": blocks,
            "error": None,
            "metrics": alert_rules.METRICS,
            "kinds": DESTINATION_KINDS,
        },
    )


@router.post("/models/alerts")
def create_alert(
    principal: Operator,
    request: Request,
    project: CurrentProject,
    name: Annotated[str, Form()],
    metric: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    target: Annotated[str, Form()],
    condition: Annotated[str, Form()] = "anomaly",
    event: Annotated[str, Form()] = "",
    threshold: Annotated[str, Form()] = "",
    min_severity: Annotated[str, Form()] = "medium",
    direction: Annotated[str, Form()] = "any",
    secret: Annotated[str, Form()] = "",
) -> Response:
    """Store a rule with one destination."""
    try:
        limit = float(threshold) if threshold.strip() else None
    except ValueError:
        raise HTTPException(422, f"threshold: {threshold!r} is not a number") from None
    values = {
        "name": name,
        "metric": metric,
        "event": event.strip() or None,
        "condition": condition,
        "threshold": limit,
        "min_severity": min_severity,
        "direction": direction,
        "destinations": [{"kind": kind, "target": target.strip(), "secret": secret or None}],
    }
    with rule_errors():
        alert_rules.create_rule(workspace_of(request), project.id, principal.account, values)
    return _back(project)


@router.post("/models/alerts/{rule_id}/delete")
def delete_alert(
    principal: Operator, request: Request, project: CurrentProject, rule_id: int
) -> Response:
    """Delete a rule and its delivery log."""
    with rule_errors():
        alert_rules.delete_rule(workspace_of(request), project.id, principal.account, rule_id)
    return _back(project)
