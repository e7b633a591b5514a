"""CSV files are read by DuckDB's parallel reader when it reads them cleanly, else by the Arrow
reader (which names the bad line). Both must give the same text values and record numbers."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import duckdb
import pytest

from growthloop.ingest.files import BadRowError, FileFormatError, Plan, import_files
from growthloop.ingest.readers import ROW, columns_of, detect
from growthloop.ingest.sources import KINDS
from growthloop.workspace import Workspace

HEADER = "event,distinct_id,timestamp,note,plan"
TRICKY = [
    # unquoted empty and null markers are NULL; quoted ones are text
    "view,u1,2026-01-01T00:00:00Z,,NA",
    'view,u2,2026-01-01T00:00:01Z,"","NA"',
    'view,u3,2026-01-01T00:00:02Z,NULL,"NULL"',
    # quotes, delimiters and line breaks inside a quoted field; Chinese text
    'buy,u4,2026-01-01T00:00:03Z,"say ""hi"", then\nleave","会员, 年卡"',
    'buy,u5,2026-01-01T00:00:04Z,"two\r\nlines",n/a',
    "view,u6,2026-01-01T00:00:05Z,plain,#N/A",
]


def write(path: Path, lines: list[str], *, bom: bool = False, crlf: bool = False) -> Path:
    end = "\r\n" if crlf else "\n"
    text = end.join(lines) + end
    data = ("\ufeff" if bom else "") + text
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
            fh.write(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path


def both_readers(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The source rows as DuckDB's reader and as the Arrow reader give them."""
    con = duckdb.connect()
    plan = Plan(con, KINDS["events"], "UTC", False, None)
    src = detect(path)
    header = columns_of(src)
    targets = KINDS["events"].resolve({}, header)
    extras = [c for c in header if c not in targets.values()]
    assert plan._csv_view(src, "fast", targets, extras, header), "DuckDB's reader gave up"
    plan._load_text(src, "arrow", targets, extras, False)
    query = f"SELECT s_event, s_distinct_id, s_timestamp, _extra, {ROW} FROM {{}} ORDER BY {ROW}"
    fast = con.execute(query.format("fast")).fetchall()
    arrow = con.execute(query.format("arrow")).fetchall()
    con.close()
    return fast, arrow


@pytest.mark.parametrize(
    ("name", "bom", "crlf"),
    [("e.csv", False, False), ("e.csv", True, True), ("e.csv.gz", False, False)],
)
def test_duckdb_reader_equals_arrow_reader(
    tmp_path: Path, name: str, bom: bool, crlf: bool
) -> None:
    fast, arrow = both_readers(write(tmp_path / name, [HEADER, *TRICKY], bom=bom, crlf=crlf))
    assert fast == arrow
    assert [r[4] for r in fast] == [1, 2, 3, 4, 5, 6]  # record numbers, not line numbers
    extra = {r[1]: json.loads(str(r[3])) for r in fast}
    assert extra["u1"] == {"note": None, "plan": None}
    assert extra["u2"] == {"note": "", "plan": "NA"}
    assert extra["u3"] == {"note": None, "plan": "NULL"}
    assert extra["u4"] == {"note": 'say "hi", then\nleave', "plan": "会员, 年卡"}
    assert extra["u5"]["note"] in ("two\r\nlines", "two\nlines") and extra["u5"]["plan"] is None


def test_tab_separated(tmp_path: Path) -> None:
    lines = [HEADER.replace(",", "\t"), "view\tu1\t2026-01-01T00:00:00Z\ta,b\t"]
    fast, arrow = both_readers(write(tmp_path / "e.tsv", lines))
    assert fast == arrow and len(fast) == 1


def test_malformed_csv_falls_back_and_names_the_line(workspace: Workspace, tmp_path: Path) -> None:
    rows = [f"view,u{i},2026-01-01T00:00:{i:02d}Z,x,y" for i in range(40)]
    rows[29] += ",surplus"  # record 30, line 31
    path = write(tmp_path / "ragged.csv", [HEADER, *rows])
    con = duckdb.connect()
    plan = Plan(con, KINDS["events"], "UTC", False, None)
    src = detect(path)
    header = columns_of(src)
    targets = KINDS["events"].resolve({}, header)
    assert not plan._csv_view(src, "fast", targets, [], header)
    before = workspace.events().count("events")
    with pytest.raises(FileFormatError, match=r"ragged\.csv:31: expected 5 fields, found 6"):
        import_files(workspace, "events", [path])
    assert workspace.events().count("events") == before


