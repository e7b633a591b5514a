"""Outreach (个性化触达) to segments: messages, sends, holdouts, results."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/outreach", tags=["outreach"])
