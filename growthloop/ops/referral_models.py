"""Referral tables (老带新 / 邀请返利): the programme's settings, invite codes, referrals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from growthloop.store.metadata import Base, utcnow


class ReferralProgramme(Base):
    """One project's referral settings: which events count and the two-sided rewards."""

    __tablename__ = "referral_programmes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    invite_event: Mapped[str] = mapped_column(String(200), default="invite_sent")
    signup_events: Mapped[str] = mapped_column(String(500), default="signup,referral_signup")
    order_event: Mapped[str] = mapped_column(String(200), default="purchase")
    code_property: Mapped[str] = mapped_column(String(100), default="invite_code")
    link_template: Mapped[str] = mapped_column(
        String(500), default="https://shop.example.cn/invite?code={code}"
    )
    inviter_signup_points: Mapped[int] = mapped_column(Integer, default=200)
    invitee_signup_points: Mapped[int] = mapped_column(Integer, default=100)
    inviter_order_points: Mapped[int] = mapped_column(Integer, default=300)
    invitee_order_points: Mapped[int] = mapped_column(Integer, default=0)
    max_rewards_per_inviter: Mapped[int] = mapped_column(Integer, default=50)
    validity_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReferralCode(Base):
    """An invite code and the person it belongs to (generated here, or first seen on an event)."""

    __tablename__ = "referral_codes"
    __table_args__ = (
        UniqueConstraint("project_id", "code"),
        Index("ix_referral_codes_person", "project_id", "person_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    code: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Referral(Base):
    """An invitee's signup with a code: accepted (rewarded) or rejected, with the reason."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("project_id", "invitee_id"),
        Index("ix_referrals_inviter", "project_id", "inviter_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    invitee_id: Mapped[str] = mapped_column(String(200))
    inviter_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    code: Mapped[str] = mapped_column(String(64))
    signup_uuid: Mapped[str] = mapped_column(String(36))
    signed_up_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    first_order_uuid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    first_order_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    first_order_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
