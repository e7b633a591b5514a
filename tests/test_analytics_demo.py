"""The demo's planted patterns, found by the matching analysis on the small demo."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from growthloop.analytics import QueryContext, parse_spec, run_analysis
from growthloop.analytics.funnels import FunnelResult
from growthloop.analytics.trends import TrendsResult
from growthloop.demo import build_demo
from growthloop.workspace import Workspace

END = date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[QueryContext, dict]]:
    data_dir: Path = tmp_path_factory.mktemp("demo") / "data"
    ws = Workspace.open(data_dir)
    summary = build_demo(ws, "small", 0, END)
    ctx = QueryContext.for_workspace(ws, now_utc=datetime(2026, 11, 24))
    yield ctx, summary.manifest["patterns"]
    ws.close()


def checkout_funnel(ctx: QueryContext, date_from: str, date_to: str) -> FunnelResult:
    spec = parse_spec(
        {
            "kind": "funnel",
            "steps": [{"event": "checkout"}, {"event": "purchase"}],
            "window": {"value": 1, "unit": "day"},
            "date_range": {"date_from": date_from, "date_to": date_to},
            "breakdown": {"property": {"key": "platform"}},
        }
    )
    result = run_analysis(spec, ctx)
    assert isinstance(result, FunnelResult)
    return result


def rates(result: FunnelResult) -> dict[str | None, float]:
    return {g.breakdown_value: g.steps[1].conversion_from_first or 0.0 for g in result.groups}


def test_android_checkout_leak_shows_in_funnel_by_platform(demo) -> None:
    ctx, patterns = demo
    leak = patterns["android_leak_start"]
    before = rates(checkout_funnel(ctx, patterns["window"][0], "2026-11-12"))
    after = rates(checkout_funnel(ctx, leak, patterns["window"][1]))
    assert set(after) == {None, "Android", "iOS", "Web", "MiniProgram"}
    # Before the leak Android converts like iOS; after it, at about half of iOS's rate.
    assert abs(before["Android"] - before["iOS"]) < 0.1
    assert after["Android"] < 0.6 * after["iOS"]
    assert after["Android"] < 0.6 * before["Android"]
    worst = min((v, k) for k, v in after.items() if k is not None)
    assert worst[1] == "Android"


def test_tracking_outage_shows_in_daily_events(demo) -> None:
    ctx, patterns = demo
    spec = parse_spec(
        {
            "kind": "trends",
            "series": [{"math": "total"}],
            "interval": "day",
            "date_range": {"date_from": patterns["window"][0], "date_to": patterns["window"][1]},
        }
    )
    result = run_analysis(spec, ctx)
    assert isinstance(result, TrendsResult)
    daily = dict(zip(result.buckets, result.lines[0].values, strict=True))
    outage = datetime.fromisoformat(patterns["outage_day"])
    assert min(daily, key=lambda d: daily[d] or 0) == outage
    assert (daily[outage] or 0) < 0.2 * statistics.median(v or 0 for v in daily.values())
