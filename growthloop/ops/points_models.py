"""Growth system tables (用户成长体系): points rules, accounts, the ledger, levels, level events.

The ledger is append-only: every change of a balance is one entry with a unique idempotency key
per project, so replaying the same input never changes a balance twice. A positive entry (EARN,
positive ADJUST, REFUND) is a *lot*: `remaining` is what is left of it to spend, `expires_at`
when what is left expires. An account row per person holds the balance and lifetime figures; it
is the row every writer locks before it touches the person's lots.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from growthloop.store.metadata import Base, utcnow

KINDS = ("EARN", "REDEEM", "ADJUST", "EXPIRE", "REFUND")


class PointsRule(Base):
    """Points for an event: `points` per event, or per `per_amount` of an amount (revenue)."""

    __tablename__ = "points_rules"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    per_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)
    amount_property: Mapped[str] = mapped_column(String(100), default="revenue")
    once: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    validity_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PointsAccount(Base):
    """One person's balance (sum of the ledger), lifetime earned points, spend and level."""

    __tablename__ = "points_accounts"
    __table_args__ = (UniqueConstraint("project_id", "person_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    person_id: Mapped[str] = mapped_column(String(200))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    earned: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0))
    level: Mapped[str] = mapped_column(String(100), default="")
    level_changes: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PointsEntry(Base):
    """One ledger entry; `key` is its idempotency key, unique in the project."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        Index("ix_points_ledger_person", "project_id", "person_id", "id"),
        Index("ix_points_ledger_cap", "project_id", "rule_id", "person_id", "day"),
        Index("ix_points_ledger_expiry", "project_id", "expires_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    person_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(250))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("points_rules.id", ondelete="SET NULL"), nullable=True
    )
    event_uuid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    day: Mapped[date] = mapped_column(Date)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    remaining: Mapped[int] = mapped_column(BigInteger, default=0)
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PointsLevel(Base):
    """A level reached at `threshold` lifetime earned points (basis points) or spend."""

    __tablename__ = "points_levels"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(100))
    basis: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    benefits: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LevelEvent(Base):
    """A level change waiting to be (or already) written to the event store (an outbox)."""

    __tablename__ = "points_level_events"
    __table_args__ = (Index("ix_points_level_events_pending", "project_id", "written_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    person_id: Mapped[str] = mapped_column(String(200))
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    from_level: Mapped[str] = mapped_column(String(100))
    to_level: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    written_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class JobMark(Base):
    """A job's high-water mark per project (e.g. the last events.inserted_at it has processed)."""

    __tablename__ = "points_job_marks"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(32))
    mark: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
