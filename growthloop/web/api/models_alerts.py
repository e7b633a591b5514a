"""Stored alert rules over the API: CRUD, the delivery log, and a dry run over past days."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from growthloop.models import alert_rules
from growthloop.models.alert_rules_run import triggered
from growthloop.models.errors import ModelInputError
from growthloop.web.api.errors import http_errors
from growthloop.web.api.models_common import End, Start, period, plain, store_of
from growthloop.web.context import CurrentProject
from growthloop.web.security import Operator, Viewer, workspace_of

router = APIRouter(prefix="/alerts")


class DestinationIn(BaseModel):
    """Where alerts go: an email address or a webhook URL of a known format."""

    kind: Literal["email", "webhook", "wecom", "dingtalk", "feishu"]
    target: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(
        default=None, max_length=500, description="DingTalk/Feishu signing secret."
    )


class RuleIn(BaseModel):
    """An alert rule: metric, condition, destinations."""

    name: str = Field(min_length=1, max_length=200)
    metric: str = Field(description="events, or an overview KPI (gmv, orders, visitors, ...).")
    event: str | None = Field(default=None, max_length=200, description="With metric events.")
    condition: Literal["anomaly", "below", "above"] = "anomaly"
    threshold: float | None = None
    min_severity: Literal["low", "medium", "high"] = "medium"
    direction: Literal["drop", "spike", "any"] = "any"
    destinations: list[DestinationIn] = Field(min_length=1, max_length=20)
    enabled: bool = True


class RuleChange(BaseModel):
    """Fields to change, and the version the edit started from."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    metric: str | None = None
    event: str | None = None
    condition: Literal["anomaly", "below", "above"] | None = None
    threshold: float | None = None
    min_severity: Literal["low", "medium", "high"] | None = None
    direction: Literal["drop", "spike", "any"] | None = None
    destinations: list[DestinationIn] | None = Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None


def rule_errors() -> AbstractContextManager[None]:
    """404 unknown rule, 409 stale version, 422 bad value (with the message)."""
    return http_errors(unprocessable=(ModelInputError,))


def delivery_out(d: Any) -> dict[str, Any]:
    """One delivery of the log."""
    fields = ("day", "status", "value", "expected", "severity", "direction", "attempts", "error")
    return plain({f: getattr(d, f) for f in (*fields, "sent_at")})  # type: ignore[no-any-return]


@router.get("")
def list_alert_rules(
    principal: Viewer, request: Request, project: CurrentProject
) -> list[dict[str, Any]]:
    """The project's alert rules."""
    rows = alert_rules.list_rules(workspace_of(request), project.id)
    return [plain(alert_rules.rule_out(r)) for r in rows]


@router.post("", status_code=201)
def create_alert_rule(
    principal: Operator, request: Request, project: CurrentProject, body: RuleIn
) -> dict[str, Any]:
    """A new alert rule, checked by the job from the next run on."""
    with rule_errors():
        row = alert_rules.create_rule(
            workspace_of(request), project.id, principal.account, body.model_dump()
        )
    return plain(alert_rules.rule_out(row))  # type: ignore[no-any-return]


@router.get("/{rule_id}")
def get_alert_rule(
    principal: Viewer, request: Request, project: CurrentProject, rule_id: int
) -> dict[str, Any]:
    """One rule with its latest deliveries."""
    ws = workspace_of(request)
    with rule_errors():
        row = alert_rules.get_rule(ws, project.id, rule_id)
    out = plain(alert_rules.rule_out(row))
    out["deliveries"] = [delivery_out(d) for d in alert_rules.deliveries(ws, rule_id)]
    return out  # type: ignore[no-any-return]


@router.patch("/{rule_id}")
def change_alert_rule(
    principal: Operator, request: Request, project: CurrentProject, rule_id: int, body: RuleChange
) -> dict[str, Any]:
    """Change a rule; 409 when someone saved it since `version`."""
    updates = body.model_dump(exclude_unset=True, exclude={"version"})
    with rule_errors():
        row = alert_rules.update_rule(
            workspace_of(request), project.id, principal.account, rule_id, body.version, updates
        )
    return plain(alert_rules.rule_out(row))  # type: ignore[no-any-return]


@router.delete("/{rule_id}", status_code=204)
def delete_alert_rule(
    principal: Operator, request: Request, project: CurrentProject, rule_id: int
) -> None:
    """Delete a rule and its delivery log."""
    with rule_errors():
        alert_rules.delete_rule(workspace_of(request), project.id, principal.account, rule_id)


@router.get("/{rule_id}/preview")
def preview_alert_rule(
    principal: Viewer,
    request: Request,
    project: CurrentProject,
    rule_id: int,
    start: date | None = Start,
    end: date | None = End,
) -> list[dict[str, Any]]:
    """The days in [start, end] on which the rule would have triggered (nothing is sent)."""
    first, last = period(request, start, end)
    with rule_errors():
        row = alert_rules.get_rule(workspace_of(request), project.id, rule_id)
    with store_of(request, project) as store:
        alerts = triggered(
            store.cursor,
            store.tz,
            store.currency,
            alert_rules.rule_of(row),
            row.event,
            first,
            last,
        )
    return [plain({**a.as_json()}) for a in alerts]
