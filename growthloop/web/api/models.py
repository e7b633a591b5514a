"""Growth models (增长模型): one endpoint per model."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/models", tags=["models"])
