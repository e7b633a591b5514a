"""Feedback inbox (用户反馈): entries, tags, status, forwarding."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/feedback", tags=["feedback"])
