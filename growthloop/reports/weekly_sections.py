"""The sections of the weekly report, each from the results of its specs.

Findings are chosen by rules on the numbers, written out here so a reader can check them:

- KPIs: the KPI whose relative change against last week is largest in size leads.
- Funnel: for every platform and step, the step conversion this week against last week; a
  fall counts when it is significant (two-proportion z >= 1.96) and both weeks had at least
  `MIN_PEOPLE` (30) people at the step before; the largest fall in points leads. When none is
  significant, the fall with the largest z is named as the largest (not as a signal).
- Content: a hit (爆款) is the content performance model's (growthloop.models.content.hits, as
  on /models/content and GET /api/models/content): a post in the top tenth by views of its
  channel and format among the posts published in the 90 days up to the week's Sunday
  (`content_hits`, looked up by `weekly.weekly_for_project`). `build_weekly` alone does not
  look them up: the section then lists the week's visits and says nothing about hits.
"""

from __future__ import annotations

import math
from typing import Any

from growthloop.analytics.funnels import FunnelGroup, FunnelResult
from growthloop.analytics.retention import RetentionResult
from growthloop.analytics.trends import TrendLine, TrendsResult
from growthloop.reports.document import Chart, Finding, Kind, Section, Table, Value
from growthloop.reports.weekly_specs import MAIN_FUNNEL

KPIS = ("visitors", "new_users", "orders", "revenue", "conversion_rate", "aov")
# The two-proportion z-test leans on the normal approximation: at least 30 people a side.
MIN_PEOPLE = 30
SIGNIFICANT_Z = 1.96


def _total(result: TrendsResult, label: str, period: str = "current") -> float | None:
    for line in result.lines:
        if line.label == label and line.period == period and line.breakdown_value is None:
            return line.total
    return None


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def _change(now: float | None, before: float | None) -> float | None:
    return (now - before) / before if now is not None and before else None


def kpi_values(result: TrendsResult, period: str) -> dict[str, float | None]:
    """The KPIs of one period from the KPI spec's totals (conversion = buyers / visitors)."""
    got = {name: _total(result, name, period) for name in ("visitors", "new_users", "orders")}
    revenue, buyers = _total(result, "revenue", period), _total(result, "buyers", period)
    got["revenue"] = revenue
    got["conversion_rate"] = _ratio(buyers, got["visitors"])
    got["aov"] = _ratio(revenue, got["orders"])
    return got


_KPI_KIND: dict[str, Kind] = {"revenue": "money", "aov": "money", "conversion_rate": "pct"}


def kpi_section(result: TrendsResult) -> Section:
    """Core KPIs against the previous week."""
    now, before = kpi_values(result, "current"), kpi_values(result, "previous")
    rows = [(name, now[name], before[name], _change(now[name], before[name])) for name in KPIS]
    row_kinds: list[tuple[Kind, ...]] = []
    for name in KPIS:
        kind = _KPI_KIND.get(name, "int")
        row_kinds.append(("kpi", kind, kind, "change"))
    changed = [r for r in rows if r[3] is not None]
    findings = []
    if changed:
        name, value, prev, change = max(changed, key=lambda r: abs(r[3] or 0.0))
        kind = _KPI_KIND.get(str(name), "int")
        findings.append(
            Finding(
                "kpi_biggest",
                {
                    "kpi": Value("kpi", str(name)),
                    "value": Value(kind, value),
                    "previous": Value(kind, prev),
                    "change": Value("change", change),
                },
            )
        )
    findings.append(
        Finding(
            "kpi_summary",
            {
                "visitors": Value("int", now["visitors"]),
                "visitors_change": Value("change", _change(now["visitors"], before["visitors"])),
                "orders": Value("int", now["orders"]),
                "orders_change": Value("change", _change(now["orders"], before["orders"])),
                "revenue": Value("money", now["revenue"]),
                "revenue_change": Value("change", _change(now["revenue"], before["revenue"])),
            },
        )
    )
    table = Table(
        ("kpi", "this_week", "last_week", "change"),
        ("kpi", "int", "int", "change"),
        tuple(rows),
        tuple(row_kinds),
    )
    days = [b.date() for b in result.buckets]
    line = next(x for x in result.lines if x.label == "visitors" and x.period == "current")
    chart = Chart("line", "day", tuple(days), (("visitors", line.values),))
    facts = {"current": now, "previous": before}
    return Section("kpis", tuple(findings), table, ("kpis",), chart, facts)


