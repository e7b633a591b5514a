"""Feedback inbox (用户反馈) and campaign review lessons.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ops_campaign_lessons",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "campaign_id",
            sa.Integer,
            sa.ForeignKey("ops_campaigns.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("worked", sa.Text, nullable=False),
        sa.Column("failed", sa.Text, nullable=False),
        sa.Column("next_steps", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        *_stamps(),
    )
    op.create_table(
        "feedback_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_uuid", sa.String(64), nullable=True),
        sa.Column("distinct_id", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("forwarded_at", sa.DateTime, nullable=True),
        *_stamps(),
        sa.UniqueConstraint("project_id", "event_uuid", name="uq_feedback_event_uuid"),
    )
    op.create_index(
        "ix_feedback_entries_project_received", "feedback_entries", ["project_id", "received_at"]
    )
    op.create_table(
        "feedback_forwards",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "entry_id",
            sa.Integer,
            sa.ForeignKey("feedback_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_feedback_forwards_entry", "feedback_forwards", ["entry_id"])
    op.create_table(
        "feedback_settings",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("webhook_url", sa.String(500), nullable=False),
        *_stamps(),
    )


def downgrade() -> None:
    op.drop_table("feedback_settings")
    op.drop_index("ix_feedback_forwards_entry", table_name="feedback_forwards")
    op.drop_table("feedback_forwards")
    op.drop_index("ix_feedback_entries_project_received", table_name="feedback_entries")
    op.drop_table("feedback_entries")
    op.drop_table("ops_campaign_lessons")
