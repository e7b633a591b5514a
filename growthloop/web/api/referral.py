"""Referral (老带新): invite codes, attributed signups and orders, rewards, K-factor."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/referral", tags=["referral"])
