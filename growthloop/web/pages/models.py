"""Growth model pages (增长模型)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
