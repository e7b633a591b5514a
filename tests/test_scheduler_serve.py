"""`growthloop serve` runs the periodic jobs itself: with a weekly schedule whose moment is now,
a real server on 127.0.0.1 mails the weekly report — the same sections and numbers as the web
page and the CLI, goals and paid-source ROI included — once, to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from growthloop.accounts import add_user
from growthloop.analytics import QueryContext
from growthloop.demo import build_demo
from growthloop.i18n import Formatter, translator
from growthloop.ops.goals import create_goal
from growthloop.reports.weekly import weekly_for_project
from growthloop.reports.weekly_specs import Week
from growthloop.workspace import Workspace
from tests.test_reports_schedule import Inbox, free_port

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo ending yesterday (the report week must be the one before this one, as the
    clock says), with a GMV goal for the month of that week's Sunday."""
    data_dir = tmp_path_factory.mktemp("serve-jobs") / "data"
    with Workspace.open(data_dir) as ws:
        build_demo(ws, "small", 0)
        who, _ = add_user(ws, "planner", "operator")
        sunday = Week.containing(datetime.now(TZ).date()).previous().end
        project_id = next(p.id for p in ws.projects() if p.slug == "default")
        create_goal(ws, project_id, who, {
            "name": "本月 GMV", "period_kind": "month", "period_start": sunday.replace(day=1),
            "metric": {"kind": "kpi", "name": "gmv"}, "target": 500000.0,
        })  # fmt: skip
    return data_dir


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def wait_for(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def weekly(inbox: Inbox) -> list[tuple[list[str], EmailMessage]]:
    """The weekly report mails (other jobs of the registry may mail too)."""
    return [m for m in inbox.messages if str(m[1]["Subject"]).startswith("Weekly data report")]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "mailed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return re.sub(r"\s+", "", out.stdout)


def test_serve_mails_the_due_weekly_report_once_with_every_section(
    live_demo: Path, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, smtp_port = smtp
    local_now = datetime.now(TZ)
    env = {
        **os.environ,
        "GROWTHLOOP_SMTP_HOST": "127.0.0.1",
        "GROWTHLOOP_SMTP_PORT": str(smtp_port),
        "GROWTHLOOP_SMTP_SENDER": "reports@example.cn",
        "GROWTHLOOP_WEEKLY_REPORT_TO": "ops@example.cn",
        "GROWTHLOOP_WEEKLY_REPORT_LOCALE": "en",
        # Due now: today's weekday at this minute, in the project time zone.
        "GROWTHLOOP_WEEKLY_REPORT_WEEKDAY": str(local_now.weekday()),
        "GROWTHLOOP_WEEKLY_REPORT_TIME": f"{local_now:%H:%M}",
    }
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "growthloop", "serve", "--data-dir", str(live_demo),
         "--port", str(port), "--jobs-interval", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    state = live_demo / "jobs" / "state.json"
    try:
        wait_for(lambda: weekly(inbox) or server.poll() is not None, 300, "the weekly report")
        assert server.poll() is None, "the server stopped"
        # The round records each job's outcome when the job is done (the mail goes out first).
        wait_for(
            lambda: state.exists() and "weekly_report" in json.loads(state.read_text()),
            120,
            "the job's outcome",
        )
        first_round = json.loads(state.read_text())["weekly_report"]
        assert first_round["ok"] and first_round["result"].startswith("[('default', "), first_round
        delivered = first_round["started_utc"]
        # Two more rounds after the delivery: nothing is sent twice.
        wait_for(
            lambda: (
                state.exists()
                and json.loads(state.read_text())["weekly_report"]["started_utc"]
                >= (datetime.fromisoformat(delivered) + timedelta(seconds=3)).isoformat()
            ),
            120,
            "two more rounds",
        )
        assert len(weekly(inbox)) == 1
        outcome = json.loads(state.read_text())["weekly_report"]
        assert outcome["ok"] and outcome["result"] == "[]", outcome
    finally:
        server.send_signal(signal.SIGINT)
        log = server.communicate(timeout=60)[0]
    assert "job weekly_report done" in log, log[-3000:]

    recipients, message = weekly(inbox)[0]
    assert recipients == ["ops@example.cn"]
    week = Week.containing(local_now.date()).previous()
    assert f"week of {week.start:%b} {week.start.day}" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    text = body.get_content()
    pdf = next(a for a in message.iter_attachments()).get_content()
    flat_pdf = pdf_text(pdf, tmp_path)

    # The same report as the web page and `growthloop report weekly` for that week.
    t, fmt = translator("en"), Formatter("en", "CNY")
    with Workspace.open(live_demo) as ws:
        con = ws.events().con
        report = weekly_for_project(QueryContext.for_workspace(ws), ws, "default", con, week)
        keys = [s.key for s in report.sections]
        assert keys[:4] == ["kpis", "goals", "channels", "roi"], keys
        titles = [
            line for line in text.splitlines() if line in {s.title(t) for s in report.sections}
        ]
        assert titles == [s.title(t) for s in report.sections]
        for section in report.sections:
            for finding in section.findings:
                assert f"- {finding.text(t, fmt)}" in text
            assert re.sub(r"\s+", "", section.title(t)) in flat_pdf
        # Independent figures: GMV from the month's first day to the week's Sunday, and each
        # paid source's spend in the week, from plain SQL over the store.
        [(gmv,)] = con.execute(
            "SELECT sum(amount) FROM orders WHERE currency = 'CNY' AND"
            " CAST(timezone('Asia/Shanghai', timestamp::TIMESTAMPTZ) AS DATE) BETWEEN ? AND ?",
            [week.end.replace(day=1), week.end],
        ).fetchall()
        spend = con.execute(
            "SELECT channel, sum(spend)::DOUBLE FROM spend WHERE date BETWEEN ? AND ? GROUP BY 1",
            [week.start, week.end],
        ).fetchall()
    goal_row = next(r for r in report.section("goals").table.rows if r[0] == "本月 GMV")
    assert goal_row[2] == pytest.approx(float(gmv))
    assert fmt.money(float(gmv)) in text  # the goal finding names the GMV to date
    assert fmt.money(float(gmv)).replace(" ", "") in flat_pdf
    assert spend, "the demo has paid sources in every week"
    for channel, amount in spend:
        assert re.sub(r"\s+", "", fmt.money(amount)) in flat_pdf, channel
