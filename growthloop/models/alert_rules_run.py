"""The periodic alert job: evaluate every enabled stored rule on the last complete days and send
each flagged day's alert once.

`run_due(ws, now_utc)` (jobs.JOBS["alerts"]) looks at the CATCH_UP_DAYS local days before today
(so a job that missed a run catches up) with 28 days of history before them for the anomaly
baseline. Each (rule, day) is claimed by inserting its delivery row before sending (unique per
rule and day): a second run, or two runs at once, send nothing twice. A failed delivery is retried
on later runs, up to MAX_ATTEMPTS times; the error is kept on the delivery and the rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from growthloop.analytics.kpis import KPI_NAMES
from growthloop.models import anomalies
from growthloop.models.alert_delivery import DeliveryError, SmtpSettings, deliver
from growthloop.models.alert_rules import EVENTS, rule_of
from growthloop.models.alert_rules_models import AlertDelivery, AlertRuleRow
from growthloop.models.alerts import Alert, AlertRule, evaluate
from growthloop.models.errors import BAD_PARAMETER, ModelInputError
from growthloop.models.kpi_series_data import DailySeries, fetch_daily_events, fetch_daily_kpi
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

CATCH_UP_DAYS = 3
MAX_ATTEMPTS = 5


def daily_series(
    con: duckdb.DuckDBPyConnection,
    tz: ZoneInfo,
    currency: str,
    metric: str,
    start: date,
    end: date,
    event: str | None = None,
) -> DailySeries:
    """A metric's daily values: "events" (tracked event volume, or one event's) or an overview KPI."""
    if metric == EVENTS:
        return fetch_daily_events(con, tz, start, end, event)
    if metric not in KPI_NAMES:
        raise ModelInputError(
            BAD_PARAMETER.format(
                name="metric", rule=f"one of {[EVENTS, *KPI_NAMES]}", value=repr(metric)
            )
        )
    return fetch_daily_kpi(con, tz, currency, metric, start, end)


def triggered(
    con: duckdb.DuckDBPyConnection,
    tz: ZoneInfo,
    currency: str,
    rule: AlertRule,
    event: str | None,
    first: date,
    last: date,
) -> tuple[Alert, ...]:
    """The rule's alerts on the days [first, last], with 28 days of history for the baseline."""
    start = first - timedelta(days=anomalies.DEFAULT_HISTORY_DAYS)
    series = daily_series(con, tz, currency, rule.metric, start, last, event)
    check = None
    if rule.condition == "anomaly":
        check = anomalies.detect(series.values, [d.weekday() for d in series.dates])
    found = evaluate(rule, series.dates, series.values.tolist(), check)
    return tuple(a for a in found if a.day >= first)


def smtp_of(ws: Workspace) -> SmtpSettings | None:
    """The SMTP server from the settings, if one is configured."""
    s = ws.settings
    if not s.smtp_host:
        return None
    return SmtpSettings(
        s.smtp_host, s.smtp_port, s.smtp_sender, s.smtp_username, s.smtp_password, s.smtp_starttls
    )


def claim(ws: Workspace, rule_id: int, alert: Alert) -> int | None:
    """The delivery row this run may send, or None when it was sent, is being sent, or gave up."""
    with ws.sessions.begin() as s:
        found = s.scalar(
            select(AlertDelivery).where(
                AlertDelivery.rule_id == rule_id, AlertDelivery.day == alert.day
            )
        )
        if found is not None:
            if found.status != "failed" or found.attempts >= MAX_ATTEMPTS:
                return None
            taken = s.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == found.id,
                    AlertDelivery.status == "failed",
                    AlertDelivery.attempts == found.attempts,
                )
                .values(status="sending", attempts=found.attempts + 1)
            )
            return found.id if taken.rowcount == 1 else None  # type: ignore[attr-defined]
    try:
        with ws.sessions.begin() as s:
            row = AlertDelivery(
                rule_id=rule_id,
                day=alert.day,
                status="sending",
                value=alert.value,
                expected=alert.expected,
                severity=alert.severity,
                direction=alert.direction,
                attempts=1,
            )
            s.add(row)
            s.flush()
            return row.id
    except IntegrityError:
        return None  # another run claimed the day first


def finish(ws: Workspace, delivery_id: int, error: str | None) -> None:
    """Record how a claimed delivery went."""
    with ws.sessions.begin() as s:
        row = s.get(AlertDelivery, delivery_id)
        assert row is not None
        row.status = "failed" if error else "sent"
        row.error = error
        row.sent_at = None if error else utcnow()


def run_rule(ws: Workspace, slug: str, row: AlertRuleRow, now_utc: datetime) -> dict[str, Any]:
    """Check one rule and send its new alerts; what happened, for the job's log."""
    tz = ws.settings.tz
    today = now_utc.replace(tzinfo=UTC).astimezone(tz).date()
    last = today - timedelta(days=1)
    first = last - timedelta(days=CATCH_UP_DAYS - 1)
    sent, failed, problem = [], [], None
    cursor = ws.events(slug).con.cursor()
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        alerts = triggered(cursor, tz, ws.settings.currency, rule_of(row), row.event, first, last)
    except ModelInputError as exc:
        alerts, problem = (), str(exc)
    finally:
        cursor.close()
    for alert in alerts:
        delivery = claim(ws, row.id, alert)
        if delivery is None:
            continue
        try:
            deliver(alert, smtp_of(ws))
        except DeliveryError as exc:
            finish(ws, delivery, str(exc))
            failed.append(alert.day)
            problem = str(exc)
            continue
        finish(ws, delivery, None)
        sent.append(alert.day)
    with ws.sessions.begin() as s:
        s.execute(
            update(AlertRuleRow)
            .where(AlertRuleRow.id == row.id)
            .values(last_checked_at=utcnow(), last_error=problem)
            .execution_options(synchronize_session=False)
        )
    return {"rule": row.id, "sent": sent, "failed": failed, "error": problem}


def run_due(ws: Workspace, now_utc: datetime) -> list[dict[str, Any]]:
    """Evaluate every enabled rule of every project at `now_utc` (naive UTC); idempotent."""
    done = []
    for project in ws.projects():
        with ws.sessions() as s:
            rows = list(
                s.scalars(
                    select(AlertRuleRow)
                    .where(AlertRuleRow.project_id == project.id, AlertRuleRow.enabled.is_(True))
                    .order_by(AlertRuleRow.id)
                )
            )
        for row in rows:
            done.append({"project": project.slug, **run_rule(ws, project.slug, row, now_utc)})
    return done
