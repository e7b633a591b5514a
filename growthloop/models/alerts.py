"""Alert rules on daily KPI series (数据异常告警): which days trigger, and the message to send.

A rule names a metric, a condition and where to send the alert. Conditions:
- `anomaly`: the day is flagged by the weekday-seasonal check (`anomalies.detect`) with at least
  the given severity (and, optionally, only drops or only spikes);
- `below` / `above`: the value crosses a fixed threshold.

Pure: a rule and a checked series in, `Alert`s out. `alert_delivery` sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from growthloop.models.anomalies import AnomalyCheck, Severity
from growthloop.models.errors import BAD_PARAMETER, ModelInputError

Condition = Literal["anomaly", "below", "above"]
SEVERITY_ORDER: dict[Severity, int] = {"low": 0, "medium": 1, "high": 2}
DESTINATION_KINDS = ("email", "webhook", "wecom", "dingtalk", "feishu")


@dataclass(frozen=True)
class Destination:
    """Where an alert goes: an email address, or a webhook URL of one of the known formats.

    `secret` signs DingTalk and Feishu robot requests when their security setting asks for it.
    """

    kind: str
    target: str
    secret: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in DESTINATION_KINDS:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="destination kind",
                    rule=f"one of {list(DESTINATION_KINDS)}",
                    value=repr(self.kind),
                )
            )
        if self.kind == "email" and "@" not in self.target:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name="email destination",
                    rule="an address like ops@example.cn",
                    value=repr(self.target),
                )
            )
        if self.kind != "email" and not self.target.startswith(("http://", "https://")):
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name=f"{self.kind} destination",
                    rule="an http(s) webhook URL",
                    value=repr(self.target),
                )
            )


@dataclass(frozen=True)
class AlertRule:
    name: str
    metric: str
    condition: Condition
    destinations: tuple[Destination, ...]
    threshold: float | None = None
    min_severity: Severity = "medium"
    direction: Literal["drop", "spike", "any"] = "any"

    def __post_init__(self) -> None:
        if self.condition not in ("anomaly", "below", "above"):
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name=f"rule {self.name!r} condition",
                    rule="anomaly, below or above",
                    value=repr(self.condition),
                )
            )
        if self.condition != "anomaly" and self.threshold is None:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name=f"rule {self.name!r} threshold",
                    rule=f"a number for condition {self.condition!r}",
                    value=None,
                )
            )
        if not self.destinations:
            raise ModelInputError(
                BAD_PARAMETER.format(
                    name=f"rule {self.name!r} destinations",
                    rule="at least one recipient or webhook",
                    value="none",
                )
            )


@dataclass(frozen=True)
class Alert:
    """One triggered day of one rule."""

    rule: str
    metric: str
    day: date
    value: float
    expected: float | None
    low: float | None
    high: float | None
    severity: Severity | None
    direction: str
    destinations: tuple[Destination, ...] = field(repr=False)

    @property
    def title(self) -> str:
        return f"[growthloop] {self.rule}: {self.metric} {self.direction} on {self.day}"

    def text(self) -> str:
        """The message body, plain text (also valid Markdown)."""
        lines = [self.title, "", f"- value: {self.value:,.2f}"]
        if self.expected is not None and self.low is not None and self.high is not None:
            lines.append(
                f"- expected: {self.expected:,.2f} (normal range {self.low:,.2f} .. {self.high:,.2f})"
            )
        if self.severity is not None:
            lines.append(f"- severity: {self.severity}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule, "metric": self.metric, "day": self.day.isoformat(), "value": self.value,
            "expected": self.expected, "low": self.low, "high": self.high, "severity": self.severity,
            "direction": self.direction, "title": self.title, "text": self.text(),
        }  # fmt: skip


def evaluate(
    rule: AlertRule,
    dates: Sequence[date],
    values: Sequence[float],
    check: AnomalyCheck | None = None,
) -> tuple[Alert, ...]:
    """The days on which `rule` triggers; `check` (from `anomalies.detect`) for anomaly rules."""
    if len(dates) != len(values):
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="dates and values", rule="the same length", value=(len(dates), len(values))
            )
        )
    out = []
    if rule.condition == "anomaly":
        if check is None:
            raise ModelInputError(
                f"rule {rule.name!r} is an anomaly rule: it needs the anomaly check of {rule.metric}"
            )
        for a in check.anomalies:
            if SEVERITY_ORDER[a.severity] < SEVERITY_ORDER[rule.min_severity]:
                continue
            if rule.direction != "any" and a.direction != rule.direction:
                continue
            out.append(
                Alert(
                    rule.name,
                    rule.metric,
                    dates[a.index],
                    a.value,
                    a.expected,
                    a.low,
                    a.high,
                    a.severity,
                    a.direction,
                    rule.destinations,
                )
            )
        return tuple(out)
    assert rule.threshold is not None  # checked in AlertRule
    for day, value in zip(dates, values, strict=True):
        crossed = value < rule.threshold if rule.condition == "below" else value > rule.threshold
        if crossed:
            out.append(
                Alert(
                    rule.name,
                    rule.metric,
                    day,
                    float(value),
                    None,
                    None,
                    None,
                    None,
                    f"{rule.condition} {rule.threshold:g}",
                    rule.destinations,
                )
            )
    return tuple(out)
