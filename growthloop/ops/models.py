"""Operations objects in the metadata database: goals, the audit trail, monthly plans, campaigns.

Every editable object carries `version`, raised by one on each change (SQLAlchemy's
version_id_col: every UPDATE says WHERE version = the one read); an update names the version it
started from, so a concurrent edit is refused instead of silently overwritten.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
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


class Goal(Base):
    """A node of a goal tree for one period; `combine` says how its children make it up.

    `combine` = "product" (GMV = visitors x conversion rate x AOV) or "sum" (new users by
    channel, a quarter by months); None for a leaf. `metric` binds the node to an analytics
    metric ({"kind": "kpi", "name": "gmv"} or {"kind": "trends", "spec": {...}}).
    """

    __tablename__ = "ops_goals"
    __table_args__ = (Index("ix_ops_goals_project_parent", "project_id", "parent_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("ops_goals.id", ondelete="CASCADE"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(200))
    period_kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    metric: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    combine: Mapped[str | None] = mapped_column(String(16), nullable=True)
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_source: Mapped[str] = mapped_column(String(16), default="entered")
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """Who changed which ops object, when, and how (`changes`: field -> [before, after])."""

    __tablename__ = "ops_audit"
    __table_args__ = (Index("ix_ops_audit_object", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    user_name: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PlanStrategy(Base):
    """A strategy direction (策略方向) of one month's operations plan."""

    __tablename__ = "ops_plan_strategies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    month: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PlanAction(Base):
    """An action item of a strategy: owner, due date, status and what it links to."""

    __tablename__ = "ops_plan_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy_id: Mapped[int] = mapped_column(
        ForeignKey("ops_plan_strategies.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(100), default="")
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="todo")
    goal_id: Mapped[int | None] = mapped_column(
        ForeignKey("ops_goals.id", ondelete="SET NULL"), nullable=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("ops_campaigns.id", ondelete="SET NULL"), nullable=True
    )
    content_ref: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Campaign(Base):
    """A campaign plan; `key` is the id its events, orders and spend rows carry (campaign = key)."""

    __tablename__ = "ops_campaigns"
    __table_args__ = (UniqueConstraint("project_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    warmup_date: Mapped[date] = mapped_column(Date)
    targets: Mapped[dict[str, float]] = mapped_column(JSON)
    budget: Mapped[dict[str, float]] = mapped_column(JSON)
    segment: Mapped[str] = mapped_column(String(500), default="")
    risk_plan: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CampaignTask(Base):
    """A checklist item of a campaign (development, materials review, channel warm-up, ...)."""

    __tablename__ = "ops_campaign_tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("ops_campaigns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(100), default="")
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Topic(Base):
    """A topic in the library (选题库): kind hot / pain / scene (热点 / 痛点 / 场景)."""

    __tablename__ = "ops_topics"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[int] = mapped_column(Integer, default=2)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ContentPiece(Base):
    """A piece of content on its way idea -> draft -> review -> scheduled -> published.

    `variant_of` points at the piece it adapts for another channel (a 小红书 version of a 知乎
    answer); `item_id` is the content_items id in the event store once published.
    """

    __tablename__ = "ops_content"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("ops_topics.id", ondelete="SET NULL"), nullable=True
    )
    variant_of: Mapped[int | None] = mapped_column(
        ForeignKey("ops_content.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16), default="idea")
    assignee: Mapped[str] = mapped_column(String(100), default="")
    reviewer: Mapped[str] = mapped_column(String(100), default="")
    publish_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    item_id: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Cadence(Base):
    """A publishing target: `per_week` pieces of `format` on `channel` each week."""

    __tablename__ = "ops_cadence"
    __table_args__ = (UniqueConstraint("project_id", "channel", "format"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    channel: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(32))
    per_week: Mapped[int] = mapped_column(Integer)


class ResearchNote(Base):
    """A research note: a user-survey finding or a competitor analysis, tagged, maybe linked to
    the strategy it informs."""

    __tablename__ = "ops_research_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON)
    strategy_id: Mapped[int | None] = mapped_column(
        ForeignKey("ops_plan_strategies.id", ondelete="SET NULL"), nullable=True
    )
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
