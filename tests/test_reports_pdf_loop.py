"""PDF printing works from inside a running asyncio loop (an async web handler, a test runner)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from growthloop.reports.pdf import html_to_pdf


def test_pdf_prints_inside_a_running_event_loop(tmp_path: Path) -> None:
    html = "<html><body data-charts='done'><h1>运营数据周报</h1></body></html>"

    async def inside_loop() -> Path:
        return html_to_pdf(html, tmp_path / "r.pdf")

    out = asyncio.run(inside_loop())
    assert out.read_bytes().startswith(b"%PDF-")
