"""Outreach (个性化触达) in the metadata database: messages, runs, the send log, suppressions.

A message (`Outreach`) is sent in runs; each run is identified by its scheduled moment
(`run_key`), unique per message, so a rerun of the same moment finds the run it already made. The
send log has one row per (run, person), unique, written before anything is sent: delivery claims a
row (queued -> sending) in its own transaction before talking to the mail server or webhook, so a
rerun or a crash after sending never sends to the same person twice in a run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from growthloop.store.metadata import Base, utcnow

CHANNELS = ("email", "push", "sms")
# Send-log statuses; `holdout` rows are never sent, `skipped` ones say why in `reason`.
QUEUED, SENDING, SENT, FAILED, HOLDOUT, SKIPPED = (
    "queued",
    "sending",
    "sent",
    "failed",
    "holdout",
    "skipped",
)


class Outreach(Base):
    """A message to a segment: channel, subject and body templates, holdout, schedule, goal.

    Recipients: the saved segment `segment_id`, else the explicit `person_ids`. `send_at` is the
    first (or only) moment, naive UTC; `repeat_days` > 0 repeats it every so many days.
    """

    __tablename__ = "ops_outreach"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    segment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    person_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    holdout_percent: Mapped[float] = mapped_column(Float, default=10.0)
    send_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    repeat_days: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    conversion_event: Mapped[str] = mapped_column(String(200), default="purchase")
    window_days: Mapped[int] = mapped_column(Integer, default=7)
    max_attempts: Mapped[int] = mapped_column(Integer, default=4)
    backoff_seconds: Mapped[int] = mapped_column(Integer, default=60)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutreachRun(Base):
    """One sending of a message: who was in the segment at `started_at` and how they split."""

    __tablename__ = "ops_outreach_runs"
    __table_args__ = (UniqueConstraint("outreach_id", "run_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outreach_id: Mapped[int] = mapped_column(ForeignKey("ops_outreach.id", ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    members: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutreachSend(Base):
    """The send log: one row per (run, person) with its status, attempts and last error."""

    __tablename__ = "ops_outreach_sends"
    __table_args__ = (
        UniqueConstraint("run_id", "person_id"),
        Index("ix_ops_outreach_sends_status", "status", "next_attempt_at"),
        Index("ix_ops_outreach_sends_person", "project_id", "person_id", "sent_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ops_outreach_runs.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    person_id: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320), default="")
    # The message as rendered when the run was planned: what the preview showed is what goes out.
    subject: Mapped[str] = mapped_column(String(1000), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    unsubscribe_url: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str] = mapped_column(String(16), default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Suppression(Base):
    """An address (or person) that must not get messages on a channel: unsubscribed, bounced."""

    __tablename__ = "ops_outreach_suppressions"
    __table_args__ = (UniqueConstraint("project_id", "channel", "address"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    person_id: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    outreach_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutreachSettings(Base):
    """Per project: the frequency cap and the push / SMS webhooks."""

    __tablename__ = "ops_outreach_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    cap_messages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cap_days: Mapped[int] = mapped_column(Integer, default=7)
    push_webhook_url: Mapped[str] = mapped_column(String(1000), default="")
    sms_webhook_url: Mapped[str] = mapped_column(String(1000), default="")
    webhook_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
