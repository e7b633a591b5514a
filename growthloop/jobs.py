"""Periodic jobs: what `growthloop serve` runs in the background and cron can run instead.

Each entry names a function `job(ws: Workspace, now_utc: datetime) -> object` that does the work
that is due at `now_utc` (naive UTC) for every project and returns what it did. A job must be
idempotent: running it twice at the same moment, or after a crash half-way, does nothing twice.
"""

from __future__ import annotations

JOBS: dict[str, str] = {
    "weekly_report": "growthloop.reports.scheduled:run_scheduled",
    "alerts": "growthloop.models.alert_rules_run:run_due",
    "feedback_events": "growthloop.ops.feedback_events:copy_feedback_events",
    "segments": "growthloop.analytics.saved_segments_schedule:run_due",
    "outreach": "growthloop.ops.outreach_schedule:run_due",
    "points_award": "growthloop.ops.points_award:award_job",
    "points_expire": "growthloop.ops.points_award:expire_job",
    "referral": "growthloop.ops.referral:referral_job",
}
