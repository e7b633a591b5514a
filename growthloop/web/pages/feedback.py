"""Feedback inbox pages (用户反馈)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