def _by_value(lines: tuple[TrendLine, ...], label: str, period: str) -> dict[str, float]:
    return {
        str(x.breakdown_value): x.total or 0.0
        for x in lines
        if x.label == label and x.period == period and x.breakdown_value is not None
    }


def channel_section(result: TrendsResult) -> Section:
    """Visitors and new users by channel against the previous week."""
    visitors = _by_value(result.lines, "visitors", "current")
    before = _by_value(result.lines, "visitors", "previous")
    new = _by_value(result.lines, "new_users", "current")
    new_before = _by_value(result.lines, "new_users", "previous")
    order = sorted(visitors, key=lambda c: (-visitors[c], c))
    rows = tuple(
        (c, visitors[c], before.get(c), _change(visitors[c], before.get(c)), new.get(c, 0.0),
         new_before.get(c))
        for c in order
    )  # fmt: skip
    findings = []
    total = sum(visitors.values())
    if order:
        top = order[0]
        movers = [r for r in rows if r[3] is not None and (r[2] or 0) >= MIN_PEOPLE]
        mover = max(movers, key=lambda r: abs(r[3] or 0.0)) if movers else rows[0]
        findings.append(
            Finding(
                "channel_top",
                {
                    "channel": Value("channel", top),
                    "visitors": Value("int", visitors[top]),
                    "share": Value("pct", visitors[top] / total if total else None),
                    "mover": Value("channel", str(mover[0])),
                    "change": Value("change", mover[3]),
                },
            )
        )
    else:
        findings.append(Finding("no_data"))
    table = Table(
        ("channel", "visitors", "last_week", "change", "new_users", "new_users_last_week"),
        ("channel", "int", "int", "change", "int", "int"),
        rows,
    )
    chart = Chart(
        "bar", "channel", tuple(order), (("visitors", tuple(visitors[c] for c in order)),)
    )
    return Section("channels", tuple(findings), table, ("channels",), chart)


def _step_rates(group: FunnelGroup) -> list[tuple[int, int]]:
    """(people at step k, people at step k+1) for each step transition."""
    counts = [s.count for s in group.steps]
    return [(counts[i], counts[i + 1]) for i in range(len(counts) - 1)]


