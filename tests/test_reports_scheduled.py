"""The configured schedule: settings name the recipients and the SMTP server; `growthloop report
run-due` (cron) mails each week's report once, to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from growthloop.cli import app as cli_app
from tests.test_reports_schedule import Inbox, smtp_server  # noqa: F401 - fixture
from tests.test_reports_weekly import Demo, report_demo  # noqa: F401 - fixture


def test_run_due_mails_each_week_once(
    report_demo: Demo,  # noqa: F811
    smtp_server: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp_server
    data_dir = report_demo.ws.settings.data_dir
    env = {
        "GROWTHLOOP_SMTP_HOST": "127.0.0.1",
        "GROWTHLOOP_SMTP_PORT": str(port),
        "GROWTHLOOP_SMTP_SENDER": "reports@example.cn",
        "GROWTHLOOP_WEEKLY_REPORT_TO": "ops@example.cn",
        "GROWTHLOOP_WEEKLY_REPORT_LOCALE": "en",
        "COLUMNS": "200",
    }

    def run(now: str) -> str:
        result = CliRunner().invoke(
            cli_app, ["report", "run-due", "--data-dir", str(data_dir), "--now", now], env=env
        )
        assert result.exit_code == 0, result.output
        return result.output

    # Monday 2026-11-23 09:00 Asia/Shanghai is 01:00 UTC: before it, the first run is the
    # previous Monday's (nothing was ever sent), which reports on 9-15 November.
    assert "mailed for the run at 2026-11-16 01:00 UTC" in run("2026-11-23T00:30")
    assert "nothing due" in run("2026-11-23T00:59")
    assert "mailed for the run at 2026-11-23 01:00 UTC" in run("2026-11-23T01:05")
    assert "nothing due" in run("2026-11-25T12:00")
    assert [m["Subject"].split(" · ")[0] for _, m in inbox.messages] == ["Weekly data report"] * 2
    weeks = [str(m["Subject"]) for _, m in inbox.messages]
    assert "Nov 9" in weeks[0] and "Nov 16" in weeks[1], weeks
    state = json.loads((data_dir / "schedules" / "weekly-default.json").read_text())
    assert state == {"last_run_utc": "2026-11-23T01:00:00"}

    bad = CliRunner().invoke(
        cli_app,
        ["report", "run-due", "--data-dir", str(data_dir)],
        env={k: v for k, v in env.items() if k != "GROWTHLOOP_SMTP_HOST"},
    )
    assert bad.exit_code == 1 and "smtp_host is not" in bad.output
