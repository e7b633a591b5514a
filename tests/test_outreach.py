"""Outreach: a real SMTP server and a real webhook receiver on 127.0.0.1, the send log on SQLite and
PostgreSQL, holdouts against a brute-force split, frequency caps, results against statsmodels."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from growthloop.ops import outreach
from growthloop.ops.outreach_models import OutreachRun, OutreachSend
from growthloop.ops.outreach_results import results
from growthloop.ops.outreach_schedule import run_due, send_now
from growthloop.ops.outreach_sending import deliver, plan_run
from growthloop.ops.outreach_templates import MessageTemplate, TemplateProblem
from growthloop.ops.targets import TargetError
from growthloop.workspace import Workspace
from tests.test_outreach_support import (
    NO_EMAIL,
    Inbox,
    Receiver,
    add_events,
    brute_holdout,
    free_port,
    new_project,
    open_workspace,
    person_ids,
    smtp_inbox,
)

T0 = datetime(2026, 11, 10, 2, 0)
BODY = "Hi {{ person.name }}, new arrivals in {{ person.city }}.\nBye {{ unsubscribe_url }}"


@pytest.fixture(scope="module")
def shared_inbox() -> Iterator[tuple[Inbox, int]]:
    yield from smtp_inbox()


@pytest.fixture
def inbox(shared_inbox: tuple[Inbox, int]) -> tuple[Inbox, int]:
    """The module's SMTP server, emptied for each test."""
    shared_inbox[0].messages.clear()
    shared_inbox[0].tries = 0
    return shared_inbox


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_ws(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    shared_inbox: tuple[Inbox, int],
) -> Iterator[Workspace]:
    """One workspace per metadata backend for the module (opening one costs seconds); each test
    gets a project of its own in it."""
    path = tmp_path_factory.mktemp("outreach")
    url = (
        f"sqlite:///{path / 'metadata.sqlite'}"
        if request.param == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    ws = Workspace.open(
        path / "data", metadata_url=url, smtp_host="127.0.0.1", smtp_port=shared_inbox[1]
    )
    yield ws
    ws.close()


@pytest.fixture
def env(shared_ws: Workspace, inbox: tuple[Inbox, int]) -> tuple[Workspace, str, int]:
    return (shared_ws, *new_project(shared_ws))


def sends(ws: Workspace, run_id: int) -> dict[str, OutreachSend]:
    with ws.sessions() as s:
        rows = s.scalars(select(OutreachSend).where(OutreachSend.run_id == run_id))
        return {r.person_id: r for r in rows}


def make(ws: Workspace, pid: int, **values: object) -> outreach.Outreach:
    base: dict[str, object] = {
        "name": "Autumn EDM",
        "channel": "email",
        "subject": "For {{ person.name }}",
        "body": BODY,
        "person_ids": person_ids(),
        "holdout_percent": 20.0,
    }
    return outreach.create_outreach(ws, pid, None, base | values)


def test_email_goes_to_everyone_but_the_holdout_with_the_rendered_template(
    env: tuple[Workspace, str, int], inbox: tuple[Inbox, int]
) -> None:
    ws, _, pid = env
    box, _ = inbox
    item = make(ws, pid)
    report = send_now(ws, item, T0)
    holdout = brute_holdout(item.id, person_ids(), 20.0) - NO_EMAIL
    expected = {f"{p}@example.cn" for p in person_ids() if p not in NO_EMAIL} - {
        f"{p}@example.cn" for p in holdout
    }
    assert 20 < len(holdout) < 60  # about 20 % of 198
    assert sorted(box.recipients()) == sorted(expected)  # each exactly once
    assert report.delivery.sent == len(expected)
    log = sends(ws, report.run_id)
    assert {p for p, r in log.items() if r.status == "holdout"} == holdout
    assert {p for p, r in log.items() if r.status == "skipped"} == NO_EMAIL
    assert all("person property email" in log[p].reason for p in NO_EMAIL)
    # The rendered template, with the person's own properties and a working unsubscribe link.
    by_to = {rcpts[0]: m for rcpts, m in box.messages}
    who = min(p for p in person_ids() if int(p[1:]) % 2 and p not in holdout | NO_EMAIL)
    mail = by_to[f"{who}@example.cn"]
    assert mail["Subject"] == f"For User {int(who[1:])}"
    text = mail.get_content().replace("\r\n", "\n")
    assert text.startswith(
        f"Hi User {int(who[1:])}, new arrivals in Hangzhou.\nBye http://127.0.0.1:8000/unsubscribe/"
    )
    assert mail["List-Unsubscribe"] == f"<{log[who].unsubscribe_url}>"
    assert log[who].status == "sent" and log[who].attempts == 1
    # Rerunning the send, or the periodic job, sends nobody anything again.
    again = send_now(ws, item, T0 + timedelta(hours=1))
    assert again.run_id == report.run_id and again.delivery.sent == 0
    run_due(ws, T0 + timedelta(days=1))
    assert len(box.messages) == len(expected)


def test_the_split_is_the_same_on_every_run_and_differs_between_messages(
    env: tuple[Workspace, str, int],
) -> None:
    ws, _, pid = env
    item = make(ws, pid, repeat_days=7, send_at=T0, active=False)
    first = plan_run(ws, item, "a", T0)
    second = plan_run(ws, item, "b", T0 + timedelta(days=7))
    held = [
        {p for p, r in sends(ws, r.id).items() if r.status == "holdout"} for r in (first, second)
    ]
    assert held[0] == held[1] == brute_holdout(item.id, person_ids(), 20.0) - NO_EMAIL
    other = make(ws, pid)
    assert brute_holdout(other.id, person_ids(), 20.0) != brute_holdout(item.id, person_ids(), 20.0)


def test_a_missing_property_fails_the_preview_and_queues_nothing(
    env: tuple[Workspace, str, int], inbox: tuple[Inbox, int]
) -> None:
    ws, _, pid = env
    item = make(ws, pid, channel="push", body="Dear {{ person.name }}, call {{ person.phone }}")
    problem = r"2 of 200 recipients.*first: body: person p007 has no property 'phone'"
    with pytest.raises(TargetError, match=problem):
        send_now(ws, item, T0)
    assert inbox[0].messages == []
    with ws.sessions() as s:
        assert s.scalar(select(OutreachSend.id).where(OutreachSend.project_id == pid)) is None
    # A fallback makes it render; a syntax error is refused when the message is saved.
    ok = MessageTemplate.compile("", 'Dear {{ person.first_name | default("friend") }}')
    assert ok.render("p1", {}).body == "Dear friend"
    with pytest.raises(TargetError, match="body line 2: unexpected '}'"):
        make(ws, pid, body="Hello\n{{ person.name }\n")
    with pytest.raises(
        TemplateProblem, match="body: not allowed in a template: access to attribute '__class__'"
    ):
        MessageTemplate.compile("", "{{ person.__class__.__mro__ }}").render("p1", {})


def test_a_refusing_server_is_retried_with_backoff_then_recorded_as_failed(
    tmp_path: Path, metadata_url: str
) -> None:
    refusing = smtp_inbox("451 4.3.0 mailbox busy, try later")
    box, port = next(refusing)
    ws, _, pid = open_workspace(tmp_path / "d", metadata_url, smtp_host="127.0.0.1", smtp_port=port)
    try:
        item = make(
            ws,
            pid,
            person_ids=["p001", "p002"],
            holdout_percent=0,
            max_attempts=3,
            backoff_seconds=60,
        )
        run = send_now(ws, item, T0)
        assert (run.delivery.sent, run.delivery.retrying) == (0, 2)
        row = sends(ws, run.run_id)["p001"]
        assert (row.status, row.attempts, row.next_attempt_at) == (
            "queued",
            1,
            T0 + timedelta(seconds=60),
        )
        assert "451" in row.reason and "mailbox busy" in row.reason
        # Not before its time; then after 60 s and after 120 s more (exponential).
        assert deliver(ws, pid, T0 + timedelta(seconds=59)).retrying == 0
        assert deliver(ws, pid, T0 + timedelta(seconds=60)).retrying == 2
        row = sends(ws, run.run_id)["p001"]
        assert row.next_attempt_at == T0 + timedelta(seconds=60 + 120)
        last = deliver(ws, pid, T0 + timedelta(seconds=180))
        assert (last.failed, last.retrying) == (2, 0)
        row = sends(ws, run.run_id)["p001"]
        assert (row.status, row.attempts) == ("failed", 3)
        assert row.reason.startswith("attempt 3: SMTP 451")
        assert box.tries == 6 and box.messages == []
        assert deliver(ws, pid, T0 + timedelta(days=1)).failed == 0  # failed stays failed
    finally:
        ws.close()
        refusing.close()


def test_nothing_listening_is_a_connection_failure_with_its_reason(
    tmp_path: Path, metadata_url: str
) -> None:
    ws, _, pid = open_workspace(
        tmp_path / "d", metadata_url, smtp_host="127.0.0.1", smtp_port=free_port()
    )
    try:
        item = make(ws, pid, person_ids=["p001"], holdout_percent=0, max_attempts=1)
        assert send_now(ws, item, T0).delivery.failed == 1
        row = next(iter(sends(ws, send_now(ws, item, T0).run_id).values()))
        assert row.status == "failed" and "ConnectionRefusedError" in row.reason
    finally:
        ws.close()


def test_a_claimed_row_is_never_sent_again_even_by_parallel_workers(
    env: tuple[Workspace, str, int], inbox: tuple[Inbox, int]
) -> None:
    ws, _, pid = env
    box, _ = inbox
    item = make(ws, pid, holdout_percent=0)
    run = plan_run(ws, item, "once", T0)
    # A worker that claimed p000 and crashed before recording the outcome: p000 is not resent.
    from growthloop.ops.outreach_sending import claim

    crashed = sends(ws, run.id)["p000"]
    assert [r.person_id for r in claim(ws, [crashed.id], T0)] == ["p000"]
    assert claim(ws, [crashed.id], T0) == []  # taken: nobody else gets it
    workers = [threading.Thread(target=deliver, args=(ws, pid, T0)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    got = box.recipients()
    assert len(got) == len(set(got)) == 200 - len(NO_EMAIL) - 1
    assert "p000@example.cn" not in got
    assert sends(ws, run.id)["p000"].status == "sending"


def test_push_and_sms_go_to_the_project_webhook(env: tuple[Workspace, str, int]) -> None:
    ws, _, pid = env
    hook = Receiver()
    try:
        outreach.save_settings(
            ws,
            pid,
            None,
            {
                "push_webhook_url": hook.url,
                "sms_webhook_url": hook.url,
                "webhook_headers": {"X-Key": "k1"},
            },
        )
        push = make(
            ws,
            pid,
            channel="push",
            subject="",
            body="{{ person.name }}: 50% off",
            person_ids=["p001", "p007"],
            holdout_percent=0,
        )
        assert send_now(ws, push, T0).delivery.sent == 2
        sms = make(
            ws,
            pid,
            channel="sms",
            subject="",
            body="Hi {{ person.name }}",
            person_ids=["p003", "p007"],
            holdout_percent=0,
        )
        report = send_now(ws, sms, T0)
        assert report.delivery.sent == 1  # p007 has no phone
        assert sends(ws, report.run_id)["p007"].reason == "no address (person property phone)"
        bodies = [(c[1]["channel"], c[1]["to"], c[1]["body"]) for c in hook.calls]
        assert bodies == [
            ("push", "p001", "User 1: 50% off"),
            ("push", "p007", "User 7: 50% off"),
            ("sms", "+8613800000003", "Hi User 3"),
        ]
        assert all(
            c[0]["X-Key"] == "k1" and c[0]["Idempotency-Key"].startswith("growthloop-outreach-")
            for c in hook.calls
        )
        # A 503 is retried later; a 400 fails at once (the receiver will not take it).
        hook.status = 503
        retry = make(ws, pid, channel="push", body="x", person_ids=["p010"], holdout_percent=0)
        row_run = send_now(ws, retry, T0)
        assert row_run.delivery.retrying == 1
        assert "webhook HTTP 503" in sends(ws, row_run.run_id)["p010"].reason
        hook.status = 400
        assert deliver(ws, pid, T0 + timedelta(minutes=1)).failed == 1
        hook.status = 200
        assert deliver(ws, pid, T0 + timedelta(days=1)).sent == 0
    finally:
        hook.close()


def test_the_frequency_cap_counts_messages_across_outreach(
    env: tuple[Workspace, str, int], inbox: tuple[Inbox, int]
) -> None:
    ws, _, pid = env
    box, _ = inbox
    outreach.save_settings(ws, pid, None, {"cap_messages": 2, "cap_days": 7})
    people = person_ids()[:60]
    got: dict[str, list[datetime]] = {p: [] for p in people}
    for day in range(4):
        at = T0 + timedelta(days=3 * day)
        item = make(ws, pid, person_ids=people, holdout_percent=30)
        run = send_now(ws, item, at)
        log = sends(ws, run.run_id)
        held = brute_holdout(item.id, people, 30)
        for p in people:
            if p in NO_EMAIL:
                continue
            recent = [t for t in got[p] if t > at - timedelta(days=7)]
            if p in held:
                expect = "holdout"
            elif len(recent) >= 2:
                expect = "skipped"
            else:
                expect = "sent"
                got[p].append(at)
            assert log[p].status == expect, (day, p)
            if expect == "skipped":
                assert log[p].reason == "frequency cap: 2 messages in 7 days"
    assert len(box.messages) == sum(len(v) for v in got.values())
    assert any(len(v) == 3 for v in got.values())  # 3 in 9 days, never 3 within 7


def test_results_compare_receivers_with_the_holdout_like_statsmodels(
    env: tuple[Workspace, str, int],
) -> None:
    ws, slug, pid = env
    item = make(ws, pid, holdout_percent=30, window_days=7)
    run = send_now(ws, item, T0)
    log = sends(ws, run.run_id)
    receivers = sorted(p for p, r in log.items() if r.status == "sent")
    holdout = sorted(p for p, r in log.items() if r.status == "holdout")
    # Receivers buy more; purchases outside the window, other events and skipped people don't count.
    buys = [(p, "purchase", T0 + timedelta(days=1)) for p in receivers[::3]]
    buys += [(p, "purchase", T0 + timedelta(days=2)) for p in holdout[::6]]
    buys += [(p, "purchase", T0 + timedelta(days=8)) for p in holdout]
    buys += [(p, "purchase", T0 - timedelta(hours=1)) for p in receivers[1::3]]
    buys += [(p, "add_to_cart", T0 + timedelta(days=1)) for p in holdout]
    buys += [(p, "purchase", T0 + timedelta(days=1)) for p in NO_EMAIL]
    buys += [(receivers[0], "purchase", T0 + timedelta(days=3))]  # twice: one person
    add_events(ws, slug, buys)
    with ws.events(slug).con.cursor() as cursor:
        (res,) = results(ws, cursor, item)
    n_r, x_r = len(receivers), len(receivers[::3])
    n_h, x_h = len(holdout), len(holdout[::6])
    assert (res.receivers.people, res.receivers.converted) == (n_r, x_r)
    assert (res.holdout.people, res.holdout.converted) == (n_h, x_h)
    assert res.statuses["sent"] == n_r and res.statuses["skipped"] == len(NO_EMAIL)
    cmp = res.comparison
    assert cmp is not None
    z, p = proportions_ztest([x_r, x_h], [n_r, n_h])
    low, high = confint_proportions_2indep(x_r, n_r, x_h, n_h, method="wald", compare="diff")
    assert cmp.statistic == pytest.approx(z, rel=1e-9)
    assert cmp.p_value == pytest.approx(p, rel=1e-9)
    assert cmp.absolute == pytest.approx(x_r / n_r - x_h / n_h, rel=1e-12)
    assert (cmp.absolute_ci.low, cmp.absolute_ci.high) == pytest.approx((low, high), rel=1e-9)
    assert res.window_end == T0 + timedelta(days=7)


def test_bad_values_are_refused_with_the_field(env: tuple[Workspace, str, int]) -> None:
    ws, _, pid = env
    for values, message in [
        ({"channel": "fax"}, "channel: 'fax' is not one of email, push, sms"),
        ({"holdout_percent": 100}, r"holdout_percent: 100 is not in \[0, 100\)"),
        ({"person_ids": None}, "segment_id: choose a saved segment"),
        ({"repeat_days": 7}, "send_at: a repeating message needs its first moment"),
        ({"window_days": 0}, "window_days"),
        ({"name": " "}, "name: required"),
    ]:
        with pytest.raises(TargetError, match=message):
            make(ws, pid, **values)
    with pytest.raises(TargetError, match="cap_messages"):
        outreach.save_settings(ws, pid, None, {"cap_messages": 0})
    with pytest.raises(TargetError, match="push_webhook_url: 'ftp://x' is not an http"):
        outreach.save_settings(ws, pid, None, {"push_webhook_url": "ftp://x"})


def test_run_due_sends_each_scheduled_moment_once(
    env: tuple[Workspace, str, int], inbox: tuple[Inbox, int]
) -> None:
    ws, _, pid = env
    item = make(ws, pid, person_ids=["p001", "p002"], holdout_percent=0, send_at=T0, repeat_days=7)

    def planned(at: datetime) -> list[str]:
        # The PostgreSQL database is shared by the session: look at this message only.
        return [key for i, key in run_due(ws, at).planned if i == item.id]

    assert planned(T0 - timedelta(minutes=1)) == []
    assert planned(T0) == ["2026-11-10T02:00"]
    assert planned(T0 + timedelta(days=6)) == []
    # Two weeks later: only the latest missed moment is sent.
    assert planned(T0 + timedelta(days=15)) == ["2026-11-24T02:00"]
    with ws.sessions() as s:
        runs = s.scalars(select(OutreachRun).where(OutreachRun.outreach_id == item.id)).all()
    assert sorted(r.run_key for r in runs) == ["2026-11-10T02:00", "2026-11-24T02:00"]
    assert [r.status for run in runs for r in sends(ws, run.id).values()] == ["sent"] * 4
    assert sum(1 for r in inbox[0].recipients() if r in ("p001@example.cn", "p002@example.cn")) >= 4
    outreach.update_outreach(ws, pid, None, item.id, item.version, {"active": False})
    assert planned(T0 + timedelta(days=30)) == []


def test_the_cli_sends_lists_and_shows_results(
    tmp_path: Path, metadata_url: str, inbox: tuple[Inbox, int]
) -> None:
    from typer.testing import CliRunner

    from growthloop.cli import app as cli_app

    box, port = inbox
    data = tmp_path / "data"
    ws, slug, pid = open_workspace(data, metadata_url)
    item = make(ws, pid, person_ids=person_ids()[:20], holdout_percent=25)
    ws.close()
    (data / "growthloop.toml").write_text(
        f'metadata_url = "{metadata_url}"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
    )
    run = CliRunner().invoke
    args = ["--data-dir", str(data)]
    listed = run(cli_app, ["outreach", "list", "--project", slug, *args])
    assert listed.exit_code == 0 and f"{item.id:>4}  email  Autumn EDM" in listed.output
    held = brute_holdout(item.id, person_ids()[:20], 25) - NO_EMAIL
    sent = run(cli_app, ["outreach", "send", str(item.id), "--project", slug, *args])
    n = 20 - len(held) - len(NO_EMAIL & set(person_ids()[:20]))
    assert sent.exit_code == 0, sent.output
    assert f": {n} sent, 0 to retry, 0 failed" in sent.output
    assert sorted(box.recipients()) == sorted(
        f"{p}@example.cn" for p in person_ids()[:20] if p not in held | NO_EMAIL
    )
    shown = run(cli_app, ["outreach", "results", str(item.id), "--project", slug, *args])
    assert shown.exit_code == 0
    assert f"receivers      0 / {n:<6} 0.00%" in shown.output
    assert f"holdout        0 / {len(held):<6} 0.00%" in shown.output
    assert "no comparison" in shown.output
    due = run(cli_app, ["outreach", "run-due", "--now", "2026-11-30T00:00", *args])
    # (On PostgreSQL other tests' broken messages are due too: the exit code is theirs.)
    assert "Traceback" not in due.output and f"outreach {item.id}:" not in due.output
    again = run(cli_app, ["outreach", "send", str(item.id), "--project", slug, *args])
    assert ": 0 sent, 0 to retry, 0 failed" in again.output
    unknown = run(cli_app, ["outreach", "send", "999999", "--project", slug, *args])
    assert unknown.exit_code == 1 and "no message 999999" in unknown.output


def test_a_saved_segment_scheduled_through_the_job_registry(
    env: tuple[Workspace, str, int], inbox: tuple[Inbox, int]
) -> None:
    from growthloop.analytics.saved_segments import create_static_segment
    from growthloop.jobs import JOBS
    from growthloop.scheduler import run_due as run_jobs

    ws, _, pid = env
    box, _ = inbox
    members = ["p010", "p011", "p012", "p042", "p099"]  # p042 has no email
    segment = create_static_segment(ws, pid, "VIP", members, "test")
    item = make(ws, pid, segment_id=segment.id, person_ids=None, holdout_percent=0, send_at=T0)
    outcomes = run_jobs(ws, T0 + timedelta(minutes=5), {"outreach": JOBS["outreach"]})
    assert outcomes is not None and [(o.name, o.ok) for o in outcomes] == [("outreach", True)]
    mine = [r for r in box.recipients() if r in {f"{p}@example.cn" for p in members}]
    assert sorted(mine) == [
        "p010@example.cn",
        "p011@example.cn",
        "p012@example.cn",
        "p099@example.cn",
    ]
    (run,) = [r for r in results_runs(ws, item.id)]
    assert run.run_key == "once" and run.members == 5
    with pytest.raises(TargetError, match="segment_id"):
        outreach.members(ws, make(ws, pid, segment_id=999999, person_ids=None))


def results_runs(ws: Workspace, outreach_id: int) -> list[OutreachRun]:
    with ws.sessions() as s:
        return list(s.scalars(select(OutreachRun).where(OutreachRun.outreach_id == outreach_id)))