def _fall(before: tuple[int, int], now: tuple[int, int]) -> tuple[float, float] | None:
    """(points fallen, z) of a step conversion, or None when too few people."""
    (n0, k0), (n1, k1) = before, now
    if min(n0, n1) < MIN_PEOPLE:
        return None
    p0, p1, pooled = k0 / n0, k1 / n1, (k0 + k1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    return p0 - p1, (p0 - p1) / se if se else 0.0


def funnel_section(now: FunnelResult, before: FunnelResult) -> Section:
    """The main funnel this week and last, and the platform step that fell most."""
    last = {g.breakdown_value: g for g in before.groups}
    falls: list[dict[str, Any]] = []
    rows = []
    for group in now.groups:
        prev = last.get(group.breakdown_value)
        rates = _step_rates(group)
        prev_rates = _step_rates(prev) if prev else [(0, 0)] * len(rates)
        for i, (cur, old) in enumerate(zip(rates, prev_rates, strict=True)):
            rate = cur[1] / cur[0] if cur[0] else None
            old_rate = old[1] / old[0] if old[0] else None
            segment = group.breakdown_value or "$all"
            rows.append(
                (segment, MAIN_FUNNEL[i], MAIN_FUNNEL[i + 1], cur[0], cur[1], rate, old_rate)
            )
            fall = _fall(old, cur)
            if group.breakdown_value is not None and fall is not None and fall[0] > 0:
                falls.append({"segment": segment, "step": i, "points": fall[0], "z": fall[1],
                              "before": old_rate, "after": rate})  # fmt: skip
    significant = [f for f in falls if f["z"] >= SIGNIFICANT_Z]
    worst = (
        max(significant, key=lambda f: f["points"])
        if significant
        else max(falls, key=lambda f: f["z"], default=None)
    )
    findings = []
    if worst is not None:
        findings.append(
            Finding(
                "funnel_drop" if significant else "funnel_drop_weak",
                {
                    "from": Value("event", MAIN_FUNNEL[worst["step"]]),
                    "to": Value("event", MAIN_FUNNEL[worst["step"] + 1]),
                    "segment": Value("term", worst["segment"]),
                    "before": Value("pct", worst["before"]),
                    "after": Value("pct", worst["after"]),
                },
            )
        )
    else:
        findings.append(Finding("funnel_no_drop"))
    overall = now.groups[0].steps if now.groups else ()
    prev_overall = before.groups[0].steps if before.groups else ()
    if overall:
        findings.append(
            Finding(
                "funnel_overall",
                {
                    "rate": Value("pct", overall[-1].conversion_from_first),
                    "before": Value(
                        "pct", prev_overall[-1].conversion_from_first if prev_overall else None
                    ),
                },
            )
        )
    table = Table(
        ("segment", "from_step", "to_step", "entered", "converted", "rate", "rate_last_week"),
        ("term", "event", "event", "int", "int", "pct", "pct"),
        tuple(rows),
    )
    chart = None
    if overall:
        chart = Chart(
            "bar", "event", MAIN_FUNNEL,
            (("this_week", tuple(float(s.count) for s in overall)),
             ("last_week", tuple(float(s.count) for s in prev_overall))),
        )  # fmt: skip
    facts = {"worst": worst, "significant": bool(significant)}
    return Section("funnel", tuple(findings), table, ("funnel", "funnel_previous"), chart, facts)


def retention_section(result: RetentionResult) -> Section:
    """Weekly signup cohorts and the share who came back in each later week."""
    cohorts = result.groups[0].cohorts if result.groups else ()
    rows = tuple(
        (c.cohort.date(), c.size, *[c.percentages[n] for n in range(1, len(c.percentages))])
        for c in cohorts
    )
    periods = len(cohorts[0].percentages) - 1 if cohorts else 0
    findings = []
    with_week1 = [c for c in cohorts if len(c.percentages) > 1 and c.percentages[1] is not None]
    if with_week1:
        latest = with_week1[-1]
        earlier = [c for c in with_week1[:-1] if c.size]
        mean = (
            sum((c.counts[1] or 0) for c in earlier) / sum(c.size for c in earlier)
            if earlier
            else None
        )
        findings.append(
            Finding(
                "retention",
                {
                    "cohort": Value("date", latest.cohort.date()),
                    "size": Value("int", latest.size),
                    "rate": Value("pct", latest.percentages[1]),
                    "mean": Value("pct", mean),
                },
            )
        )
    else:
        findings.append(Finding("no_data"))
    columns = ("cohort", "size", *[f"week_{n}" for n in range(1, periods + 1)])
    kinds = ("date", "int", *["pct"] * periods)
    table = Table(columns, kinds, rows)  # type: ignore[arg-type]
    return Section("retention", tuple(findings), table, ("retention",))


def content_section(result: TrendsResult, content_hits: frozenset[str] | None = None) -> Section:
    """Shop visits from content posts, and which of them are hits by the content model
    (`content_hits`; None when not looked up: then the section says nothing about hits)."""
    visits = _by_value(result.lines, "content_visits", "current")
    before = _by_value(result.lines, "content_visits", "previous")
    items = sorted((k for k in visits if not k.startswith("$")), key=lambda k: (-visits[k], k))
    total = sum(visits.values())
    hits = [k for k in items if content_hits is not None and k in content_hits]
    rows = tuple(
        (k, visits[k], before.get(k), _change(visits[k], before.get(k)), k in hits) for k in items
    )
    findings = []
    if items:
        top = items[0]
        findings.append(
            Finding(
                "content_top",
                {
                    "item": Value("text", top),
                    "visits": Value("int", visits[top]),
                    "share": Value("pct", visits[top] / total if total else None),
                },
            )
        )
        posts = Value("int", len(items))
        if content_hits is not None and hits:
            findings.append(
                Finding(
                    "content_model_hits", {"items": Value("text", ", ".join(hits)), "posts": posts}
                )
            )
        elif content_hits is not None:
            findings.append(Finding("content_model_no_hits", {"posts": posts}))
    else:
        findings.append(Finding("no_data"))
    table = Table(
        ("content", "visits", "last_week", "change", "hit"),
        ("text", "int", "int", "change", "text"),
        tuple((r[0], r[1], r[2], r[3], "★" if r[4] else "") for r in rows),
    )
    chart = Chart("bar", "text", tuple(items), (("visits", tuple(visits[k] for k in items)),))
    return Section("content", tuple(findings), table, ("content",), chart, {"hits": hits})
