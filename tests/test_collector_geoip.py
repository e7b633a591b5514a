"""GeoIP from a MaxMind database in <data dir>/geoip/: country and city of `$ip`, of Segment's
context.ip, or of the sender (through a trusted proxy's X-Forwarded-For); never over what the
SDK said itself, and not when it asked for none ($geoip_disable)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from growthloop.workspace import Workspace
from tests.test_collector_server import collector_app, key_of, live_server


def write_database(path: Path) -> None:
    """A tiny City database with two known networks (MaxMind's record layout)."""
    writer = MMDBWriter(
        ip_version=6, database_type="GeoLite2-City", languages=["en"], ipv4_compatible=True
    )
    writer.insert_network(
        IPSet(["1.2.3.0/24"]),
        {"country": {"iso_code": "CN", "names": {"en": "China", "zh-CN": "中国"}},
         "city": {"names": {"en": "Hangzhou", "zh-CN": "杭州"}}},
    )  # fmt: skip
    writer.insert_network(IPSet(["8.8.8.0/24"]), {"country": {"names": {"en": "United States"}}})
    path.parent.mkdir(parents=True)
    writer.to_db_file(str(path))


def test_country_and_city_come_from_the_database(workspace: Workspace) -> None:
    write_database(workspace.settings.data_dir / "geoip" / "GeoLite2-City.mmdb")
    key = key_of(workspace)

    def ph(name: str, **props: object) -> dict[str, object]:
        return {
            "event": name,
            "distinct_id": "d",
            "timestamp": "2026-03-01T10:00:00Z",
            "properties": props,
        }

    sensors = base64.b64encode(
        json.dumps(
            [{"type": "track", "event": "sa", "distinct_id": "d", "time": 1772359200000}]
        ).encode()
    )
    with live_server(collector_app(workspace)) as url:
        batch = [
            ph("ip", **{"$ip": "1.2.3.4"}),
            ph("disabled", **{"$ip": "1.2.3.4", "$geoip_disable": True}),
            ph("told", **{"$ip": "1.2.3.4", "$geoip_country_name": "Japan"}),
            ph("private", **{"$ip": "10.0.0.1"}),
            ph("unknown", **{"$ip": "9.9.9.9"}),
        ]
        assert httpx.post(f"{url}/batch/", json={"api_key": key, "batch": batch}).status_code == 200
        segment = {
            "type": "track",
            "event": "seg",
            "userId": "u",
            "context": {"ip": "8.8.8.8"},
            "writeKey": key,
        }
        assert httpx.post(f"{url}/v1/track", json=segment).status_code == 200
        proxied = httpx.post(f"{url}/sa?token={key}", data={"data_list": sensors.decode()},
                             headers={"X-Forwarded-For": "1.2.3.77"})  # fmt: skip
        assert proxied.status_code == 200
    places = dict(
        (e, (c, t))
        for e, c, t in workspace.events()
        .con.execute("SELECT event, country, city FROM events")
        .fetchall()
    )
    assert places == {
        "ip": ("China", "Hangzhou"),
        "disabled": (None, None),
        "told": ("Japan", None),
        "private": (None, None),
        "unknown": (None, None),
        "seg": ("United States", None),
        "sa": ("China", "Hangzhou"),
    }


def test_without_a_database_nothing_is_looked_up(workspace: Workspace) -> None:
    key = key_of(workspace)
    event = {"event": "e", "distinct_id": "d", "properties": {"$ip": "1.2.3.4"}, "api_key": key}
    with live_server(collector_app(workspace)) as url:
        assert httpx.post(f"{url}/capture/", json=event).status_code == 200
    assert workspace.events().con.execute("SELECT country, city FROM events").fetchall() == [
        (None, None)
    ]
