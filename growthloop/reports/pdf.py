"""Reports as PDF: the standalone HTML printed by Chromium (Playwright), A4 with CJK fonts.

Chromium runs the report's Plotly JavaScript, so the PDF's charts are the web page's charts,
drawn as vectors; text is set in the system's Noto Sans CJK (Debian fonts-noto-cjk, which
`scripts/setup --test` installs) and the fonts are embedded in the PDF. WeasyPrint was the other
candidate: it runs no JavaScript, so every chart would need a second, static renderer.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    # An offline server: no update checks or other calls home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
]
CHART_TIMEOUT_MS = 60_000


class PdfError(RuntimeError):
    """The PDF could not be made (no browser, or the page did not finish drawing)."""


def chromium_path() -> str | None:
    """The browser to print with: $GROWTHLOOP_CHROMIUM, else Debian's Chromium, else None
    (Playwright's own download, when installed with `playwright install chromium`)."""
    configured = os.environ.get("GROWTHLOOP_CHROMIUM")
    if configured:
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def html_to_pdf(html: str, out: Path) -> Path:
    """Print a standalone report document to `out` as A4 PDF, after its charts are drawn."""
    # Playwright's sync API refuses to run in a thread with a running asyncio loop (the web
    # app's, or one a caller left behind), so the printing gets a thread of its own.
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _print(html, out)
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=work, name="growthloop-pdf")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return out


def _print(html: str, out: Path) -> None:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise PdfError(
            "PDF reports need Playwright: pip install playwright (and Chromium:"
            " apt-get install chromium, or playwright install chromium)"
        ) from exc
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load")
                page.wait_for_function(
                    "document.body.dataset.charts === 'done'", timeout=CHART_TIMEOUT_MS
                )
                page.emulate_media(media="print")
                page.pdf(
                    path=str(out), format="A4", print_background=True, prefer_css_page_size=True
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PdfError(f"printing the report to {out} failed: {first}") from exc
