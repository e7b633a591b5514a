"""Saved segments (用户分群): definitions, memberships and size history.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("definition", sa.JSON, nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("refresh_hours", sa.Integer, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_segments_project", "segments", ["project_id"])
    op.create_table(
        "segment_memberships",
        sa.Column(
            "segment_id",
            sa.Integer,
            sa.ForeignKey("segments.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("attempted_at", sa.DateTime, nullable=True),
        sa.Column("computed_at", sa.DateTime, nullable=True),
        sa.Column("size", sa.Integer, nullable=True),
        sa.Column("members", sa.LargeBinary, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_table(
        "segment_sizes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "segment_id",
            sa.Integer,
            sa.ForeignKey("segments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("computed_at", sa.DateTime, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("removed", sa.Integer, nullable=False),
    )
    op.create_index("ix_segment_sizes_segment_at", "segment_sizes", ["segment_id", "computed_at"])


def downgrade() -> None:
    op.drop_index("ix_segment_sizes_segment_at", "segment_sizes")
    op.drop_table("segment_sizes")
    op.drop_table("segment_memberships")
    op.drop_index("ix_segments_project", "segments")
    op.drop_table("segments")
