"""Analysis builder pages (事件/漏斗/留存/路径/分布分析): one builder per analysis kind."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
