"""Outreach results: did the message change behaviour? Receivers against the holdout group.

Receivers are the people the run addressed (queued, sent or failed: intention to treat, so a
failing mail server does not flatter the result); holdout are the people the split kept back.
Each group's conversion rate is the share of its people with the conversion event in
[run start, run start + window); the two are compared with the A/B test's two-proportion z test
(growthloop.models.experiments), holdout as control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
from sqlalchemy import select

from growthloop.models.errors import ModelInputError
from growthloop.models.experiments import Comparison, SampleStats, compare_proportions
from growthloop.ops.outreach_models import (
    FAILED,
    HOLDOUT,
    QUEUED,
    SENDING,
    SENT,
    SKIPPED,
    Outreach,
    OutreachRun,
    OutreachSend,
)
from growthloop.workspace import Workspace

RECEIVER_STATUSES = (QUEUED, SENDING, SENT, FAILED)


@dataclass(frozen=True)
class GroupResult:
    people: int
    converted: int

    @property
    def rate(self) -> float | None:
        return self.converted / self.people if self.people else None


@dataclass(frozen=True)
class RunResult:
    """One run's send-log counts and its receivers-versus-holdout comparison."""

    run_id: int
    run_key: str
    started_at: datetime
    window_end: datetime
    conversion_event: str
    statuses: dict[str, int]
    receivers: GroupResult
    holdout: GroupResult
    comparison: Comparison | None
    note: str


def run_groups(ws: Workspace, run_id: int) -> tuple[list[str], list[str], dict[str, int]]:
    """(receiver ids, holdout ids, rows per status) of a run's send log."""
    receivers, holdout = [], []
    statuses: dict[str, int] = {s: 0 for s in (QUEUED, SENDING, SENT, FAILED, HOLDOUT, SKIPPED)}
    with ws.sessions() as s:
        rows = s.execute(
            select(OutreachSend.person_id, OutreachSend.status).where(OutreachSend.run_id == run_id)
        ).all()
    for person, status in rows:
        statuses[status] = statuses.get(status, 0) + 1
        if status in RECEIVER_STATUSES:
            receivers.append(person)
        elif status == HOLDOUT:
            holdout.append(person)
    return receivers, holdout, statuses


def converted(
    cursor: duckdb.DuckDBPyConnection,
    people: Sequence[str],
    event: str,
    start: datetime,
    end: datetime,
) -> int:
    """How many of `people` did `event` in [start, end) (naive UTC)."""
    if not people:
        return 0
    row = cursor.execute(
        "SELECT count(DISTINCT person_id) FROM events WHERE event = ? AND timestamp >= ?"
        " AND timestamp < ? AND person_id IN (SELECT unnest(?))",
        [event, start, end, list(people)],
    ).fetchone()
    return int(row[0]) if row else 0


def run_result(
    ws: Workspace, cursor: duckdb.DuckDBPyConnection, item: Outreach, run: OutreachRun
) -> RunResult:
    """Receivers against holdout for one run; the comparison is None (with a note) when a group
    is empty or nobody converted in either."""
    receivers, holdout, statuses = run_groups(ws, run.id)
    end = run.started_at + timedelta(days=item.window_days)
    rec = GroupResult(
        len(receivers),
        converted(cursor, receivers, item.conversion_event, run.started_at, end),
    )
    hold = GroupResult(
        len(holdout), converted(cursor, holdout, item.conversion_event, run.started_at, end)
    )
    comparison, note = None, ""
    if not rec.people or not hold.people:
        note = "no holdout group" if rec.people else "no receivers"
    else:
        try:
            comparison = compare_proportions(
                SampleStats.of_conversions(hold.people, hold.converted, "holdout"),
                SampleStats.of_conversions(rec.people, rec.converted, "receivers"),
                metric=item.conversion_event,
            )
        except ModelInputError as exc:
            note = str(exc)
    return RunResult(
        run.id,
        run.run_key,
        run.started_at,
        end,
        item.conversion_event,
        statuses,
        rec,
        hold,
        comparison,
        note,
    )


def runs_of(ws: Workspace, outreach_id: int) -> list[OutreachRun]:
    """A message's runs, newest first."""
    with ws.sessions() as s:
        query = select(OutreachRun).where(OutreachRun.outreach_id == outreach_id)
        return list(s.scalars(query.order_by(OutreachRun.started_at.desc())))


def results(ws: Workspace, cursor: duckdb.DuckDBPyConnection, item: Outreach) -> list[RunResult]:
    """Every run of the message with its result, newest first."""
    return [run_result(ws, cursor, item, run) for run in runs_of(ws, item.id)]


def send_log(
    ws: Workspace, run_id: int, status: str | None = None, limit: int = 200
) -> list[OutreachSend]:
    """A run's send-log rows (optionally of one status), in person order."""
    with ws.sessions() as s:
        query = select(OutreachSend).where(OutreachSend.run_id == run_id)
        if status:
            query = query.where(OutreachSend.status == status)
        return list(s.scalars(query.order_by(OutreachSend.person_id).limit(limit)))
