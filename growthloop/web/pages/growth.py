"""Growth system pages (用户成长体系): points and levels."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
