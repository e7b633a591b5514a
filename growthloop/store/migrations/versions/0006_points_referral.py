"""Growth system (用户成长体系) and referral: points rules, ledger, levels, invite codes.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _project() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "points_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("event", sa.String(200), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("per_amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("amount_property", sa.String(100), nullable=False),
        sa.Column("once", sa.Boolean, nullable=False),
        sa.Column("daily_cap", sa.Integer, nullable=True),
        sa.Column("validity_days", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "points_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("earned", sa.BigInteger, nullable=False),
        sa.Column("spend", sa.Numeric(18, 2), nullable=False),
        sa.Column("level", sa.String(100), nullable=False),
        sa.Column("level_changes", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "person_id"),
    )
    op.create_table(
        "points_ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column(
            "rule_id",
            sa.Integer,
            sa.ForeignKey("points_rules.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("event_uuid", sa.String(36), nullable=True),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=True),
        sa.Column("remaining", sa.BigInteger, nullable=False),
        sa.Column("ref_id", sa.Integer, nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "key"),
    )
    op.create_index("ix_points_ledger_person", "points_ledger", ["project_id", "person_id", "id"])
    op.create_index(
        "ix_points_ledger_cap", "points_ledger", ["project_id", "rule_id", "person_id", "day"]
    )
    op.create_index("ix_points_ledger_expiry", "points_ledger", ["project_id", "expires_at"])
    op.create_table(
        "points_levels",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("basis", sa.String(8), nullable=False),
        sa.Column("threshold", sa.Numeric(18, 2), nullable=False),
        sa.Column("benefits", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "points_level_events",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("from_level", sa.String(100), nullable=False),
        sa.Column("to_level", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("written_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index(
        "ix_points_level_events_pending", "points_level_events", ["project_id", "written_at"]
    )
    op.create_table(
        "points_job_marks",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("mark", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "referral_programmes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False, unique=True
        ),
        sa.Column("invite_event", sa.String(200), nullable=False),
        sa.Column("signup_events", sa.String(500), nullable=False),
        sa.Column("order_event", sa.String(200), nullable=False),
        sa.Column("code_property", sa.String(100), nullable=False),
        sa.Column("link_template", sa.String(500), nullable=False),
        sa.Column("inviter_signup_points", sa.Integer, nullable=False),
        sa.Column("invitee_signup_points", sa.Integer, nullable=False),
        sa.Column("inviter_order_points", sa.Integer, nullable=False),
        sa.Column("invitee_order_points", sa.Integer, nullable=False),
        sa.Column("max_rewards_per_inviter", sa.Integer, nullable=False),
        sa.Column("validity_days", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "referral_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "code"),
    )
    op.create_index("ix_referral_codes_person", "referral_codes", ["project_id", "person_id"])
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer, primary_key=True),
        _project(),
        sa.Column("invitee_id", sa.String(200), nullable=False),
        sa.Column("inviter_id", sa.String(200), nullable=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("signup_uuid", sa.String(36), nullable=False),
        sa.Column("signed_up_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("first_order_uuid", sa.String(36), nullable=True),
        sa.Column("first_order_at", sa.DateTime, nullable=True),
        sa.Column("first_order_amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "invitee_id"),
    )
    op.create_index("ix_referrals_inviter", "referrals", ["project_id", "inviter_id"])


def downgrade() -> None:
    op.drop_index("ix_referrals_inviter", "referrals")
    op.drop_table("referrals")
    op.drop_index("ix_referral_codes_person", "referral_codes")
    op.drop_table("referral_codes")
    op.drop_table("referral_programmes")
    op.drop_table("points_job_marks")
    op.drop_index("ix_points_level_events_pending", "points_level_events")
    op.drop_table("points_level_events")
    op.drop_table("points_levels")
    op.drop_index("ix_points_ledger_expiry", "points_ledger")
    op.drop_index("ix_points_ledger_cap", "points_ledger")
    op.drop_index("ix_points_ledger_person", "points_ledger")
    op.drop_table("points_ledger")
    op.drop_table("points_accounts")
    op.drop_table("points_rules")
