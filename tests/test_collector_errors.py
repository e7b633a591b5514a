"""Bad input, for each SDK's endpoints: malformed body -> 400 naming what was wrong, unknown
key -> 401, body over the limit -> 413, spool over its limit -> 503 with Retry-After, and a
bad event inside a batch -> dead-letter file with the reason while the good ones are stored."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from growthloop.workspace import Workspace
from tests.test_collector_server import collector_app, key_of, live_server


def event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "event": "view",
        "distinct_id": f"u{i}",
        "timestamp": f"2026-03-01T10:{i:02d}:00Z",
        **extra,
    }


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def sensors_form(messages: Any, gzipped: bool = True) -> dict[str, str]:
    raw = json.dumps(messages).encode()
    data = base64.b64encode(gzip.compress(raw) if gzipped else raw).decode()
    return {"data_list": data, "gzip": "1" if gzipped else "9"}


def dead_letters(ws: Workspace) -> list[dict[str, Any]]:
    path = ws.settings.data_dir / "collector" / "deadletter" / "default.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_malformed_bodies_get_400_naming_the_problem(workspace: Workspace) -> None:
    key = key_of(workspace)
    with live_server(collector_app(workspace)) as url:
        cases = [
            (httpx.post(f"{url}/batch/", content=b'{"api_key": "x", "batch": [', headers={"Content-Type": "application/json"}),
             "body: not valid JSON (Expecting value at line 1 column 28)"),
            (httpx.post(f"{url}/e/", data={"data": "%%%not base64%%%"}), "form field 'data': not valid base64"),
            (httpx.post(f"{url}/e/", content=b"\x1f\x8b\x08\x00garbage"), "body: gzip data is cut short"),
            (httpx.post(f"{url}/capture/", json={"api_key": key, "event": "x"}),
             "distinct_id: must be a non-empty string, got missing"),
            (httpx.post(f"{url}/capture/", json={"api_key": key, "event": "x", "distinct_id": "d", "timestamp": "yesterday"}),
             "timestamp: 'yesterday' is not an ISO 8601 timestamp"),
            (httpx.post(f"{url}/batch/", json={"api_key": key, "batch": {}}), "field 'batch' must be a list of events"),
            (httpx.post(f"{url}/v1/batch", json={"batch": "no"}, headers=basic(key)), "field 'batch' must be a list of messages"),
            (httpx.post(f"{url}/v1/track", json={"userId": "u", "properties": {}}, headers=basic(key)),
             "event: must be a non-empty string, got missing"),
            (httpx.post(f"{url}/v1/identify", json={"traits": {}}, headers=basic(key)), "userId: userId or anonymousId is required"),
            (httpx.post(f"{url}/sa?token={key}", data={"gzip": "1"}), "no form field 'data' or 'data_list'"),
            (httpx.post(f"{url}/sa?token={key}", data={"data_list": base64.b64encode(b"[{").decode()}),
             "field 'data_list': not valid JSON"),
        ]  # fmt: skip
    for response, message in cases:
        assert response.status_code == 400, (message, response.text)
        assert message in response.json()["detail"], response.json()
    assert workspace.events().count("events") == 0


def test_unknown_or_missing_keys_get_401(workspace: Workspace) -> None:
    with live_server(collector_app(workspace)) as url:
        responses = [
            httpx.post(f"{url}/batch/", json={"api_key": "gl_wrong", "batch": [event(1)]}),
            httpx.post(f"{url}/i/v0/e/", json=[event(1)]),
            httpx.post(f"{url}/v1/batch", json={"batch": [{"type": "track", "event": "e", "userId": "u"}]}, headers=basic("gl_wrong")),
            httpx.post(f"{url}/v1/track", json={"event": "e", "userId": "u"}),
            httpx.post(f"{url}/sa?token=gl_wrong", data=sensors_form([{"type": "track", "event": "e", "distinct_id": "d", "time": 1767225600000}])),
            httpx.get(f"{url}/sa.gif", params=sensors_form([{"type": "track", "event": "e", "distinct_id": "d"}], gzipped=False)),
        ]  # fmt: skip
    assert [r.status_code for r in responses] == [401] * 6, [r.text for r in responses]
    assert "unknown ingestion key" in responses[0].json()["detail"]
    assert "no ingestion key" in responses[1].json()["detail"]
    assert workspace.events().count("events") == 0


def test_bodies_over_the_limit_get_413(workspace: Workspace) -> None:
    key = key_of(workspace)
    big = json.dumps(
        {"api_key": key, "batch": [event(i % 60, pad="x" * 500) for i in range(100)]}
    ).encode()
    assert len(big) > 20_000

    def chunks() -> Any:  # no Content-Length: the limit is applied while reading
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    bomb = gzip.compress(
        json.dumps({"api_key": key, "batch": [event(1, pad="0" * 100_000)]}).encode()
    )
    assert len(bomb) < 20_000
    with live_server(collector_app(workspace, max_body_bytes=20_000)) as url:
        declared = httpx.post(
            f"{url}/batch/", content=big, headers={"Content-Type": "application/json"}
        )
        streamed = httpx.post(f"{url}/v1/batch", content=chunks(), headers=basic(key))
        inflated = httpx.post(f"{url}/batch/", content=bomb, headers={"Content-Encoding": "gzip"})
        small = httpx.post(f"{url}/batch/", json={"api_key": key, "batch": [event(1)]})
    assert (
        declared.status_code == 413
        and "larger than the limit of 20,000 bytes" in declared.json()["detail"]
    )
    assert streamed.status_code == 413
    assert inflated.status_code == 413 and "once decompressed" in inflated.json()["detail"]
    assert small.status_code == 200
    assert workspace.events().count("events") == 1


def test_a_full_spool_gets_503_with_retry_after_and_keeps_what_it_acknowledged(
    workspace: Workspace,
) -> None:
    key = key_of(workspace)
    # The loader only takes closed segments; with a long segment age nothing closes while the
    # server runs, so the spool fills up. Shutdown closes and loads them.
    app = collector_app(
        workspace, max_spool_bytes=3_000, segment_seconds=3600, retry_after_seconds=7
    )
    statuses, acked = [], 0
    with live_server(app) as url:
        for i in range(40):
            r = httpx.post(f"{url}/batch/", json={"api_key": key, "batch": [event(i % 60, n=i)]})
            statuses.append(r.status_code)
            if r.status_code == 200:
                acked += 1
            else:
                assert r.status_code == 503
                assert r.headers["retry-after"] == "7"
                assert "spool is full" in r.json()["detail"]
    assert 0 < acked < 40 and statuses == [200] * acked + [503] * (40 - acked)
    assert workspace.events().count("events") == acked


@pytest.mark.parametrize("sdk", ["posthog", "segment", "sensors"])
def test_bad_events_in_a_batch_go_to_the_dead_letter_file(workspace: Workspace, sdk: str) -> None:
    key = key_of(workspace)
    with live_server(collector_app(workspace)) as url:
        if sdk == "posthog":
            batch = [
                event(1),
                {"event": "view", "timestamp": "2026-03-01T10:00:00Z"},
                event(2),
                event(3, timestamp="2200-01-01T00:00:00Z"),
            ]
            r = httpx.post(f"{url}/batch/", json={"api_key": key, "batch": batch})
            reasons = [
                "[1].distinct_id: must be a non-empty string, got missing",
                "[3].timestamp: '2200-01-01T00:00:00Z' is not between 1990 and 2100",
            ]
        elif sdk == "segment":
            batch = [
                {"type": "track", "event": "a", "userId": "u1"},
                {"type": "track", "userId": "u2"},
                {"type": "teleport", "userId": "u3"},
                {"type": "page", "anonymousId": "a4"},
            ]
            r = httpx.post(f"{url}/v1/batch", json={"batch": batch}, headers=basic(key))
            reasons = [
                "[1].event: must be a non-empty string, got missing",
                "[2].type: 'teleport' is not one of track, identify, page, screen, group, alias",
            ]
        else:
            batch = [
                {"type": "track", "event": "a", "distinct_id": "d1", "time": 1772359200000},
                {
                    "type": "profile_increment",
                    "distinct_id": "d1",
                    "properties": {"n": "two"},
                    "time": 1772359200000,
                },
                {"type": "track", "event": "b", "distinct_id": "d1", "time": 1772359260000},
                {"type": "track", "event": "c", "distinct_id": "", "time": 1772359260000},
            ]
            r = httpx.post(f"{url}/sa?token={key}", data=sensors_form(batch))
            reasons = [
                "[1].properties.n: profile_increment needs a number",
                "[3].distinct_id: must be a non-empty string",
            ]
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (2, 2)
    letters = dead_letters(workspace)
    assert [d["reason"] for d in letters] == reasons
    bad = [int(reason[1]) for reason in reasons]
    assert [d["message"] for d in letters] == [batch[i] for i in bad]
    assert {d["source"] for d in letters} == {sdk}
    assert workspace.events().count("events") == 2


def test_deadletter_lives_in_the_data_directory(workspace: Workspace) -> None:
    """The documented place of the dead-letter files."""
    doc = (Path(__file__).parent.parent / "docs" / "collector.md").read_text()
    assert "collector/deadletter/<project>.jsonl" in doc


def test_a_spool_that_cannot_be_written_gets_503_and_nothing_is_acknowledged(
    workspace: Workspace,
) -> None:
    # A file where the project's spool folder belongs: every write fails, as on a broken disk.
    spool = workspace.settings.data_dir / "collector" / "spool"
    spool.mkdir(parents=True)
    (spool / "default").write_text("not a folder")
    with live_server(collector_app(workspace)) as url:
        r = httpx.post(f"{url}/batch/", json={"api_key": key_of(workspace), "batch": [event(1)]})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "the spool cannot be written (Not a directory)" in r.json()["detail"]
    assert workspace.events().count("events") == 0
