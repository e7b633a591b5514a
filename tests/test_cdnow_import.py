"""CDNOW purchases as orders: the sample's counts and sums against an independent reading."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from growthloop.cli import app
from growthloop.demo import import_cdnow
from growthloop.demo.cdnow import CdnowFormatError, read_purchases
from growthloop.workspace import Workspace

CDNOW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cdnow"
SAMPLE = CDNOW / "CDNOW_sample.txt"
MASTER = CDNOW / "CDNOW_master.txt"


def _reference(path: Path, fields: int) -> tuple[set[str], int, Decimal]:
    """(customers, lines, sum of dollar_value) straight from the text file."""
    customers: set[str] = set()
    lines, total = 0, Decimal(0)
    for text in path.read_text().splitlines():
        parts = text.split()
        if len(parts) != fields or not parts[0].isdigit():
            continue
        customers.add(parts[0])
        lines += 1
        total += Decimal(parts[-1])
    return customers, lines, total


def test_sample_import(workspace: Workspace) -> None:
    customers, lines, total = _reference(SAMPLE, 5)
    assert (len(customers), lines) == (2357, 6919)
    slug, summary = import_cdnow(workspace, SAMPLE)
    assert slug == "cdnow"
    assert summary.rows_stored == 6919
    con = workspace.events("cdnow").con
    (row,) = con.execute(
        "SELECT count(DISTINCT distinct_id), count(*), sum(amount), min(timestamp),"
        " max(timestamp), min(currency), max(currency) FROM orders"
    ).fetchall()
    assert row[:3] == (2357, 6919, total)
    # midnight in Asia/Shanghai is 16:00 UTC the day before
    assert str(row[3]) == "1996-12-31 16:00:00"
    assert str(row[4]) == "1998-06-29 16:00:00"
    assert row[5:] == ("USD", "USD")
    # a second import stores nothing twice
    _, again = import_cdnow(workspace, SAMPLE)
    assert (again.rows_stored, again.rows_duplicate) == (0, 6919)


def test_master_file_is_read_with_its_header() -> None:
    customers, lines, total = _reference(MASTER, 4)
    purchases = read_purchases(MASTER)
    assert len(purchases) == lines == 69659
    assert len({p.customer for p in purchases}) == len(customers) == 23570
    assert sum(Decimal(p.dollars) for p in purchases) == total
    assert purchases[0].line == 2  # line 1 is the header


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "cdnow.txt"
    bad.write_text(" 00001 19970101  1   11.77\n 00002 1997-01-12  1   12.00\n")
    with pytest.raises(CdnowFormatError, match=r"cdnow.txt:2: date '1997-01-12' is not a YYYYMMDD"):
        read_purchases(bad)
    bad.write_text(" 00001 19970101  1\n")
    with pytest.raises(CdnowFormatError, match=r"cdnow.txt:1: expected 4 fields"):
        read_purchases(bad)


def test_demo_command_imports_cdnow(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["demo", "--dataset", "cdnow", "--path", str(CDNOW), "--data-dir", str(tmp_path / "d")],
    )
    assert result.exit_code == 0, result.output
    # a directory means its master file
    assert "69,659 orders stored" in result.output
    assert "project cdnow" in result.output
    missing = CliRunner().invoke(
        app,
        [
            "demo",
            "--dataset",
            "cdnow",
            "--path",
            str(tmp_path / "nowhere"),
            "--data-dir",
            str(tmp_path / "other"),
        ],
    )
    assert missing.exit_code == 1
    assert "nowhere: no such file (give the CDNOW" in " ".join(missing.output.split())
    assert not (tmp_path / "other").exists()  # nothing created for a wrong path
