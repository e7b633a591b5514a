"""Saved segments (用户分群): definitions, members, size over time, export."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/segments", tags=["segments"])
