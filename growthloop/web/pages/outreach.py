"""Outreach pages (个性化触达)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
