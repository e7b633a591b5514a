"""Saved segments in the metadata database: definitions, the last computed membership, and one
size row per computation (size over time).

The membership lives in the metadata database, next to the definition, not in the event store:
the event store has a single writer (often `growthloop serve`) and may be shared read-only, and
a segment id only means something together with its metadata database. A membership is the
sorted person_ids, newline-joined and zlib-compressed, in one row per segment; analyses load it
into the engine as an in-memory table (see saved_segments_query.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from growthloop.store.metadata import Base, utcnow

RULE, STATIC = "rule", "static"
"""Segment kinds: recomputed from a definition, or a fixed list of people."""


class SavedSegment(Base):
    """A named segment of a project: a rule `definition` (SegmentDefinition JSON) or a static
    list (`kind` static, `source` says where the list came from). Rule segments are recomputed
    every `refresh_hours` hours by the `segments` job (None: on demand only)."""

    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_project", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    refresh_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SegmentMembership(Base):
    """The last computation of a segment: when it was tried, when it last succeeded, its size
    and members, and the error of the last attempt if it failed."""

    __tablename__ = "segment_memberships"
    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    computed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    members: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SegmentSize(Base):
    """One computation's size, and how many people joined and left since the one before."""

    __tablename__ = "segment_sizes"
    __table_args__ = (Index("ix_segment_sizes_segment_at", "segment_id", "computed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    size: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)


def pack_members(person_ids: Iterable[str]) -> bytes:
    """Sorted, distinct person_ids as one compressed blob."""
    return zlib.compress("\n".join(sorted(set(person_ids))).encode(), level=6)


def unpack_members(blob: bytes | None) -> list[str]:
    """The person_ids of a blob, sorted."""
    if not blob:
        return []
    text = zlib.decompress(blob).decode()
    return text.split("\n") if text else []
