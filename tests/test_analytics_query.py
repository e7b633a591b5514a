"""`growthloop query` and spec parsing: any spec kind, three output formats, clear errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from growthloop.analytics import SpecError, parse_spec
from growthloop.analytics.funnels import FunnelSpec
from growthloop.cli import app
from growthloop.workspace import Workspace
from tests.analytics_reference import BASE, Ev, insert_events

FUNNEL = {
    "kind": "funnel",
    "steps": [{"event": "view"}, {"event": "buy", "name": "Purchase"}],
    "window": {"value": 1, "unit": "hour"},
    "date_range": {"date_from": "2024-03-04", "date_to": "2024-03-05"},
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    ws = Workspace.open(tmp_path / "data", timezone="UTC")
    (tmp_path / "data" / "growthloop.toml").write_text('timezone = "UTC"\n')
    events = [Ev(f"u{i}", "view", BASE + timedelta(hours=i)) for i in range(4)]
    events += [
        Ev("u0", "buy", BASE + timedelta(minutes=30)),
        Ev("u1", "buy", BASE + timedelta(hours=3)),
    ]
    insert_events(ws.events().con, events)
    ws.close()
    return tmp_path / "data"


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_query_prints_json_csv_and_table(data_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "funnel.json"
    spec.write_text(json.dumps(FUNNEL))
    code, out, err = run(["query", str(spec), "--format", "json", "--data-dir", str(data_dir)])
    assert code == 0, err
    result = json.loads(out)
    assert [(s["name"], s["count"]) for s in result["groups"][0]["steps"]] == [
        ("view", 4),
        ("Purchase", 1),  # u1 bought two hours after viewing: outside the 1-hour window
    ]
    assert result["groups"][0]["steps"][1]["median_seconds_from_first"] == 1800.0
    code, out, _ = run(["query", str(spec), "--format", "csv", "--data-dir", str(data_dir)])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["step"], r["count"], r["conversion_from_first"]) for r in rows] == [
        ("1", "4", "1"),
        ("2", "1", "0.25"),
    ]
    code, out, _ = run(["query", str(spec), "--data-dir", str(data_dir)])
    assert code == 0 and "Purchase" in out and "0.25" in out


def test_query_runs_trends_and_retention(data_dir: Path, tmp_path: Path) -> None:
    trends = tmp_path / "trends.json"
    trends.write_text(
        json.dumps(
            {
                "kind": "trends",
                "series": [{"event": "view", "math": "unique_users"}],
                "interval": "day",
                "date_range": {"date_from": "2024-03-04", "date_to": "2024-03-04"},
            }
        )
    )
    code, out, err = run(["query", str(trends), "--format", "json", "--data-dir", str(data_dir)])
    assert code == 0, err
    assert json.loads(out)["lines"][0]["values"] == [4.0]
    retention = tmp_path / "retention.json"
    retention.write_text(
        json.dumps(
            {
                "kind": "retention",
                "start_event": {"event": "view"},
                "period": "day",
                "periods": 1,
                "date_range": {"date_from": "2024-03-04", "date_to": "2024-03-04"},
            }
        )
    )
    code, out, err = run(["query", str(retention), "--format", "csv", "--data-dir", str(data_dir)])
    assert code == 0, err
    assert out.splitlines()[1].startswith(",2024-03-04T00:00:00,4,1,0")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"kind": "funnel",\n "steps": [}',
            "not valid JSON (Expecting value at line 2, column 12)",
        ),
        (
            '{"kind": "pie"}',
            "kind: unknown analysis kind 'pie' (one of: distribution, funnel, interval, lifecycle, paths, profile, retention, segment,"
            " stickiness, trends)",
        ),
        (
            '{"kind": "funnel", "steps": [{"event": "a"}, {"name": "b"}]}',
            "steps[1].event: Field required",
        ),
        (
            '{"kind": "funnel", "steps": [{"event": "a", "filters": [{"key": "p", "operator": ">",'
            ' "value": "x"}]}, {"event": "b"}]}',
            "steps[0].filters[0]: operator '>' needs a number, got 'x'",
        ),
    ],
)
def test_spec_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "spec.json")
    assert str(info.value) == f"spec.json: {message}"


def test_query_reports_bad_specs_and_projects(data_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({**FUNNEL, "steps": FUNNEL["steps"][:1]}))
    code, _, err = run(["query", str(spec), "--data-dir", str(data_dir)])
    assert code == 2
    assert "bad.json: steps: a funnel needs 2 to 20 steps, this one has 1" in " ".join(err.split())
    spec.write_text(json.dumps({**FUNNEL, "date_range": {"date_from": "someday"}}))
    code, _, err = run(["query", str(spec), "--data-dir", str(data_dir)])
    assert code == 2 and "date_range: 'someday' is not a date" in err
    spec.write_text(json.dumps(FUNNEL))
    code, _, err = run(["query", str(spec), "--data-dir", str(data_dir), "--project", "nope"])
    assert code == 2 and "unknown project 'nope'" in err


def test_specs_round_trip_through_json() -> None:
    spec = parse_spec(json.dumps(FUNNEL))
    assert isinstance(spec, FunnelSpec)
    assert parse_spec(spec.model_dump_json()) == spec


def test_docs_cover_every_kind_operator_and_option() -> None:
    from typing import get_args

    from growthloop.analytics import RUNNERS
    from growthloop.analytics.funnels import Attribution, FunnelMode
    from growthloop.analytics.spec import Operator
    from growthloop.analytics.trends import Math

    docs = (Path(__file__).resolve().parent.parent / "docs" / "analytics.md").read_text()
    for kind in RUNNERS:
        assert f'"kind": "{kind}"' in docs, kind
    for name in [
        *get_args(Operator),
        *get_args(Math),
        *get_args(FunnelMode),
        *get_args(Attribution),
    ]:
        assert f"`{name}`" in docs, name


def test_query_runs_lifecycle_and_stickiness(data_dir: Path, tmp_path: Path) -> None:
    day = {"date_from": "2024-03-04", "date_to": "2024-03-04"}
    spec = tmp_path / "lifecycle.json"
    spec.write_text(
        json.dumps({"kind": "lifecycle", "event": {"event": "view"}, "date_range": day})
    )
    code, out, err = run(["query", str(spec), "--format", "json", "--data-dir", str(data_dir)])
    assert code == 0, err
    assert json.loads(out)["counts"]["new"] == [4]
    spec.write_text(json.dumps({"kind": "stickiness", "date_range": day}))
    code, out, err = run(["query", str(spec), "--format", "csv", "--data-dir", str(data_dir)])
    assert code == 0, err
    assert out.splitlines() == ["day,dau,wau,mau,dau_mau", "2024-03-04T00:00:00,4,4,4,1"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"kind": "paths", "cleaning": [{"regex": "/product/(\\d+"}]},
            "cleaning: cleaning[0].regex '/product/(\\\\d+' is not a regular expression",
        ),
        (
            {"kind": "paths", "cleaning": [{"regex": "/a"}, {"regex": "/p/(?!x)"}]},
            "cleaning: cleaning[1].regex '/p/(?!x)': lookaround and backreferences are not"
            " supported (RE2 syntax)",
        ),
        (
            {
                "kind": "trends",
                "series": [{"math": "total"}],
                "interval": "hour",
                "date_range": {"date_from": "2024-01-01", "date_to": "2024-12-31"},
            },
            "interval: 8784 hour buckets is more than 5000: choose a shorter date range or a"
            " longer interval",
        ),
    ],
)
def test_specs_the_engine_cannot_run_are_refused_before_running(
    data_dir: Path, spec: dict[str, object], message: str
) -> None:
    """Problems found past parsing (a regex, the number of buckets) are SpecErrors too."""
    from growthloop.analytics import QueryContext, run_analysis

    with Workspace.open(data_dir) as ws:
        ctx = QueryContext.for_workspace(ws)
        with pytest.raises(SpecError) as info:
            run_analysis(parse_spec(spec), ctx)
    assert str(info.value).startswith(message)
