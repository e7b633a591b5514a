"""Outreach (个性化触达): messages, runs, the send log, suppressions, per-project settings.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_outreach",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("segment_id", sa.Integer, nullable=True),
        sa.Column("person_ids", sa.JSON, nullable=True),
        sa.Column("holdout_percent", sa.Float, nullable=False),
        sa.Column("send_at", sa.DateTime, nullable=True),
        sa.Column("repeat_days", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("conversion_event", sa.String(200), nullable=False),
        sa.Column("window_days", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("backoff_seconds", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ops_outreach_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "outreach_id",
            sa.Integer,
            sa.ForeignKey("ops_outreach.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("run_key", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("outreach_id", "run_key"),
    )
    op.create_table(
        "ops_outreach_sends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("ops_outreach_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(1000), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("unsubscribe_url", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claim", sa.String(16), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("run_id", "person_id"),
    )
    op.create_index(
        "ix_ops_outreach_sends_status", "ops_outreach_sends", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_ops_outreach_sends_person", "ops_outreach_sends", ["project_id", "person_id", "sent_at"]
    )
    op.create_table(
        "ops_outreach_suppressions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("person_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("outreach_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "channel", "address"),
    )
    op.create_table(
        "ops_outreach_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False, unique=True
        ),
        sa.Column("cap_messages", sa.Integer, nullable=True),
        sa.Column("cap_days", sa.Integer, nullable=False),
        sa.Column("push_webhook_url", sa.String(1000), nullable=False),
        sa.Column("sms_webhook_url", sa.String(1000), nullable=False),
        sa.Column("webhook_headers", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ops_outreach_settings")
    op.drop_table("ops_outreach_suppressions")
    op.drop_index("ix_ops_outreach_sends_person", "ops_outreach_sends")
    op.drop_index("ix_ops_outreach_sends_status", "ops_outreach_sends")
    op.drop_table("ops_outreach_sends")
    op.drop_table("ops_outreach_runs")
    op.drop_table("ops_outreach")
