"""The demo's past outreach: a win-back EDM to lapsed buyers two weeks before the demo's end.

It is recorded, not sent: the message, its run and its send log (sent to deterministic fake
addresses `<person_id>@demo.growthloop.cn`, since the demo's persons carry no email) go into the
metadata database, with the usual holdout split. The demo's events are not touched, so no effect
of the mail is planted: the result page shows the honest null result of a message that changed
nothing, with its confidence interval.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from growthloop.ops.outreach import create_outreach, in_holdout, list_outreach, person_properties
from growthloop.ops.outreach_models import HOLDOUT, SENT, OutreachRun, OutreachSend
from growthloop.ops.outreach_templates import MessageTemplate
from growthloop.store.metadata import Project
from growthloop.workspace import Workspace

NAME = "Win-back EDM: lapsed buyers"
SUBJECT = "{{ person.city | default('') }}老朋友专享：回归礼券已到账"
BODY = (
    "您好！好久不见。\n"
    "我们为{{ person.city | default('您所在城市') }}的老朋友准备了一张满 199 减 30 的回归礼券，"
    "14 天内有效。\n\n退订：{{ unsubscribe_url }}"
)
LAPSED_DAYS = 14
WINDOW_DAYS = 14
HOLDOUT_PERCENT = 20.0


def lapsed_buyers(ws: Workspace, project: str, at: datetime) -> list[str]:
    """People with a purchase before `at` but none in the LAPSED_DAYS before it."""
    cursor = ws.events(project).con.cursor()
    try:
        rows = cursor.execute(
            "SELECT person_id FROM events WHERE event = 'purchase' AND timestamp < ?"
            " GROUP BY person_id HAVING max(timestamp) < ? ORDER BY person_id",
            [at, at - timedelta(days=LAPSED_DAYS)],
        ).fetchall()
    finally:
        cursor.close()
    return [r[0] for r in rows]


def record_demo_outreach(ws: Workspace, project: str, end: date) -> int | None:
    """Record the win-back EDM sent at 10:00 Beijing time 14 days before `end`; its id (None
    when the project already has it: building twice records it once)."""
    sent_at = datetime.combine(end - timedelta(days=WINDOW_DAYS), time(2, 0))
    with ws.sessions() as s:
        found = s.scalar(select(Project).where(Project.slug == project))
        assert found is not None
        project_id = found.id
    if any(m.name == NAME for m in list_outreach(ws, project_id)):
        return None
    people = lapsed_buyers(ws, project, sent_at)
    if not people:
        return None
    item = create_outreach(
        ws,
        project_id,
        None,
        {
            "name": NAME,
            "channel": "email",
            "subject": SUBJECT,
            "body": BODY,
            "person_ids": people,
            "holdout_percent": HOLDOUT_PERCENT,
            "send_at": sent_at,
            "window_days": WINDOW_DAYS,
            "conversion_event": "purchase",
        },
    )
    template = MessageTemplate.compile(SUBJECT, BODY)
    props = person_properties(ws, project, people)
    with ws.sessions.begin() as s:
        run = OutreachRun(
            outreach_id=item.id, run_key="once", started_at=sent_at, members=len(people)
        )
        s.add(run)
        s.flush()
        for person in people:
            row = OutreachSend(
                run_id=run.id,
                project_id=project_id,
                person_id=person,
                attempts=0,
                created_at=sent_at,
            )
            if in_holdout(item.id, person, HOLDOUT_PERCENT):
                row.status, row.reason = HOLDOUT, "holdout group"
            else:
                url = f"{ws.settings.base_url.rstrip('/')}/unsubscribe/demo"
                message = template.render(person, props[person], url)
                row.address = f"{person}@demo.growthloop.cn"
                row.subject, row.body, row.unsubscribe_url = message.subject, message.body, url
                row.status, row.attempts, row.sent_at = SENT, 1, sent_at
            s.add(row)
    return item.id
