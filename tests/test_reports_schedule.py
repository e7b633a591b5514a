"""Scheduled weekly reports delivered to a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import datetime, time
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from growthloop.cli import app as cli_app
from growthloop.reports.schedule import Smtp, WeeklySchedule, recipients_of, run_due
from growthloop.reports.weekly_specs import Week
from tests.test_reports_weekly import Demo, report_demo  # noqa: F401 - the shared demo fixture


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


SCHEDULE = WeeklySchedule(
    project="default",
    recipients=("ops@example.cn", "lead@example.cn"),
    base_url="http://127.0.0.1:8000",
)


def test_the_schedule_runs_mondays_at_nine_local() -> None:
    # 2026-11-23 is a Monday; 09:00 in Shanghai is 01:00 UTC.
    assert SCHEDULE.latest_run(datetime(2026, 11, 23, 1, 0)) == datetime(2026, 11, 23, 1, 0)
    assert SCHEDULE.latest_run(datetime(2026, 11, 23, 0, 59)) == datetime(2026, 11, 16, 1, 0)
    assert SCHEDULE.latest_run(datetime(2026, 11, 27, 12, 0)) == datetime(2026, 11, 23, 1, 0)
    assert SCHEDULE.week_for(datetime(2026, 11, 23, 1, 0)) == Week(datetime(2026, 11, 16).date())
    friday = WeeklySchedule("default", ("a@b.cn",), weekday=4, at=time(18, 30))
    assert friday.latest_run(datetime(2026, 11, 27, 10, 30)) == datetime(2026, 11, 27, 10, 30)
    assert friday.latest_run(datetime(2026, 11, 27, 10, 29)) == datetime(2026, 11, 20, 10, 30)
    with pytest.raises(ValueError, match="weekday"):
        WeeklySchedule("default", ("a@b.cn",), weekday=7)
    with pytest.raises(ValueError, match="not an email address: ops"):
        recipients_of("ops, lead@example.cn")


def test_a_due_run_mails_the_pdf_to_a_real_smtp_server(
    report_demo: Demo,  # noqa: F811
    smtp_server: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_server
    smtp = Smtp("127.0.0.1", port, "growthloop@example.cn")
    last = datetime(2026, 11, 16, 1, 0)
    # 08:59 on Monday: the last run was the previous Monday's, nothing is due.
    assert run_due(report_demo.ctx, SCHEDULE, smtp, last, datetime(2026, 11, 23, 0, 59)) is None
    assert inbox.messages == []
    ran = run_due(report_demo.ctx, SCHEDULE, smtp, last, datetime(2026, 11, 23, 1, 0, 30))
    assert ran == datetime(2026, 11, 23, 1, 0)
    assert len(inbox.messages) == 1
    to, message = inbox.messages[0]
    assert to == ["ops@example.cn", "lead@example.cn"]
    assert message["From"] == "growthloop@example.cn"
    assert "运营数据周报" in str(message["Subject"]) and "2026年11月16日" in str(message["Subject"])
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "http://127.0.0.1:8000/reports/weekly?project=default&week=2026-11-16" in text
    assert "主转化漏斗" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "weekly-report-default-2026-11-16.pdf"
    assert attachment.get_content().startswith(b"%PDF-")
    # Asking again within the same week sends nothing more.
    assert run_due(report_demo.ctx, SCHEDULE, smtp, ran, datetime(2026, 11, 25, 3, 0)) is None
    assert len(inbox.messages) == 1

    # The CLI sends the same way, on demand.
    sent = CliRunner().invoke(
        cli_app,
        ["report", "weekly", "--data-dir", str(report_demo.ws.settings.data_dir),
         "--week", "2026-11-10", "--lang", "en", "--mail-to", "ops@example.cn",
         "--smtp", f"127.0.0.1:{port}", "--sender", "cli@example.cn"],
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert len(inbox.messages) == 2
    to, message = inbox.messages[1]
    assert to == ["ops@example.cn"] and "Weekly data report" in str(message["Subject"])
    assert "Checkout -> Purchase on Android fell" in " ".join(
        message.get_body(preferencelist=("plain",)).get_content().split()  # type: ignore[union-attr]
    )
