"""One suite, two engines: every analysis kind runs on the small demo on DuckDB and on Spark
(local[2], over the demo's Parquet export). Spark's result must equal DuckDB's (floats within
1e-9), and on both engines headline figures must match plain Python over the exported rows."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from growthloop.analytics import QueryContext, parse_spec, run_analysis
from growthloop.analytics.dates import resolve_range
from growthloop.analytics.results import AnalysisResult
from growthloop.analytics.spec import DateRange
from growthloop.workspace import Workspace
from tests.backend_specs import SPECS
from tests.spark_support import demo_export, spark_session

__all__ = ["demo_export", "spark_session"]  # fixtures used here

NOW = datetime(2026, 11, 24)
TZ = ZoneInfo("Asia/Shanghai")
BACKENDS = ["duckdb", "spark"]


@pytest.fixture(scope="module")
def duckdb_ctx(demo_dir: Path) -> Iterator[QueryContext]:
    with Workspace.open(demo_dir) as ws:
        yield QueryContext.for_workspace(ws, now_utc=NOW)


@pytest.fixture(scope="module")
def spark_ctx(spark_session: Any, demo_export: Path) -> QueryContext:
    return QueryContext.for_spark(spark_session, demo_export, now_utc=NOW)


@pytest.fixture(scope="module")
def duckdb_results(duckdb_ctx: QueryContext) -> dict[str, dict[str, Any]]:
    """Each spec's DuckDB result, computed when first asked for."""
    return _LazyResults(duckdb_ctx)  # type: ignore[return-value]


class _LazyResults(dict[str, dict[str, Any]]):
    def __init__(self, ctx: QueryContext) -> None:
        super().__init__()
        self.ctx = ctx

    def __missing__(self, name: str) -> dict[str, Any]:
        value: dict[str, Any] = run_analysis(parse_spec(SPECS[name]), self.ctx).to_dict()
        self[name] = value
        return value


@dataclass(frozen=True)
class Rows:
    """The export's events and persons as plain Python rows (the independent reference)."""

    events: list[dict[str, Any]]
    persons: dict[str, dict[str, Any]]
    identities: dict[str, str]


@pytest.fixture(scope="module")
def rows(demo_export: Path) -> Rows:
    import json

    columns = ["event", "person_id", "distinct_id", "timestamp", "path"]
    events = pq.read_table(demo_export / "events", columns=columns).to_pylist()
    for e in events:
        e["timestamp"] = e["timestamp"].astimezone(UTC).replace(tzinfo=None)
    persons = {
        p["person_id"]: json.loads(p["properties"] or "{}")
        for p in pq.read_table(demo_export / "persons").to_pylist()
    }
    ids = {
        r["distinct_id"]: r["person_id"]
        for r in pq.read_table(demo_export / "person_identities").to_pylist()
    }
    return Rows(events, persons, ids)


def _range(date_from: str, date_to: str | None = None) -> tuple[datetime, datetime]:
    rng = resolve_range(DateRange(date_from=date_from, date_to=date_to), TZ, NOW)
    return rng.start_utc, rng.end_utc


def _local_day(ts: datetime) -> datetime:
    local = ts.replace(tzinfo=UTC).astimezone(TZ).replace(tzinfo=None)
    return datetime(local.year, local.month, local.day)


def _in(rows: Rows, lo: datetime, hi: datetime, event: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in rows.events
        if lo <= e["timestamp"] < hi and (event is None or e["event"] == event)
    ]


