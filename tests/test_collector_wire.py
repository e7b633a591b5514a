"""Wire formats the browser SDKs use, built byte for byte as posthog-js and sa-sdk-javascript
send them, plus retries: a message sent again (same SDK id) is stored once."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import httpx

from growthloop.workspace import Workspace
from tests.test_collector_server import collector_app, key_of, live_server

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/124.0.0.0 Mobile Safari/537.36"
)


def rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return ws.events().con.cursor().execute(sql).fetchall()


def posthog_js_events(key: str) -> list[dict[str, Any]]:
    """What posthog-js queues: the key and distinct_id ride in properties."""
    return [
        {
            "uuid": f"0190a8f4-7c2b-7000-8000-00000000000{i}",
            "event": "$pageview",
            "properties": {
                "token": key,
                "distinct_id": "0190a8f4-anon",
                "$current_url": "https://shop.example/p?utm_source=baidu&utm_medium=cpc",
                "$session_id": "0190a8f4-sess",
                "$raw_user_agent": ANDROID,
                "i": i,
            },
            "timestamp": f"2026-03-01T10:0{i}:00.000Z",
        }
        for i in range(3)
    ]


def test_posthog_js_gzip_and_base64_forms(workspace: Workspace) -> None:
    key = key_of(workspace)
    events = posthog_js_events(key)
    gzipped = gzip.compress(json.dumps(events[:2]).encode())
    form = base64.b64encode(json.dumps(events[2:]).encode()).decode()
    with live_server(collector_app(workspace)) as url:
        a = httpx.post(f"{url}/e/?compression=gzip-js&ver=1.200.0", content=gzipped,
                       headers={"Content-Type": "text/plain"})  # fmt: skip
        b = httpx.post(f"{url}/i/v0/e/", data={"data": form, "compression": "base64"})
        again = httpx.post(f"{url}/e/?compression=gzip-js", content=gzipped)  # a retry
    assert [r.status_code for r in (a, b, again)] == [200, 200, 200], (a.text, b.text)
    assert (a.json()["accepted"], b.json()["accepted"]) == (2, 1)
    stored = rows(workspace, "SELECT distinct_id, session_id, os, browser, device_type, channel,"
                             " CAST(properties AS VARCHAR) FROM events ORDER BY timestamp")  # fmt: skip
    assert len(stored) == 3  # the retry's uuids were already stored
    for distinct_id, session, os, browser, device, channel, props in stored:
        assert (distinct_id, session) == ("0190a8f4-anon", "0190a8f4-sess")
        assert (os, browser, device, channel) == (
            "Android",
            "Chrome Mobile",
            "Mobile",
            "Paid Search",
        )
        assert "token" not in json.loads(props)  # the key is not stored as event data


def sensors_js_message(i: int, flush_time: int) -> dict[str, Any]:
    """sa-sdk-javascript's shape: _track_id per event, _flush_time per send."""
    return {
        "type": "track",
        "event": "$pageview",
        "distinct_id": "18e0c1f2a-cookie",
        "anonymous_id": "18e0c1f2a-cookie",
        "identities": {"$identity_cookie_id": "18e0c1f2a-cookie"},
        "properties": {
            "$url": f"https://m.shop.example/item/{i}?utm_source=baidu&utm_medium=cpc",
            "$referrer": "",
            "$os": "iOS",
            "$browser": "WeChat",
            "$title": "商品",
            "$lib": "js",
        },
        "lib": {"$lib": "js", "$lib_method": "code", "$lib_version": "1.26.0"},
        "time": 1772359200000 + i * 60_000,
        "_track_id": 718230912 + i,
        "_flush_time": flush_time,
    }


