"""Growth models in the app: stored alert rules and their deliveries.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_alert_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("event", sa.String(200), nullable=True),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=True),
        sa.Column("min_severity", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("destinations", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("last_checked_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_model_alert_rules_project_id", "model_alert_rules", ["project_id"])
    op.create_table(
        "model_alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "rule_id",
            sa.Integer,
            sa.ForeignKey("model_alert_rules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=True),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("rule_id", "day", name="uq_model_alert_deliveries_day"),
    )


def downgrade() -> None:
    op.drop_table("model_alert_deliveries")
    op.drop_index("ix_model_alert_rules_project_id", table_name="model_alert_rules")
    op.drop_table("model_alert_rules")
