"""The weekly report's signal sections: anomalies and A/B experiments.

- Anomalies: `growthloop.models.anomalies.detect` on the daily series with the 28 days before
  each day as its weekday baseline; drops and spikes inside the week are listed, drops lead.
- Experiments: exposure then purchase within a day, by variant, with a two-proportion z-test of
  the first non-control variant against control.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from growthloop.analytics.funnels import FunnelResult
from growthloop.analytics.trends import TrendsResult
from growthloop.models.anomalies import detect
from growthloop.models.errors import ModelInputError
from growthloop.models.experiments import SampleStats, compare_proportions
from growthloop.reports.document import Chart, Finding, Section, Table, Value
from growthloop.reports.weekly_specs import HISTORY_DAYS


def _change(now: float, before: float) -> float | None:
    return (now - before) / before if before else None


def anomaly_section(result: TrendsResult, week_start: date) -> Section:
    """Days of the week far from their weekday baseline, in tracked events and in orders."""
    days = [b.date() for b in result.buckets]
    weekdays = [d.weekday() for d in days]
    found: list[dict[str, Any]] = []
    for line in result.lines:
        values = [v or 0.0 for v in line.values]
        try:
            check = detect(values, weekdays, history_days=HISTORY_DAYS)
        except ModelInputError:
            continue
        for a in check.anomalies:
            if days[a.index] >= week_start:
                found.append({"day": days[a.index], "metric": line.label, "value": a.value,
                              "expected": a.expected, "direction": a.direction,
                              "severity": a.severity})  # fmt: skip
    found.sort(key=lambda f: (f["day"], f["metric"]))
    drops = sorted(
        (f for f in found if f["direction"] == "drop"), key=lambda f: f["value"] / f["expected"]
    )
    findings = [
        Finding(
            "anomaly_drop",
            {
                "day": Value("date", f["day"]),
                "metric": Value("kpi", f["metric"]),
                "value": Value("int", f["value"]),
                "expected": Value("int", f["expected"]),
                "change": Value("change", _change(f["value"], f["expected"])),
            },
        )
        for f in drops
    ]
    if not findings:
        findings.append(Finding("anomaly_none", {"spikes": Value("int", len(found))}))
    table = Table(
        ("day", "metric", "value", "expected", "direction", "severity"),
        ("date", "kpi", "int", "int", "term", "term"),
        tuple(
            (f["day"], f["metric"], f["value"], f["expected"], f["direction"], f["severity"])
            for f in found
        ),
    )
    week = [i for i, d in enumerate(days) if d >= week_start]
    events = next(x for x in result.lines if x.label == "events")
    chart = Chart(
        "line", "day", tuple(days[i] for i in week),
        (("events", tuple(events.values[i] for i in week)),),
    )  # fmt: skip
    return Section("anomalies", tuple(findings), table, ("daily",), chart, {"found": found})


def experiment_section(funnels: dict[str, FunnelResult]) -> Section:
    """Experiments with exposures this week: purchase within a day of exposure, by variant."""
    rows = []
    findings = []
    for name, result in sorted(funnels.items()):
        variants = {g.breakdown_value: g for g in result.groups if g.breakdown_value is not None}
        for variant, group in sorted(variants.items(), key=lambda kv: str(kv[0])):
            entered, bought = group.steps[0].count, group.steps[1].count
            rows.append((name, variant, entered, bought, bought / entered if entered else None))
        named = sorted(str(v) for v in variants)
        control = "control" if "control" in named else (named[0] if named else None)
        others = [v for v in named if v != control]
        if control is None or not others:
            continue
        c, t = variants[control], variants[others[0]]
        try:
            cmp = compare_proportions(
                SampleStats.of_conversions(c.steps[0].count, c.steps[1].count),
                SampleStats.of_conversions(t.steps[0].count, t.steps[1].count),
            )
        except ModelInputError:
            continue
        findings.append(
            Finding(
                "experiment",
                {
                    "name": Value("text", name),
                    "variant": Value("text", others[0]),
                    "control": Value("text", control),
                    "rate": Value("pct", cmp.test_mean),
                    "control_rate": Value("pct", cmp.control_mean),
                    "users": Value("int", c.steps[0].count + t.steps[0].count),
                    "p": Value("text", f"{cmp.p_value:.2g}"),
                },
            )
        )
    if not findings:
        findings.append(Finding("experiment_none"))
    table = Table(
        ("experiment", "variant", "exposed", "converted", "rate"),
        ("text", "text", "int", "int", "pct"),
        tuple(rows),
    )
    specs = ("experiments", *[f"experiment:{n}" for n in sorted(funnels)])
    return Section("experiments", tuple(findings), table, specs)