def test_sensors_js_image_beacon_batch_and_retry(workspace: Workspace) -> None:
    key = key_of(workspace)

    def b64(messages: Any) -> str:
        return base64.b64encode(json.dumps(messages, ensure_ascii=False).encode()).decode()

    with live_server(collector_app(workspace)) as url:
        image = httpx.get(
            f"{url}/sa.gif",
            params={"token": key, "data": b64(sensors_js_message(0, 1)), "ext": "crc=-12"},
        )
        batch = httpx.post(
            f"{url}/sa?token={key}",
            data={
                "data_list": b64([sensors_js_message(1, 2), sensors_js_message(2, 2)]),
                "gzip": "9",
            },
        )
        # The same two events again, as a retry after a timeout: only _flush_time differs.
        retry = httpx.post(
            f"{url}/sa?token={key}",
            data={
                "data_list": b64([sensors_js_message(1, 3), sensors_js_message(2, 3)]),
                "gzip": "9",
            },
        )
    assert [r.status_code for r in (image, batch, retry)] == [200] * 3, image.text
    stored = rows(workspace, "SELECT url, os, browser, channel, json_extract_string(properties, '$.\"$title\"')"
                             " FROM events ORDER BY timestamp")  # fmt: skip
    assert [s[0] for s in stored] == [
        f"https://m.shop.example/item/{i}?utm_source=baidu&utm_medium=cpc" for i in range(3)
    ]
    assert {s[1:] for s in stored} == {("iOS", "WeChat", "Paid Search", "商品")}


def test_segment_gzip_body_and_write_key_in_body(workspace: Workspace) -> None:
    key = key_of(workspace)
    message = {"type": "track", "event": "Signed Up", "userId": "u1", "messageId": "m-1",
               "timestamp": "2026-03-01T10:00:00+08:00", "properties": {"plan": "pro"}}  # fmt: skip
    with live_server(collector_app(workspace)) as url:
        r = httpx.post(f"{url}/v1/batch", content=gzip.compress(json.dumps({"writeKey": key, "batch": [message]}).encode()),
                       headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip
        single = httpx.post(f"{url}/v1/track", json={**message, "writeKey": key})  # same messageId
    assert r.status_code == 200 and r.json() == {"success": True, "accepted": 1, "rejected": 0}
    assert single.status_code == 200
    assert rows(workspace, "SELECT event, distinct_id, CAST(timestamp AS VARCHAR) FROM events") == [
        ("Signed Up", "u1", "2026-03-01 02:00:00")  # +08:00 stored as UTC
    ]


def test_sensors_id_mapping_3_bind_merges_the_cookie_into_the_login(workspace: Workspace) -> None:
    key = key_of(workspace)
    before = {**sensors_js_message(0, 1), "distinct_id": "cookie-1"}
    bind = {
        "type": "track_id_bind",
        "event": "$BindID",
        "distinct_id": "u-42",
        "login_id": "u-42",
        "anonymous_id": "cookie-1",
        "identities": {"$identity_cookie_id": "cookie-1", "$identity_login_id": "u-42"},
        "properties": {"$lib": "js"},
        "time": 1772359260000,
        "_track_id": 5,
    }
    after = {**sensors_js_message(2, 1), "distinct_id": "u-42", "login_id": "u-42"}
    data = base64.b64encode(json.dumps([before, bind, after]).encode()).decode()
    with live_server(collector_app(workspace)) as url:
        r = httpx.post(f"{url}/sa?token={key}", data={"data_list": data, "gzip": "9"})
    assert r.status_code == 200 and r.json() == {"accepted": 3, "rejected": 0}
    stored = rows(workspace, "SELECT event, distinct_id, person_id FROM events ORDER BY timestamp")
    assert [(e, d) for e, d, _ in stored] == [
        ("$pageview", "cookie-1"),
        ("$BindID", "cookie-1"),
        ("$pageview", "u-42"),
    ]
    assert len({p for _, _, p in stored}) == 1


def test_browsers_may_call_from_the_tracked_site(workspace: Workspace) -> None:
    """CORS: the preflight posthog-js needs for JSON and gzip bodies, and readable answers."""
    from growthloop.web.app import create_app

    site = {"Origin": "https://shop.example"}
    event = {"event": "e", "distinct_id": "d", "api_key": key_of(workspace)}
    with live_server(create_app(workspace)) as url:
        preflight = httpx.request("OPTIONS", f"{url}/e/", headers={
            **site, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})  # fmt: skip
        posted = httpx.post(f"{url}/e/", json=event, headers=site)
        refused = httpx.post(f"{url}/v1/track", json={"event": "e", "userId": "u"}, headers=site)
        not_preflight = httpx.request("OPTIONS", f"{url}/sa")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    assert posted.status_code == 200
    assert posted.headers["access-control-allow-origin"] == "https://shop.example"
    assert refused.status_code == 401  # the error is readable by the page too
    assert refused.headers["access-control-allow-origin"] == "https://shop.example"
    assert not_preflight.status_code == 400 and "CORS preflight" in not_preflight.json()["detail"]
