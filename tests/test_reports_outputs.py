"""The weekly report as a web page, standalone HTML, XLSX, PDF and on the command line."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from growthloop.accounts import add_user
from growthloop.cli import app as cli_app
from growthloop.i18n import translator
from growthloop.reports.html import standalone_html
from growthloop.reports.pdf import html_to_pdf
from growthloop.reports.weekly import build_weekly, weekly_for_project
from growthloop.reports.weekly_specs import Week
from growthloop.web.app import create_app
from tests.test_reports_weekly import Demo, report_demo  # noqa: F401 - the shared demo fixture

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "reports"
LEAK_WEEK = Week(date(2026, 11, 9))
BLUE = (0x25, 0x63, 0xEB)  # the first chart colour


def login(client: TestClient, name: str, password: str) -> None:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_viewer_reads_the_weekly_page_and_downloads_xlsx(report_demo: Demo) -> None:  # noqa: F811
    client = TestClient(create_app(report_demo.ws))
    assert client.get("/reports/weekly", follow_redirects=False).status_code in (302, 303, 401)
    _, password = add_user(report_demo.ws, "report-viewer", "viewer")
    login(client, "report-viewer", password)
    typed = client.get("/reports?week=2026-11-12&lang=en", follow_redirects=False)
    assert typed.status_code == 303
    assert typed.headers["location"] == "/reports/weekly?week=2026-11-12&lang=en"
    page = client.get("/reports/weekly", params={"week": "2026-11-12", "lang": "en"})
    assert page.status_code == 200, page.text
    html = page.text
    assert "Weekly data report" in html and "week of Nov 9, 2026" in html
    assert "Checkout -&gt; Purchase on Android fell from 73.3% to 48.7%" in html
    assert html.count('data-figure="figure-') >= 5
    assert "/static/vendor/plotly.min.js" in html and "cdn" not in html.lower()
    zh = client.get("/reports/weekly", params={"week": "2026-11-12", "lang": "zh-CN"}).text
    assert (
        "运营数据周报" in zh and "Android 的提交订单 -&gt; 支付成功转化率从 73.3% 降至 48.7%" in zh
    )
    bad = client.get("/reports/weekly", params={"week": "12/11/2026"})
    assert bad.status_code == 422 and "week" in bad.text

    got = client.get("/reports/weekly.xlsx", params={"week": "2026-11-12", "lang": "en"})
    assert got.status_code == 200
    assert "weekly-report-default-2026-11-09.xlsx" in got.headers["content-disposition"]
    book = load_workbook(io.BytesIO(got.content))
    con = report_demo.ws.events().con
    report = weekly_for_project(report_demo.ctx, report_demo.ws, "default", con, LEAK_WEEK)
    assert book.sheetnames[:4] == [
        "Core KPIs", "Traffic and new users by", "Paid sources  spend and ROI", "Main funnel",
    ]  # fmt: skip
    # Each sheet's table holds the section's numbers as numbers, under the translated header.
    t = translator("en")
    for sheet_name, section in zip(book.sheetnames, report.sections, strict=False):
        rows = list(book[sheet_name].iter_rows(values_only=True))
        header = tuple(section.table.header(t))
        at = next(i for i, r in enumerate(rows) if r[: len(header)] == header)
        body = rows[at + 1 :]
        assert len(body) == len(section.table.rows), sheet_name
        for cells, expected in zip(body, section.table.rows, strict=True):
            for cell, value in zip(cells, expected, strict=True):
                if isinstance(value, int | float):
                    assert cell == pytest.approx(value)
    assert book.sheetnames[-1] == "specs"


def read_ppm(path: Path) -> npt.NDArray[np.uint8]:
    """A binary PPM (P6) as an array of shape (height, width, 3)."""
    data = path.read_bytes()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6" and parts[3] == b"255"
    width, height = int(parts[1]), int(parts[2])
    pixels = np.frombuffer(parts[4][: width * height * 3], dtype=np.uint8)
    return pixels.reshape(height, width, 3)


def glyph_shapes(line: npt.NDArray[np.bool_]) -> list[bytes]:
    """The ink of a text line cut at blank columns: one bitmap per glyph (or glyph part)."""
    inked = line.any(axis=0)
    shapes, start = [], None
    for x, ink in enumerate([*inked.tolist(), False]):
        if ink and start is None:
            start = x
        elif not ink and start is not None:
            shapes.append(line[:, start:x].tobytes())
            start = None
    return shapes


def test_pdf_renders_chinese_and_charts(report_demo: Demo, tmp_path: Path) -> None:  # noqa: F811
    report = build_weekly(report_demo.ctx, LEAK_WEEK, "default")
    pdf = html_to_pdf(standalone_html(report, "zh-CN"), tmp_path / "weekly.pdf")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    for needle in ("运营数据周报", "核心指标", "主转化漏斗", "Android 的提交订单 -> 支付成功"):
        assert needle in text
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True)
    # Every font is embedded ("emb" column yes): the PDF shows the same on any machine.
    rows = fonts.stdout.splitlines()[2:]
    assert rows and all(" yes " in r for r in rows)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", str(pdf), str(ARTIFACTS / "weekly-zh")], check=True
    )
    pngs = sorted(ARTIFACTS.glob("weekly-zh-*.png"))
    assert len(pngs) >= 2
    subprocess.run(["pdftoppm", "-r", "100", str(pdf), str(tmp_path / "page")], check=True)
    pages = [read_ppm(p) for p in sorted(tmp_path.glob("page-*.ppm"))]
    first = pages[0]
    ink = first.min(axis=2) < 128
    # The title is the first inked line of the page; cut it out by its blank rows.
    rows_inked = ink.any(axis=1)
    top = int(np.argmax(rows_inked))
    bottom = top + int(np.argmin(rows_inked[top:]))
    title = ink[top:bottom]
    assert bottom - top > 15, "no title line on page 1"
    shapes = glyph_shapes(title)
    # 运营数据周报: six different glyphs. Missing-glyph boxes would all have the same shape.
    assert len(shapes) >= 6 and len(set(shapes)) >= 5
    # Charts are drawn: many pixels of the first chart colour on the first two pages.
    blue = np.abs(np.concatenate(pages[:2]).astype(int) - np.array(BLUE)).sum(axis=2) < 30
    assert blue.sum() > 5000


def test_cli_writes_each_format(report_demo: Demo, tmp_path: Path) -> None:  # noqa: F811
    data_dir = str(report_demo.ws.settings.data_dir)
    runner = CliRunner()
    shown = runner.invoke(
        cli_app,
        ["report", "weekly", "--data-dir", data_dir, "--week", "2026-11-14", "--lang", "en"],
    )
    assert shown.exit_code == 0, shown.output
    assert "Checkout -> Purchase on Android fell from 73.3% to 48.7%" in " ".join(
        shown.output.split()
    )
    for suffix in (".html", ".xlsx"):
        out = tmp_path / f"weekly{suffix}"
        done = runner.invoke(
            cli_app, ["report", "weekly", "--data-dir", data_dir, "--out", str(out)]
        )
        assert done.exit_code == 0, done.output
        assert out.stat().st_size > 1000
    html = (tmp_path / "weekly.html").read_text(encoding="utf-8")
    assert "运营数据周报" in html and "<script src=" not in html  # Plotly inline, no CDN
    wrong = runner.invoke(
        cli_app, ["report", "weekly", "--data-dir", data_dir, "--out", str(tmp_path / "w.doc")]
    )
    assert wrong.exit_code == 2 and "--out" in wrong.output
    bad_week = runner.invoke(cli_app, ["report", "weekly", "--data-dir", data_dir, "--week", "x"])
    assert bad_week.exit_code == 2 and "--week" in bad_week.output
    for command in (["weekly"], ["monthly"], ["campaign", "1"]):
        nope = runner.invoke(
            cli_app, ["report", *command, "--data-dir", data_dir, "--project", "nope"]
        )
        assert nope.exit_code == 2 and "unknown project 'nope'" in nope.output, command


def test_pdf_and_monthly_xlsx_downloads(report_demo: Demo) -> None:  # noqa: F811
    client = TestClient(create_app(report_demo.ws))
    _, password = add_user(report_demo.ws, "download-viewer", "viewer")
    login(client, "download-viewer", password)
    pdf = client.get("/reports/weekly.pdf", params={"week": "2026-11-12", "lang": "zh-CN"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "weekly-report-default-2026-11-09.pdf" in pdf.headers["content-disposition"]
    monthly = client.get("/reports/monthly.xlsx", params={"month": "2026-10", "lang": "en"})
    assert monthly.status_code == 200, monthly.text
    assert load_workbook(io.BytesIO(monthly.content)).sheetnames
