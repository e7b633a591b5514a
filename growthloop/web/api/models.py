"""Growth models (增长模型): one endpoint per model, under /api/models.

The routes live in sub-routers by area; every model's refusal (ModelInputError) answers 422 with
the model's own message.
"""

from __future__ import annotations

from fastapi import APIRouter

from growthloop.web.api import (
    models_alerts,
    models_channels,
    models_customers,
    models_save,
    models_signals,
    models_tests,
)

router = APIRouter(prefix="/api/models", tags=["models"])
router.include_router(models_customers.router)
router.include_router(models_alerts.router)
router.include_router(models_save.router)
router.include_router(models_channels.router)
router.include_router(models_tests.router)
router.include_router(models_signals.router)
