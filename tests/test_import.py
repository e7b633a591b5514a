"""File import: every format, type checks, all-or-nothing, --skip-bad, idempotent re-import."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from growthloop.ingest.files import BadRowError, import_files
from growthloop.ingest.readers import FileFormatError
from growthloop.workspace import Workspace

EVENT_ROWS = [
    {
        "uuid": "0b0e6f5e-7e0a-4a53-9a55-000000000001",
        "event": "$pageview",
        "distinct_id": "anon_1",
        "timestamp": "2026-03-01 09:00:00",
        "url": "https://shop.example.cn/p/42?utm_source=baidu&utm_medium=cpc&utm_campaign=spring",
        "plan": "free",
    },
    {
        "uuid": "0b0e6f5e-7e0a-4a53-9a55-000000000002",
        "event": "purchase",
        "distinct_id": "anon_1",
        "timestamp": "2026-03-01T02:10:00Z",
        "url": "https://shop.example.cn/checkout",
        "plan": "pro",
    },
    {
        "uuid": "",
        "event": "$pageview",
        "distinct_id": "anon_2",
        "timestamp": "1772330400",
        "url": "https://shop.example.cn/",
        "plan": "",
    },
]
# 2026-03-01 09:00 Asia/Shanghai = 01:00 UTC; 1772330400 = 2026-03-01 02:00:00 UTC.
EXPECTED_UTC = [datetime(2026, 3, 1, 1, 0), datetime(2026, 3, 1, 2, 10), datetime(2026, 3, 1, 2, 0)]


def write_csv(path: Path, rows: list[dict[str, str]], gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]], gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as fh:  # type: ignore[operator]
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def stored_events(ws: Workspace) -> list[tuple[object, ...]]:
    return (
        ws.events()
        .con.execute(
            "SELECT event, distinct_id, timestamp, utm_source, utm_campaign, path,"
            " properties->>'plan' FROM events ORDER BY timestamp"
        )
        .fetchall()
    )


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "jsonl", "jsonl.gz", "parquet"])
def test_events_in_every_format(workspace: Workspace, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"events.{fmt}"
    if fmt.startswith("csv"):
        write_csv(path, EVENT_ROWS, gz=fmt.endswith("gz"))
    elif fmt.startswith("jsonl"):
        rows = [dict(r, properties={"plan": r.pop("plan")}) for r in map(dict, EVENT_ROWS)]
        write_jsonl(path, rows, gz=fmt.endswith("gz"))
    else:
        pq.write_table(pa.Table.from_pylist(EVENT_ROWS), path)
    summary = import_files(workspace, "events", [path])
    assert (summary.rows_read, summary.rows_stored, summary.rows_skipped) == (3, 3, 0)
    rows = sorted(stored_events(workspace), key=lambda r: (r[2], r[0]))
    assert [r[2] for r in rows] == sorted(EXPECTED_UTC)
    by_time = {r[2]: r for r in rows}
    first = by_time[EXPECTED_UTC[0]]
    assert first[:2] == ("$pageview", "anon_1")
    assert (first[3], first[4], first[5]) == ("baidu", "spring", "/p/42")
    assert by_time[EXPECTED_UTC[1]][6] == "pro"  # extra column / properties kept


def test_parquet_native_types_and_timezone_option(workspace: Workspace, tmp_path: Path) -> None:
    table = pa.table(
        {
            "event": ["a", "b"],
            "distinct_id": ["x", "y"],
            "timestamp": pa.array(
                [datetime(2026, 1, 1, 8, 0), datetime(2026, 1, 1, 9, 30)], pa.timestamp("us")
            ),
            "properties": pa.array([{"k": 1}, {"k": 2}]),
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")
    import_files(workspace, "events", [tmp_path / "e.parquet"], timezone="Europe/London")
    got = (
        workspace.events()
        .con.execute("SELECT timestamp, properties->>'k' FROM events ORDER BY timestamp")
        .fetchall()
    )
    assert got == [(datetime(2026, 1, 1, 8, 0), "1"), (datetime(2026, 1, 1, 9, 30), "2")]


def test_column_mapping(workspace: Workspace, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "o.csv",
        [
            {"id": "A1", "buyer": "u1", "paid_at": "2026-02-01 10:00", "total": "99.90"},
            {"id": "A2", "buyer": "u2", "paid_at": "2026-02-01 11:00", "total": "10"},
        ],
    )
    mapping = {"order_id": "id", "distinct_id": "buyer", "timestamp": "paid_at", "amount": "total"}
    summary = import_files(workspace, "orders", [path], mapping=mapping)
    assert summary.rows_stored == 2
    rows = (
        workspace.events()
        .con.execute("SELECT order_id, person_id, amount, currency FROM orders ORDER BY order_id")
        .fetchall()
    )
    assert rows == [("A1", "u1", Decimal("99.90"), "CNY"), ("A2", "u2", Decimal("10.00"), "CNY")]


def test_unknown_mapping_target_and_missing_column(workspace: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [{"id": "A1", "who": "u", "t": "2026-01-01", "x": "1"}])
    with pytest.raises(ValueError, match="orders has no column 'buyer'"):
        import_files(workspace, "orders", [path], mapping={"buyer": "who"})
    with pytest.raises(
        FileFormatError, match=r"o.csv: no column 'order_id'.*--map order_id=COLUMN"
    ):
        import_files(workspace, "orders", [path])


def test_bad_row_in_the_middle_of_a_large_file_stores_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    import_files(workspace, "events", [write_csv(tmp_path / "seed.csv", EVENT_ROWS)])
    before = workspace.events().counts()
    n, bad = 300_000, 150_000
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["event", "distinct_id", "timestamp", "note"])
        for i in range(n):
            ts = "not-a-time" if i == bad else f"2026-01-{1 + i % 28:02d} 10:{i % 60:02d}:00"
            # A quoted field with a newline before the bad row: lines != records.
            note = "two\nlines" if i == 10 else "x"
            w.writerow(["view", f"d{i % 5000}", ts, note])
    with pytest.raises(BadRowError) as info:
        import_files(workspace, "events", [path])
    # header + 150,000 records + 1 extra physical line from the multi-line field
    assert info.value.place == f"{path}:{bad + 3}"
    assert info.value.column == "timestamp" and info.value.value == "not-a-time"
    assert "nothing was imported" in str(info.value)
    assert workspace.events().counts() == before


def test_skip_bad_stores_good_rows_and_writes_rejects(workspace: Workspace, tmp_path: Path) -> None:
    rows = [
        {
            "date": "2026-01-01",
            "channel": "baidu",
            "campaign": "c1",
            "spend": "100.5",
            "clicks": "10",
        },
        {"date": "2026-01-02", "channel": "baidu", "campaign": "c1", "spend": "abc", "clicks": "3"},
        {"date": "2026-13-40", "channel": "douyin", "campaign": "", "spend": "5", "clicks": "1"},
        {"date": "2026-01-02", "channel": "douyin", "campaign": "", "spend": "7", "clicks": "-2"},
        {"date": "2026-01-03", "channel": "", "campaign": "", "spend": "1", "clicks": "1"},
        {"date": "2026-01-03", "channel": "zhihu", "campaign": "", "spend": "2", "clicks": "1.5"},
        {"date": "20260104", "channel": "zhihu", "campaign": "", "spend": "3", "clicks": ""},
    ]
    path = write_csv(tmp_path / "spend.csv", rows)
    with pytest.raises(BadRowError, match=r"spend.csv:3: column 'spend': 'abc' is not a number"):
        import_files(workspace, "spend", [path])
    assert workspace.events().count("spend") == 0
    rejects = tmp_path / "rejects.csv"
    summary = import_files(workspace, "spend", [path], skip_bad=True, rejects_path=rejects)
    assert (summary.rows_read, summary.rows_stored, summary.rows_skipped) == (7, 2, 5)
    with open(rejects, newline="") as fh:
        got = [(r["place"].rsplit(":", 1)[1], r["column"], r["reason"]) for r in csv.DictReader(fh)]
    assert got == [
        ("3", "spend", "not a number"),
        ("4", "date", "not a date (YYYY-MM-DD)"),
        ("5", "clicks", "not a whole number >= 0"),
        ("6", "channel", "missing value"),
        ("7", "clicks", "not a whole number >= 0"),
    ]
    stored = (
        workspace.events()
        .con.execute("SELECT date::VARCHAR, channel, spend FROM spend ORDER BY date")
        .fetchall()
    )
    assert stored == [
        ("2026-01-01", "baidu", Decimal("100.50")),
        ("2026-01-04", "zhihu", Decimal("3.00")),
    ]


def test_bad_json_line_is_named(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    good = json.dumps({"event": "a", "distinct_id": "x", "timestamp": "2026-01-01T00:00:00Z"})
    path.write_text(f"{good}\n\n{good[:-1]}\n[1]\n")
    with pytest.raises(BadRowError, match=r"e.jsonl:3: column '\(line\)'.*not a JSON object"):
        import_files(workspace, "events", [path])
    summary = import_files(
        workspace, "events", [path], skip_bad=True, rejects_path=tmp_path / "r.csv"
    )
    assert (summary.rows_stored, summary.rows_skipped) == (1, 2)


def test_reimport_stores_nothing_twice(workspace: Workspace, tmp_path: Path) -> None:
    events = write_csv(tmp_path / "e.csv", EVENT_ROWS)
    orders = write_jsonl(
        tmp_path / "o.jsonl",
        [
            {
                "order_id": "o1",
                "distinct_id": "anon_1",
                "timestamp": "2026-03-01 10:00",
                "amount": 5,
            },
            {
                "order_id": "o1",
                "distinct_id": "anon_1",
                "timestamp": "2026-03-01 10:00",
                "amount": 5,
            },
            {
                "order_id": "o2",
                "distinct_id": "u9",
                "timestamp": "2026-03-02 10:00",
                "amount": 7.5,
                "items": [{"sku": "A", "qty": 1}],
            },
        ],
    )
    metrics = write_csv(
        tmp_path / "m.csv",
        [
            {"item_id": "c1", "date": "2026-03-01", "views": "10"},
            {"item_id": "c1", "date": "2026-03-01", "views": "12"},
        ],
    )
    for _ in range(2):
        import_files(workspace, "events", [events])
        summary = import_files(workspace, "orders", [orders])
        import_files(workspace, "content-metrics", [metrics])
    assert summary.rows_duplicate == 3 and summary.rows_stored == 0
    counts = workspace.events().counts()
    assert (counts["events"], counts["orders"], counts["content_metrics"]) == (3, 2, 1)
    # Keyed facts: the last value of the import wins.
    assert workspace.events().con.execute("SELECT views FROM content_metrics").fetchall() == [(12,)]
    # The uuid-less row got a derived uuid that is stable across imports.
    again = import_files(workspace, "events", [events])
    assert (again.rows_stored, again.rows_duplicate) == (0, 3)


def test_all_files_of_one_import_or_none(workspace: Workspace, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", EVENT_ROWS)
    bad = write_csv(
        tmp_path / "bad.csv", [{"event": "x", "distinct_id": "", "timestamp": "2026-01-01"}]
    )
    with pytest.raises(BadRowError, match=r"bad.csv:2: column 'distinct_id' is empty but required"):
        import_files(workspace, "events", [good, bad])
    assert workspace.events().count("events") == 0


def test_content_items_and_unknown_format(workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {
                "item_id": "c1",
                "title": "春季穿搭",
                "channel": "xiaohongshu",
                "format": "post",
                "published_at": "2026-03-01 20:00",
                "properties": {"tags": ["穿搭"]},
            }
        ],
    )
    import_files(workspace, "content", [path])
    row = workspace.events().con.execute("SELECT title, published_at FROM content_items").fetchone()
    assert row == ("春季穿搭", datetime(2026, 3, 1, 12, 0))
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(FileFormatError, match="unknown file type"):
        import_files(workspace, "content", [tmp_path / "x.xlsx"])


def test_properties_fill_columns_the_file_lacks(workspace: Workspace, tmp_path: Path) -> None:
    rows = [
        {
            "event": "$pageview",
            "distinct_id": "a",
            "timestamp": "2026-03-01T00:00:00Z",
            "properties": {
                "$current_url": "https://x.cn/a?utm_source=weibo",
                "$os": "iOS",
                "$referrer": "https://www.baidu.com/s?wd=x",
            },
        },
        {
            "event": "$pageview",
            "distinct_id": "b",
            "timestamp": "2026-03-01T00:00:00Z",
            "url": "https://x.cn/b",
            "properties": {"$current_url": "https://ignored.cn/"},
        },
    ]
    import_files(workspace, "events", [write_jsonl(tmp_path / "e.jsonl", rows)])
    got = (
        workspace.events()
        .con.execute(
            "SELECT distinct_id, path, os, utm_source, referrer_domain, channel FROM events ORDER BY 1"
        )
        .fetchall()
    )
    assert got == [
        ("a", "/a", "iOS", "weibo", "baidu.com", "Organic Social"),
        ("b", "/b", None, None, "$direct", "Direct"),
    ]


def test_bad_json_value_found_while_storing_still_stores_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [
        {
            "event": "$identify",
            "distinct_id": "u1",
            "timestamp": "2026-03-01 10:00",
            "properties": '{"$anon_distinct_id": "a1"}',
        },
        {"event": "view", "distinct_id": "a1", "timestamp": "2026-03-01 10:01", "properties": "{}"},
        {
            "event": "view",
            "distinct_id": "a1",
            "timestamp": "2026-03-01 10:02",
            "properties": "[1,2]",
        },
    ]
    path = tmp_path / "e.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    before = workspace.events().counts()
    with pytest.raises(
        BadRowError, match=r"e.parquet:row 3: column 'properties': '\[1,2\]' is not a JSON object"
    ):
        import_files(workspace, "events", [path])
    assert workspace.events().counts() == before  # identities and persons too
    summary = import_files(
        workspace, "events", [path], skip_bad=True, rejects_path=tmp_path / "r.csv"
    )
    assert (summary.rows_stored, summary.rows_skipped) == (2, 1)


def test_referrer_from_the_same_site_is_not_a_referral(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [
        {
            "event": "$pageview",
            "distinct_id": "a",
            "timestamp": "2026-03-01T00:00:00Z",
            "url": "https://shop.example.cn/cart",
            "referrer": "https://www.shop.example.cn/p/1",
        },
        {
            "event": "$pageview",
            "distinct_id": "b",
            "timestamp": "2026-03-01T00:00:00Z",
            "url": "https://shop.example.cn/",
            "referrer": "https://news.example.org/post",
        },
    ]
    import_files(workspace, "events", [write_jsonl(tmp_path / "e.jsonl", rows)])
    got = (
        workspace.events()
        .con.execute("SELECT distinct_id, referrer_domain, channel FROM events ORDER BY 1")
        .fetchall()
    )
    assert got == [("a", "shop.example.cn", "Direct"), ("b", "news.example.org", "Referral")]


def test_repeated_uuid_within_one_import_keeps_the_first(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = dict(EVENT_ROWS[0], plan="first")
    second = dict(EVENT_ROWS[0], plan="second")
    summary = import_files(workspace, "events", [write_csv(tmp_path / "e.csv", [first, second])])
    assert (summary.rows_stored, summary.rows_duplicate) == (1, 1)
    got = workspace.events().con.execute("SELECT properties->>'plan' FROM events").fetchall()
    assert got == [("first",)]


def test_one_import_of_mixed_formats_with_skip_bad(workspace: Workspace, tmp_path: Path) -> None:
    """Each text file is typed into a table of its own and its text dropped; Parquet stays a
    view. Together they are one import: the same rows, extras and rejects as file by file."""
    text_rows = [dict(r) for r in EVENT_ROWS]
    text_rows[1]["timestamp"] = "not-a-time"
    csv_path = write_csv(tmp_path / "a.csv", text_rows)
    jsonl_path = write_jsonl(
        tmp_path / "b.jsonl",
        [{"event": "signup", "distinct_id": "anon_3", "timestamp": "2026-03-02T00:00:00Z"}],
    )
    parquet_path = tmp_path / "c.parquet"
    pq.write_table(
        pa.table(
            {
                "event": ["$pageview", "$pageview"],
                "distinct_id": ["anon_4", None],
                "timestamp": ["2026-03-03 08:00:00", "2026-03-03 09:00:00"],
            }
        ),
        parquet_path,
    )
    files = [csv_path, jsonl_path, parquet_path]
    with pytest.raises(BadRowError, match=r"a.csv:3: column 'timestamp'"):
        import_files(workspace, "events", files)
    con = workspace.events().con
    assert workspace.events().count("events") == 0
    summary = import_files(workspace, "events", files, skip_bad=True)
    assert (summary.rows_read, summary.rows_stored, summary.rows_skipped) == (6, 4, 2)
    got = con.execute(
        "SELECT distinct_id, event, timestamp, properties->>'plan', path FROM events"
        " ORDER BY timestamp"
    ).fetchall()
    assert got == [
        ("anon_1", "$pageview", datetime(2026, 3, 1, 1, 0), "free", "/p/42"),
        ("anon_2", "$pageview", datetime(2026, 3, 1, 2, 0), None, "/"),
        ("anon_3", "signup", datetime(2026, 3, 2, 0, 0), None, None),
        ("anon_4", "$pageview", datetime(2026, 3, 3, 0, 0), None, None),
    ]
    left = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
        " UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall()
    assert left == []
