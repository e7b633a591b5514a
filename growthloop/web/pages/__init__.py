"""Server-rendered pages: one router per capability, listed in ROUTERS."""

from fastapi import APIRouter

from growthloop.web.pages import (
    account,
    admin,
    analysis,
    auth,
    campaigns,
    content_calendar,
    dashboards,
    feedback,
    goals,
    growth,
    models,
    outreach,
    overview,
    plans,
    referral,
    reports,
    segments,
    today,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    overview.router,
    dashboards.router,
    account.router,
    admin.router,
    goals.router,
    plans.router,
    reports.router,
    campaigns.router,
    today.router,
    content_calendar.router,
    segments.router,
    models.router,
    outreach.router,
    growth.router,
    referral.router,
    feedback.router,
    analysis.router,
]