def _reference_check(name: str, result: Any, rows: Rows) -> bool:
    """Figures of `result` recomputed in Python from the exported rows; False if this spec has
    no such check (its semantics are checked against references in its own test module)."""
    if name == "trends_total_compare":
        lo, hi = _range("-30d")
        current = next(line for line in result.lines if line.period == "current")
        previous = next(line for line in result.lines if line.period == "previous")
        assert current.total == len(_in(rows, lo, hi))
        assert previous.total == len(_in(rows, lo - (hi - lo), lo))
        days: dict[datetime, int] = defaultdict(int)
        for e in _in(rows, lo, hi):
            days[_local_day(e["timestamp"])] += 1
        assert dict(zip(result.buckets, current.values, strict=True)) == {
            b: float(days.get(b, 0)) for b in result.buckets
        }
    elif name == "distribution":
        lo, hi = _range("-30d")
        per: dict[str, int] = defaultdict(int)
        for e in _in(rows, lo, hi, "product_view"):
            per[e["person_id"]] += 1
        assert result.people == len(per)
        assert result.bins[0].people == sum(1 for n in per.values() if n == 1)
        assert result.mean == pytest.approx(sum(per.values()) / len(per))
    elif name == "interval":
        lo, hi = _range("-30d")
        first: dict[str, datetime] = {}
        for e in _in(rows, lo, hi, "product_view"):
            p = e["person_id"]
            first[p] = min(first.get(p, e["timestamp"]), e["timestamp"])
        purchases: dict[str, list[datetime]] = defaultdict(list)
        for e in _in(rows, lo, hi, "purchase"):
            purchases[e["person_id"]].append(e["timestamp"])
        gaps = []
        for p, start in first.items():
            later = [t for t in purchases.get(p, []) if t >= start]
            if later:
                gaps.append((min(later) - start).total_seconds())
        assert result.people == len(gaps)
        assert result.mean == pytest.approx(sum(gaps) / len(gaps))
    elif name == "stickiness_day":
        lo, hi = _range("-30d")
        daily: dict[datetime, set[str]] = defaultdict(set)
        for e in _in(rows, lo, hi):
            daily[_local_day(e["timestamp"])].add(e["person_id"])
        assert list(result.dau) == [len(daily.get(d, ())) for d in result.days]
    elif name == "lifecycle_day":
        lo, hi = _range("-30d")
        daily = defaultdict(set)
        for e in _in(rows, lo, hi, "$pageview"):
            daily[_local_day(e["timestamp"])].add(e["person_id"])
        active = [
            sum(result.counts[s][i] for s in ("new", "returning", "resurrecting"))
            for i in range(len(result.buckets))
        ]
        assert active == [len(daily.get(b, ())) for b in result.buckets]
    elif name == "retention_day_recurring":
        lo, hi = _range("-14d")
        daily = defaultdict(set)
        for e in _in(rows, lo, hi, "$pageview"):
            daily[_local_day(e["timestamp"])].add(e["person_id"])
        assert [c.size for c in result.cohorts] == [
            len(daily.get(c.cohort, ())) for c in result.cohorts
        ]
    elif name == "funnel_unordered":
        lo, hi = _range("2026-11-01", "2026-11-23")
        entered = {e["person_id"] for e in _in(rows, lo, hi, "checkout")}
        assert result.steps[0].count == len(entered)
    elif name == "funnel_ordered_breakdown_trend":
        lo, hi = _range("2026-11-01", "2026-11-23")
        entered = {e["person_id"] for e in _in(rows, lo, hi, "product_view")}
        assert result.steps[0].count == len(entered)
        assert sum(g.steps[0].count for g in result.groups[1:]) == len(entered)
    elif name == "segment_any":
        buyers = {e["person_id"] for e in _in(rows, NOW - timedelta(days=60), NOW, "purchase")}
        shanghai = {p for p, props in rows.persons.items() if props.get("city") == "Shanghai"}
        assert result.size == len(buyers | shanghai)
        assert list(result.people) == sorted(buyers | shanghai)[:50]
    elif name == "profile_by_person":
        mine = [e for e in rows.events if e["person_id"] == "u_000239"]
        assert result.event_count == len(mine)
        assert result.distinct_ids == tuple(
            sorted(d for d, p in rows.identities.items() if p == "u_000239")
        )
    elif name == "paths_all":
        lo, hi = _range("-30d")
        wanted = {"signup", "$identify", "purchase", "checkout"}
        people = {e["person_id"] for e in _in(rows, lo, hi) if e["event"] in wanted}
        assert sum(p.people for p in result.paths) == len(people)
    else:
        return False
    return True


def _differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two results differ (floats within 1e-9, relative or absolute)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        return [] if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) else [f"{where}: {a} vs {b}"]
    return [] if a == b and type(a) is type(b) else [f"{where}: {a!r} vs {b!r}"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(SPECS))
def test_every_analysis_on_every_backend(
    name: str,
    backend: str,
    request: pytest.FixtureRequest,
    duckdb_results: dict[str, dict[str, Any]],
    rows: Rows,
) -> None:
    ctx: QueryContext = request.getfixturevalue(f"{backend}_ctx")
    result: AnalysisResult = run_analysis(parse_spec(SPECS[name]), ctx)
    _reference_check(name, result, rows)
    got = result.to_dict()
    assert got["kind"] == SPECS[name]["kind"]
    if backend != "duckdb":
        problems = _differences(duckdb_results[name], got)
        assert not problems, f"{backend} differs from duckdb: {problems[:10]}"