def test_bad_value_after_a_multiline_record_names_its_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [f"view,u{i},2026-01-01T00:00:{i:02d}Z,x,y" for i in range(10)]
    rows[2] = 'view,u2,2026-01-01T00:00:02Z,"three\nline\nnote",y'
    rows[6] = "view,u6,yesterday,x,y"  # record 7, starting on line 10
    path = write(tmp_path / "bad.csv", [HEADER, *rows])
    before = workspace.events().count("events")
    with pytest.raises(BadRowError, match=r"bad\.csv:10: column 'timestamp': 'yesterday'"):
        import_files(workspace, "events", [path])
    assert workspace.events().count("events") == before
    summary = import_files(workspace, "events", [path], skip_bad=True)
    assert (summary.rows_stored, summary.rows_skipped) == (9, 1)
    assert summary.rejects_path is not None
    with open(summary.rejects_path, newline="", encoding="utf-8") as fh:
        (reject,) = list(csv.DictReader(fh))
    # The record is the file's row: its extra columns by their own names.
    assert json.loads(reject["record"]) == {
        "event": "view",
        "distinct_id": "u6",
        "timestamp": "yesterday",
        "note": "x",
        "plan": "y",
    }
    notes = (
        workspace.events()
        .con.execute("SELECT properties->>'$.note' FROM events WHERE distinct_id = 'u2'")
        .fetchall()
    )
    assert notes == [("three\nline\nnote",)]


def test_record_numbers_follow_the_file_in_a_parallel_read(tmp_path: Path) -> None:
    """A file of many buffers is read by both threads; rows still carry their file order."""
    lines = [HEADER] + [
        f'view,u{i % 977},2026-01-01T00:00:00Z,"{i}",{"x" * (i % 50)}' for i in range(1, 400_001)
    ]
    path = write(tmp_path / "big.csv", lines)
    con = duckdb.connect()
    plan = Plan(con, KINDS["events"], "UTC", False, None)
    src = detect(path)
    header = columns_of(src)
    targets = KINDS["events"].resolve({}, header)
    assert plan._csv_view(src, "fast", targets, ["note"], header)
    wrong = con.execute(
        f"SELECT count(*) FROM fast WHERE CAST(_extra->>'$.note' AS BIGINT) <> {ROW}"
    ).fetchall()
    assert wrong == [(0,)]
    assert con.execute("SELECT count(*) FROM fast").fetchall() == [(400_000,)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bad_json_property_in_a_text_file_is_named(
    workspace: Workspace, tmp_path: Path, fmt: str
) -> None:
    """Text sources check JSON values while their typed table is built: a bad one is named."""
    if fmt == "csv":
        lines = ["event,distinct_id,timestamp,properties", "view,a,2026-03-01 10:00,{}"]
        lines += ['view,b,2026-03-01 10:01,"[1,2]"', "view,c,2026-03-01 10:02,{}"]
        path = write(tmp_path / "p.csv", lines)
    else:
        rows = [{"event": "view", "distinct_id": d, "timestamp": "2026-03-01 10:00"} for d in "abc"]
        rows[1]["properties"] = "[1,2]"
        path = tmp_path / "p.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    before = workspace.events().counts()
    line = 3 if fmt == "csv" else 2  # after the CSV header
    with pytest.raises(BadRowError, match=rf"p\.{fmt}:{line}: column 'properties': .* JSON object"):
        import_files(workspace, "events", [path])
    assert workspace.events().counts() == before
    summary = import_files(workspace, "events", [path], skip_bad=True)
    assert (summary.rows_stored, summary.rows_skipped) == (2, 1)


def test_clean_file_is_typed_in_one_pass_numbered_by_rowid(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A clean CSV is typed straight from DuckDB's parallel reader, with no staged text; its
    records are numbered by the typed table's rowid, which must follow the file: the first of
    two rows with one uuid, far apart in a file both threads read, is the one stored."""
    n = 400_000
    header = "uuid,event,distinct_id,timestamp,note"
    lines = [header] + [
        f"{i:032x},view,u{i % 977},2026-01-01T00:00:{i % 60:02d}Z,{i}" for i in range(1, n + 1)
    ]
    lines[n - 1] = lines[n - 1].replace(f"{n - 1:032x}", f"{3:032x}", 1)  # repeats record 3
    path = write(tmp_path / "big.csv", lines)
    con = duckdb.connect()
    plan = Plan(con, KINDS["events"], "UTC", False, None)
    plan.add(detect(path), 0, {})
    assert plan.sources[0].rowid_numbered and plan.sources[0].typed is not None
    staged = "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_src%' ESCAPE '\\'"
    assert con.execute(staged).fetchall() == [(0,)]
    plan.create_typed_view()
    wrong = con.execute(
        "SELECT count(*) FROM _typed WHERE CAST(_extra->>'$.note' AS BIGINT) <> _row"
    ).fetchall()
    assert wrong == [(0,)]
    assert plan.rows == n
    plan.drop()
    summary = import_files(workspace, "events", [path])
    assert (summary.rows_stored, summary.rows_duplicate) == (n - 1, 1)
    notes = (
        workspace.events()
        .con.execute(
            "SELECT properties->>'$.note' FROM events WHERE uuid = ?",
            [f"{3:032x}"],
        )
        .fetchall()
    )
    assert notes == [("3",)]
