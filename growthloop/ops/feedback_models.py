"""Feedback inbox (用户反馈) tables: entries, webhook forwards, and each project's webhook."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from growthloop.store.metadata import Base, utcnow


class FeedbackEntry(Base):
    """One piece of user feedback and where it stands.

    `source` is api, import or event; an entry copied from a tracked event keeps the event's
    uuid, unique per project, so copying the same event again adds nothing.
    """

    __tablename__ = "feedback_entries"
    __table_args__ = (
        UniqueConstraint("project_id", "event_uuid", name="uq_feedback_event_uuid"),
        Index("ix_feedback_entries_project_received", "project_id", "received_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[str] = mapped_column(String(16))
    event_uuid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    distinct_id: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="new")
    assignee: Mapped[str] = mapped_column(String(100), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    forwarded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FeedbackForward(Base):
    """One attempt to forward an entry to the product team's webhook, and how it went."""

    __tablename__ = "feedback_forwards"
    __table_args__ = (Index("ix_feedback_forwards_entry", "entry_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("feedback_entries.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(500))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    user_name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FeedbackSettings(Base):
    """A project's feedback settings: the product team's webhook URL."""

    __tablename__ = "feedback_settings"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
