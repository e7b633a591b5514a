"""Every model's data fetch on an empty project says what is missing instead of returning numbers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from growthloop.models.attribution import attribute
from growthloop.models.attribution_data import fetch_paths
from growthloop.models.budget_mix_data import fetch_channel_days
from growthloop.models.channel_roi_data import fetch_channel_counts
from growthloop.models.clv_data import fetch_activity, fetch_buyers
from growthloop.models.content_data import fetch_content
from growthloop.models.errors import ModelInputError
from growthloop.models.experiments_data import ExperimentSpec, fetch_experiment
from growthloop.models.kpi_series_data import (
    fetch_daily_events,
    fetch_daily_kpi,
    fetch_pacing_actuals,
)
from growthloop.models.rfm_data import fetch_rfm
from growthloop.workspace import Workspace

START, END = date(2026, 1, 1), date(2026, 1, 31)

CALLS: dict[str, tuple[Callable[..., object], str]] = {
    "rfm": (
        lambda con, tz: fetch_rfm(con, tz, END),
        "RFM needs at least 1 order up to 2026-01-31, got 0",
    ),
    "clv": (
        lambda con, tz: fetch_buyers(con, tz, END),
        "BG/NBD needs at least 1 order up to 2026-01-31",
    ),
    "activity": (
        lambda con, tz: fetch_activity(con, tz, END, START),
        "needs at least 1 active user in 2026-01-01 .. 2026-01-31",
    ),
    "experiment": (
        lambda con, tz: fetch_experiment(con, ExperimentSpec("new_checkout")),
        "needs at least 1 experiment_exposure event",
    ),
    "channels": (
        lambda con, tz: fetch_channel_counts(con, tz, START, END),
        "no new users and no spend between 2026-01-01 and 2026-01-31",
    ),
    "attribution": (
        lambda con, tz: attribute(fetch_paths(con, tz, START, END).paths),
        "attribution needs at least 1 path, got 0",
    ),
    "budget": (
        lambda con, tz: fetch_channel_days(con, tz, START, END),
        "needs at least 1 day of spend between 2026-01-01 and 2026-01-31",
    ),
    "content": (
        lambda con, tz: fetch_content(con, tz, START, END),
        "needs at least 1 item published between 2026-01-01 and 2026-01-31",
    ),
    "kpi": (
        lambda con, tz: fetch_daily_kpi(con, tz, "CNY", "gmv", START, END),
        "there is no gmv data between 2026-01-01 and 2026-01-31",
    ),
    "pacing": (
        lambda con, tz: fetch_pacing_actuals(con, tz, "CNY", "visitors", (START, END), END),
        "kpi must be a KPI that adds up over days",
    ),
    "events": (
        lambda con, tz: fetch_daily_events(con, tz, START, END),
        "there is no event tracking data between",
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_an_empty_project_gives_a_clear_message(workspace: Workspace, name: str) -> None:
    call, message = CALLS[name]
    with pytest.raises(ModelInputError, match=message):
        call(workspace.events().con, workspace.settings.tz)
