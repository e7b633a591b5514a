"""The demo business: determinism, realistic structure and every planted pattern, recovered from
the generated files with plain SQL + numpy/scipy (tests/demo_checks.py)."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import demo_checks as chk
import duckdb
import pytest
from typer.testing import CliRunner

from growthloop.cli import app
from growthloop.demo import write_demo_files
from growthloop.demo.generate import KINDS, write_demo

END = date(2026, 11, 23)
SEED = 7


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo-source"
    write_demo(out, "small", SEED, END)
    return out


@pytest.fixture(scope="module")
def facts(source_dir: Path) -> dict:  # type: ignore[type-arg]
    manifest = json.loads((source_dir / "manifest.json").read_text())
    return manifest["patterns"]  # type: ignore[no-any-return]


_FILE_VIEWS = {
    "events": "events-*.parquet",
    "orders": "orders.parquet",
    "spend": "spend.parquet",
    "content_items": "content.parquet",
    "content_metrics": "content-metrics.parquet",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The README's first command, in-process: `growthloop demo` into a fresh data directory."""
    data = tmp_path_factory.mktemp("built") / "data"
    result = CliRunner().invoke(
        app, ["demo", "--seed", str(SEED), "--end", END.isoformat(), "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    return data, result.output


@pytest.fixture(scope="module", params=["files", "store"])
def con(request: pytest.FixtureRequest, source_dir: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store's table names over the Parquet import files, or over the imported event store
    (its naive UTC timestamps turned into TIMESTAMPTZ so the same queries serve both)."""
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    if request.param == "files":
        for name, pattern in _FILE_VIEWS.items():
            c.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source_dir / pattern}')")
    else:
        data, _ = request.getfixturevalue("built")
        c.execute(f"ATTACH '{data / 'events' / 'default.duckdb'}' AS store (READ_ONLY)")
        for name in ("events", "orders"):
            c.execute(
                f"CREATE VIEW {name} AS SELECT * REPLACE (timezone('UTC', timestamp) AS timestamp)"
                f" FROM store.{name}"
            )
        for name in ("spend", "content_items", "content_metrics"):
            c.execute(f"CREATE VIEW {name} AS SELECT * FROM store.{name}")
    yield c
    c.close()


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path, source_dir: Path) -> None:
    files = write_demo_files(tmp_path / "again", "small", SEED, END)
    assert sorted(files) == sorted(KINDS)
    assert all(p.parent == tmp_path / "again" and p.exists() for f in files.values() for p in f)
    assert _digest(tmp_path / "again") == _digest(source_dir)
    write_demo(tmp_path / "other", "small", SEED + 1, END)
    other = _digest(tmp_path / "other")
    assert other.keys() == _digest(source_dir).keys()
    assert other["events-000.parquet"] != _digest(source_dir)["events-000.parquet"]


def test_size_window_and_valid_ids(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    n, first, last, distinct = con.execute(
        f"SELECT count(*), min({chk.local_day_sql()}), max({chk.local_day_sql()}),"
        " count(DISTINCT uuid) FROM events"
    ).fetchone()  # type: ignore[misc]
    assert 80_000 <= n <= 130_000  # "small ~100k events"
    assert distinct == n
    assert (first, last) == (END - timedelta(days=89), END)
    assert facts["window"] == [str(END - timedelta(days=89)), str(END)]
    for (value,) in con.execute("SELECT uuid FROM events USING SAMPLE 200 ROWS").fetchall():
        assert str(uuid.UUID(str(value))) == str(value)
    names = {r[0] for r in con.execute("SELECT DISTINCT event FROM events").fetchall()}
    assert names == {
        "$pageview", "$identify", "signup", "product_view", "add_to_cart", "checkout",
        "purchase", "experiment_exposure", "content_view", "campaign_participate",
        "points_earned", "points_redeemed", "invite_sent", "referral_signup",
    }  # fmt: skip
    platforms = con.execute(
        "SELECT DISTINCT json_extract_string(properties, '$.platform') FROM events"
    ).fetchall()
    assert {p for (p,) in platforms} == {"iOS", "Android", "Web", "MiniProgram"}


def test_sessions_are_30_minute_sessions(con: duckdb.DuckDBPyConnection) -> None:
    """Within a session no gap reaches 30 minutes; between a person's sessions every gap does.

    Client events only (they have a url): the inviter's referral reward is a server-side event.
    """
    inside, between = con.execute(
        """
        WITH s AS (
          SELECT session_id, min(timestamp) AS a, max(timestamp) AS z,
                 max(CASE WHEN distinct_id LIKE 'u_%' THEN distinct_id END) AS user_id,
                 max(CASE WHEN distinct_id LIKE 'anon_%' THEN distinct_id END) AS anon_id
          FROM events WHERE url IS NOT NULL GROUP BY 1),
        g AS (SELECT session_id, timestamp - lag(timestamp) OVER (PARTITION BY session_id
                ORDER BY timestamp) AS gap FROM events WHERE url IS NOT NULL),
        link AS (SELECT json_extract_string(properties, '$."$anon_distinct_id"') AS anon_id,
                        distinct_id AS user_id FROM events WHERE event = '$identify'),
        who AS (SELECT s.*, coalesce(s.user_id, link.user_id, s.anon_id) AS person
                FROM s LEFT JOIN link USING (anon_id)),
        p AS (SELECT a, lag(z) OVER (PARTITION BY person ORDER BY a) AS prev_end FROM who)
        SELECT (SELECT max(gap) FROM g), (SELECT min(a - prev_end) FROM p)
        """
    ).fetchone()  # type: ignore[misc]
    assert inside < timedelta(minutes=30)
    assert between > timedelta(minutes=30)


def test_identify_links_anonymous_history(con: duckdb.DuckDBPyConnection) -> None:
    """Every $identify names an anonymous id seen earlier and carries the person properties."""
    total, linked, with_set = con.execute(
        """
        SELECT count(*),
          count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events a
             WHERE a.distinct_id = json_extract_string(i.properties, '$."$anon_distinct_id"')
               AND a.timestamp <= i.timestamp)),
          count(*) FILTER (WHERE json_extract_string(i.properties, '$."$set".city') IS NOT NULL
             AND json_extract_string(i.properties, '$."$set".signup_channel') IS NOT NULL)
        FROM events i WHERE event = '$identify'
        """
    ).fetchone()  # type: ignore[misc]
    assert total > 1000
    # an identify on the outage day can lose the anonymous events before it
    assert linked >= 0.98 * total
    assert with_set == total


def test_power_law_activity_and_weekends(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    counts = [
        n
        for (n,) in con.execute(
            "SELECT count(*) FROM events GROUP BY distinct_id ORDER BY 1 DESC"
        ).fetchall()
    ]
    top = counts[: len(counts) // 10]
    assert sum(top) / sum(counts) > 0.4
    special = {chk.day(facts["outage_day"]), *(chk.day(d) for d in facts["campaign"]["days"])}
    per_day = {d: n for d, n in chk.daily(con, "events").items() if d not in special}
    weekend = statistics.mean(n for d, n in per_day.items() if d.weekday() >= 5)
    weekday = statistics.mean(n for d, n in per_day.items() if d.weekday() < 5)
    assert weekend > 1.15 * weekday


def test_purchases_match_orders(con: duckdb.DuckDBPyConnection) -> None:
    n, matched, missing = con.execute(
        """
        SELECT count(*),
          count(*) FILTER (WHERE o.amount = e.revenue AND o.timestamp = e.timestamp
                           AND o.distinct_id = e.distinct_id),
          count(*) FILTER (WHERE e.uuid IS NULL)
        FROM orders o LEFT JOIN events e
          ON e.event = 'purchase' AND json_extract_string(e.properties, '$.order_id') = o.order_id
        """
    ).fetchone()  # type: ignore[misc]
    assert matched + missing == n  # a purchase event, when tracked, agrees with its order
    assert missing < 0.03 * n  # only the outage day loses purchase events


def test_android_checkout_leak(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    rate = chk.android_leak(con, facts)
    android_drop = rate["Android"][0] - rate["Android"][1]
    ios_change = abs(rate["iOS"][0] - rate["iOS"][1])
    assert android_drop >= 0.25
    assert ios_change < 0.15
    assert android_drop > 2 * ios_change


def test_douyin_roi_is_poor(con: duckdb.DuckDBPyConnection) -> None:
    roas = chk.roas(con)
    others = [roas[c] for c in ("baidu", "wechat", "xiaohongshu", "zhihu")]
    assert roas["douyin"] < 0.5 * min(others)
    assert roas["douyin"] < 2.0 < min(others)


def test_high_value_segment_goes_dormant(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    buyers, silent = chk.dormant_share(con, facts, min_orders=4)
    # a customer ordering 4+ times in 60 days orders again within 30 days ~90% of the time
    assert buyers >= 30
    assert silent >= 0.6


def test_experiment_has_a_real_effect(con: duckdb.DuckDBPyConnection) -> None:
    result = chk.experiment(con)
    control, test = result["control"], result["test"]
    assert test[1] / test[0] > control[1] / control[0]
    assert chk.two_proportion_p(control, test) < 0.01
    # balanced assignment: no sample-ratio mismatch
    assert abs(test[0] - control[0]) / (test[0] + control[0]) < 0.1


def test_tracking_outage_day(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    outage = chk.day(facts["outage_day"])
    events, orders = chk.daily(con, "events"), chk.daily(con, "orders")
    assert events[outage] < 0.2 * statistics.median(events.values())
    assert 0.5 < orders[outage] / statistics.median(orders.values()) < 2.0


def test_content_has_a_few_hits(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    top, share = chk.content_top_share(con)
    assert sorted(top) == sorted(facts["content_hits"])
    assert share > 0.45
    channels = con.execute("SELECT count(DISTINCT channel), count(*) FROM content_items").fetchone()
    assert channels == (4, 36)
    views = con.execute(
        "SELECT count(*) FROM events e JOIN content_items c"
        " ON json_extract_string(e.properties, '$.content_id') = c.item_id"
        " WHERE e.event = 'content_view'"
    ).fetchone()
    assert views is not None and views[0] > 500


def test_campaign_spike(con: duckdb.DuckDBPyConnection, facts: dict) -> None:  # type: ignore[type-arg]
    spend_lift, order_lift = chk.campaign_lift(con, facts)
    assert spend_lift > 2.0
    assert order_lift > 2.0
    days = {chk.day(d) for d in facts["campaign"]["days"]}
    joined = {
        d for (d,) in con.execute(
            f"SELECT DISTINCT {chk.local_day_sql()} FROM events WHERE event = 'campaign_participate'"
        ).fetchall()
    }  # fmt: skip
    assert joined == days
    coupon_days = {
        d for (d,) in con.execute(
            f"SELECT DISTINCT {chk.local_day_sql()} FROM orders WHERE coupon = 'SBD30'"
        ).fetchall()
    }  # fmt: skip
    assert coupon_days <= days
    campaign_spend = con.execute(
        "SELECT sum(spend) FROM spend WHERE campaign = ?", [facts["campaign"]["id"]]
    ).fetchone()
    assert campaign_spend is not None
    assert float(campaign_spend[0]) == pytest.approx(facts["campaign"]["spend"], abs=0.01)
    assert float(campaign_spend[0]) < facts["campaign"]["budget"]


def test_points_and_referrals(con: duckdb.DuckDBPyConnection) -> None:
    signups, consistent = chk.referral_consistency(con)
    assert signups > 150
    assert consistent >= 0.97 * signups  # the rest sent their invitation on the outage day
    rules = dict(
        con.execute(
            "SELECT json_extract_string(properties, '$.rule'), count(*) FROM events"
            " WHERE event = 'points_earned' GROUP BY 1"
        ).fetchall()
    )
    assert set(rules) == {"signup", "purchase", "daily_checkin", "referral"}
    # rewards are server-side (the outage does not lose them); signups late on the last day
    # get theirs after the window
    assert abs(rules["referral"] - signups) <= 0.03 * signups
    redeemed = con.execute("SELECT count(*) FROM events WHERE event = 'points_redeemed'").fetchone()
    assert redeemed is not None and redeemed[0] > 50


def test_demo_command_prints_summary_and_store_matches_files(
    built: tuple[Path, str], source_dir: Path
) -> None:
    data, output = built
    assert "demo business (small, seed 7)" in output
    assert "super_brand_day" in output
    manifest = json.loads((data / "demo-source" / "manifest.json").read_text())
    assert manifest == json.loads((source_dir / "manifest.json").read_text())
    with duckdb.connect(str(data / "events" / "default.duckdb"), read_only=True) as store:
        for table, kind in (
            ("events", "events"),
            ("orders", "orders"),
            ("spend", "spend"),
            ("content_items", "content"),
            ("content_metrics", "content-metrics"),
        ):
            row = store.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None and row[0] == manifest["rows"][kind], table


def test_identify_merges_anonymous_history_into_persons(built: tuple[Path, str]) -> None:
    data, _ = built
    with duckdb.connect(str(data / "events" / "default.duckdb"), read_only=True) as store:
        merged, anonymous_left = store.execute(
            """
            SELECT count(*) FILTER (WHERE e.person_id = i.distinct_id),
                   count(*) FILTER (WHERE e.person_id <> i.distinct_id)
            FROM events e JOIN events i ON i.event = '$identify'
              AND e.distinct_id = json_extract_string(i.properties, '$."$anon_distinct_id"')
            """
        ).fetchone()  # type: ignore[misc]
        assert merged > 5000 and anonymous_left == 0
        users, with_properties = store.execute(
            "SELECT count(*), count(*) FILTER (WHERE json_extract_string(properties, '$.city')"
            " IS NOT NULL AND json_extract_string(properties, '$.platform') IS NOT NULL)"
            " FROM persons WHERE person_id IN (SELECT distinct_id FROM events"
            " WHERE event = '$identify')"
        ).fetchone()  # type: ignore[misc]
        assert users > 1000 and with_properties == users


def test_docs_queries_run_on_the_store(built: tuple[Path, str]) -> None:
    """Every SQL example in docs/demo.md runs on a demo store built for the documented dates."""
    data, _ = built
    text = (Path(__file__).parent.parent / "docs" / "demo.md").read_text()
    queries = re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)
    assert len(queries) == 8
    with duckdb.connect(str(data / "events" / "default.duckdb"), read_only=True) as store:
        for sql in queries:
            rows = store.execute(sql).fetchall()
            assert rows, sql
        leak = store.execute(queries[0]).fetchall()
        rate = {(platform, after): r for platform, after, r in leak}
        assert rate[("Android", False)] - rate[("Android", True)] > 0.25
