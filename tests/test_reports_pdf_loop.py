"""PDF printing works from a thread with a running asyncio loop (an async web handler; the test
session's Playwright browser keeps one running in the main thread)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from growthloop.reports.pdf import html_to_pdf


def test_pdf_prints_inside_a_running_event_loop(tmp_path: Path) -> None:
    html = "<html><body data-charts='done'><h1>运营数据周报</h1></body></html>"
    results: list[Path | BaseException] = []

    async def inside_loop() -> Path:
        return html_to_pdf(html, tmp_path / "r.pdf")

    def in_fresh_thread() -> None:
        try:
            results.append(asyncio.run(inside_loop()))
        except BaseException as exc:
            results.append(exc)

    thread = threading.Thread(target=in_fresh_thread)
    thread.start()
    thread.join()
    [out] = results
    assert isinstance(out, Path), out
    assert out.read_bytes().startswith(b"%PDF-")
