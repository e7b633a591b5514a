"""Saving a model's list as a static user segment (RFM segment, churn-risk list), on the demo over
SQLite and PostgreSQL: the stored members are exactly the model's list; only operators may save."""

from __future__ import annotations

from datetime import date

import numpy as np

from growthloop.analytics import saved_segments
from growthloop.analytics.saved_segments_models import unpack_members
from growthloop.models import churn, clv, rfm
from growthloop.models.clv_data import fetch_buyers
from growthloop.models.rfm_data import fetch_rfm
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.web_clients import client_for

END = date(2026, 11, 23)


def stored(ws: Workspace, segment_id: int) -> list[str]:
    found = saved_segments.membership(ws, segment_id)
    assert found is not None
    return unpack_members(found.members)


def test_rfm_segment_and_churn_list_saved_as_static_segments(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops, viewer = client_for(demo_ws, "operator", app), client_for(demo_ws, "viewer", app)
    body = {"segment": "cant_lose", "as_of": str(END)}
    assert viewer.post("/api/models/rfm/segments", json=body).status_code == 403
    made = ops.post("/api/models/rfm/segments", json=body)
    assert made.status_code == 201, made.text
    con, tz = demo_ws.events().con, demo_ws.settings.tz
    now = fetch_rfm(con, tz, END)
    s = rfm.score(now.data)
    want = rfm.segment_members(
        now.person_ids.tolist(), rfm.rf_segments(s.r, s.f).tolist(), "cant_lose"
    )
    assert made.json()["size"] == len(want) > 0
    assert stored(demo_ws, made.json()["id"]) == sorted(want)
    seg = saved_segments.get_segment(demo_ws, 1, made.json()["id"])
    assert seg.kind == "static" and "Can't Lose" in (seg.source or "")

    value = ops.post(
        "/api/models/rfm/segments",
        json={"segment": "important_retention", "map": "value", "as_of": str(END), "name": "VIP"},
    )
    want8 = rfm.segment_members(
        now.person_ids.tolist(), rfm.value_segments(now.data).tolist(), "important_retention"
    )
    assert value.json()["name"] == "VIP" and stored(demo_ws, value.json()["id"]) == sorted(want8)

    risk = ops.post("/api/models/churn/segments", json={"as_of": str(END)})
    assert risk.status_code == 201, risk.text
    buyers = fetch_buyers(con, tz, END)
    fit = clv.fit_bgnbd(buyers.purchases.summary)
    listed = churn.churn_risk(
        buyers.purchases.total_spend, clv.p_alive(fit, buyers.purchases.summary)
    )
    assert stored(demo_ws, risk.json()["id"]) == sorted(
        np.asarray(buyers.person_ids)[listed.indices].tolist()
    )

    bad = ops.post("/api/models/rfm/segments", json={"segment": "vip", "as_of": str(END)})
    assert bad.status_code == 422 and "segment must be one of" in bad.json()["detail"]
    empty = ops.post("/api/models/churn/segments", json={"as_of": str(END), "max_p_alive": 0.0001})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
