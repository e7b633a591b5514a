"""The JSON API under /api: one router per capability, listed in ROUTERS."""

from fastapi import APIRouter

from growthloop.web.api import (
    campaigns,
    content_calendar,
    dashboards,
    docs,
    feedback,
    goals,
    insights,
    me,
    models,
    outreach,
    overview,
    plans,
    points,
    projects,
    referral,
    segments,
    settings,
    today,
    tokens,
    users,
)

ROUTERS: list[APIRouter] = [
    me.router,
    overview.router,
    insights.router,
    dashboards.router,
    tokens.router,
    users.router,
    projects.router,
    settings.router,
    docs.router,
    goals.router,
    plans.router,
    campaigns.router,
    today.router,
    content_calendar.router,
    segments.router,
    models.router,
    outreach.router,
    points.router,
    referral.router,
    feedback.router,
]