def test_the_reference_checks_cover_most_kinds(rows: Rows) -> None:
    """The Python reference covers trends, funnels, retention, lifecycle, stickiness,
    distribution, interval, paths, segments and profiles."""
    checked = {SPECS[name]["kind"] for name in SPECS if name in _CHECKED}
    assert checked == {s["kind"] for s in SPECS.values()}


_CHECKED = {
    "trends_total_compare",
    "distribution",
    "interval",
    "stickiness_day",
    "lifecycle_day",
    "retention_day_recurring",
    "funnel_unordered",
    "funnel_ordered_breakdown_trend",
    "segment_any",
    "profile_by_person",
    "paths_all",
}


def test_both_engines_give_the_same_funnel_drop_offs(
    duckdb_ctx: QueryContext, spark_ctx: QueryContext
) -> None:
    """The people who dropped off at a step (the list saved as a segment) are the same."""
    from growthloop.analytics.funnels import Funnel

    spec = parse_spec(SPECS["funnel_exclusions_breakdown"])
    lists = []
    for ctx in (duckdb_ctx, spark_ctx):
        people = Funnel(spec, ctx).people(2, dropped=True)  # type: ignore[arg-type]
        lists.append([r["person_id"] for r in ctx.execute(people)])
    assert lists[0] == lists[1]
    assert len(lists[0]) > 50


@pytest.mark.parametrize("backend", BACKENDS)
def test_property_keys_starting_with_dollar_are_keys(
    backend: str, request: pytest.FixtureRequest, demo_export: Path
) -> None:
    """`$os` is the member named "$os" (DuckDB once read such a key as a JSON path)."""
    import json

    from growthloop.analytics.filters import filter_expr
    from growthloop.analytics.spec import PropertyFilter

    props = pq.read_table(demo_export / "events", columns=["properties"]).column(0).to_pylist()
    want = sum(1 for p in props if json.loads(p or "{}").get("$os") == "iOS")
    assert want > 1000
    ctx: QueryContext = request.getfixturevalue(f"{backend}_ctx")
    events = ctx.events()
    ios = filter_expr(events, PropertyFilter(key="$os", value="iOS"))
    assert ctx.execute(events.aggregate(n=ios.cast("int64").sum()))[0]["n"] == want


def test_saved_segments_give_the_same_answers_on_both_engines(
    demo_dir: Path, tmp_path: Path, spark_session: Any, demo_export: Path, rows: Rows
) -> None:
    """Saved segments (`segment_id` filters and breakdowns) come from the metadata database
    on Spark too (`QueryContext.for_spark(..., saved=...)`)."""
    from growthloop.analytics.saved_segments import create_segment, create_static_segment
    from growthloop.analytics.saved_segments_query import WorkspaceSegments
    from growthloop.analytics.spec import SegmentDefinition
    from tests.backend_specs import SHOPPERS

    metadata = f"sqlite:///{tmp_path / 'metadata.sqlite'}"
    with Workspace.open(demo_dir, metadata_url=metadata) as ws:
        project = ws.ensure_project(ws.settings.default_project)
        chosen = sorted(rows.persons)[:400]
        static = create_static_segment(ws, project.id, "first 400", chosen, "test")
        rule = create_segment(
            ws, project.id, "shoppers", SegmentDefinition.model_validate(SHOPPERS)
        )
        saved = WorkspaceSegments.for_slug(ws, project.slug, NOW)
        engines = [
            QueryContext.for_workspace(ws, now_utc=NOW),
            QueryContext.for_spark(spark_session, demo_export, now_utc=NOW, saved=saved),
        ]
        specs = [
            {
                "kind": "trends",
                "series": [{"math": "unique_users"}],
                "interval": "week",
                "date_range": {"date_from": "-30d"},
                "filters": [{"type": "segment", "segment_id": static.id}],
            },
            {
                "kind": "funnel",
                "steps": [{"event": "product_view"}, {"event": "purchase"}],
                "date_range": {"date_from": "-30d"},
                "breakdown": {"property": {"key": f"{static.id},{rule.id}", "type": "segment"}},
            },
        ]
        for spec in specs:
            got = [run_analysis(parse_spec(spec), ctx).to_dict() for ctx in engines]
            problems = _differences(got[0], got[1])
            assert not problems, f"{spec['kind']}: spark differs from duckdb: {problems[:10]}"
        lo, hi = _range("-30d")
        active = {e["person_id"] for e in _in(rows, lo, hi)} & set(chosen)
        trends = run_analysis(parse_spec(specs[0]), engines[1])
        assert trends.lines[0].total == len(active) > 0  # type: ignore[attr-defined]
