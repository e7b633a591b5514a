"""Growth system (用户成长体系): points rules, ledger, balances, levels."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/points", tags=["points"])
