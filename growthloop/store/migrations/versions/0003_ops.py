"""Operations workspace: goals, audit trail, monthly plans, campaigns and their checklists,
topic library, content pipeline and publishing cadence, research notes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "ops_goals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column(
            "parent_id",
            sa.Integer,
            sa.ForeignKey("ops_goals.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("period_kind", sa.String(16), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("metric", sa.JSON, nullable=True),
        sa.Column("combine", sa.String(16), nullable=True),
        sa.Column("target", sa.Float, nullable=True),
        sa.Column("target_source", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_ops_goals_project_parent", "ops_goals", ["project_id", "parent_id"])
    op.create_table(
        "ops_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_ops_audit_object", "ops_audit", ["object_type", "object_id"])
    op.create_table(
        "ops_campaigns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("warmup_date", sa.Date, nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("budget", sa.JSON, nullable=False),
        sa.Column("segment", sa.String(500), nullable=False),
        sa.Column("risk_plan", sa.Text, nullable=False),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("project_id", "key"),
    )
    op.create_table(
        "ops_campaign_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "campaign_id",
            sa.Integer,
            sa.ForeignKey("ops_campaigns.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("due", sa.Date, nullable=True),
        sa.Column("done", sa.Boolean, nullable=False),
        *_stamps(),
    )
    op.create_table(
        "ops_plan_strategies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ops_plan_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "strategy_id",
            sa.Integer,
            sa.ForeignKey("ops_plan_strategies.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("due", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "goal_id", sa.Integer, sa.ForeignKey("ops_goals.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "campaign_id",
            sa.Integer,
            sa.ForeignKey("ops_campaigns.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("content_ref", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ops_topics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ops_content",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column(
            "topic_id",
            sa.Integer,
            sa.ForeignKey("ops_topics.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "variant_of",
            sa.Integer,
            sa.ForeignKey("ops_content.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("publish_on", sa.Date, nullable=True),
        sa.Column("item_id", sa.String(64), nullable=False),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ops_cadence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("per_week", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "channel", "format"),
    )
    op.create_table(
        "ops_research_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column(
            "strategy_id",
            sa.Integer,
            sa.ForeignKey("ops_plan_strategies.id", ondelete="SET NULL"),
            nullable=True,
        ),
        *_stamps(),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ops_research_notes")
    op.drop_table("ops_cadence")
    op.drop_table("ops_content")
    op.drop_table("ops_topics")
    op.drop_table("ops_plan_actions")
    op.drop_table("ops_plan_strategies")
    op.drop_table("ops_campaign_tasks")
    op.drop_table("ops_campaigns")
    op.drop_index("ix_ops_audit_object", "ops_audit")
    op.drop_table("ops_audit")
    op.drop_index("ix_ops_goals_project_parent", "ops_goals")
    op.drop_table("ops_goals")
