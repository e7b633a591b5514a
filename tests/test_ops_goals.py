"""Goal trees: target splits and progress against brute-force references; the API on the demo
business over SQLite and PostgreSQL, with roles, version conflicts and the audit trail."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import add_user
from growthloop.ops import audit, goals
from growthloop.ops.measure import Actual
from growthloop.ops.models import Goal
from growthloop.ops.progress import progress
from growthloop.ops.targets import (
    TargetError,
    derived_target,
    months_of,
    period_containing,
    period_of,
    split_by_days,
    split_by_weights,
)
from growthloop.web.app import create_app
from growthloop.workspace import Workspace
from tests.web_clients import client_for

TZ = ZoneInfo("Asia/Shanghai")
DEMO_END = date(2026, 11, 23)
Q4 = date(2026, 10, 1)


def brute_split(total: float, weights: list[float]) -> list[float]:
    """Largest remainder in whole cents with exact fractions."""
    cents = round(Fraction(str(total)) * 100)
    wsum = sum(Fraction(str(w)) for w in weights)
    exact = [cents * Fraction(str(w)) / wsum for w in weights]
    floors = [int(e // 1) for e in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [f / 100 for f in floors]


def test_split_by_weights_matches_exact_largest_remainder() -> None:
    rng = random.Random(7)
    for _ in range(500):
        n = rng.randint(1, 6)
        weights = [
            rng.choice([0, rng.randint(1, 50), round(rng.uniform(0, 9), 3)]) for _ in range(n)
        ]
        if sum(weights) == 0:
            weights[0] = 1
        total = round(rng.uniform(0, 1e6), rng.choice([0, 2]))
        got = split_by_weights(total, weights)
        assert got == brute_split(total, weights), (total, weights)
        assert round(sum(got), 2) == round(total, 2)
    with pytest.raises(TargetError, match="weights"):
        split_by_weights(100, [0, 0])


def test_split_by_days_counts_every_day_of_each_month() -> None:
    for year in (2024, 2025, 2026):
        for month in (1, 4, 7, 10):
            quarter = period_of("quarter", date(year, month, 1))
            by_month: dict[int, int] = defaultdict(int)
            day = quarter.start
            while day <= quarter.end:
                by_month[day.month] += 1
                day += timedelta(days=1)
            days = [by_month[m] for m in sorted(by_month)]
            assert [p.days for p in months_of(quarter)] == days
            assert split_by_days(300000, months_of(quarter)) == brute_split(300000, days)
    # 2026 Q4: 31 + 30 + 31 days.
    assert split_by_days(300000, months_of(period_of("quarter", Q4))) == [
        101086.96,
        97826.09,
        101086.95,
    ]


def test_periods_start_where_they_should() -> None:
    with pytest.raises(TargetError, match="quarter starts on Jan/Apr/Jul/Oct 1"):
        period_of("quarter", date(2026, 11, 1))
    with pytest.raises(TargetError, match="a week starts on a Monday"):
        period_of("week", date(2026, 11, 25))
    assert period_containing("week", date(2026, 11, 25)).start == date(2026, 11, 23)
    assert period_containing("quarter", date(2026, 11, 25)) == period_of("quarter", Q4)
    assert period_of("month", date(2024, 2, 1)).days == 29


def test_derived_targets() -> None:
    assert derived_target("product", 300000, [30000, 0.05]) == pytest.approx(200.0)
    assert derived_target("sum", 1000, [300, 200]) == 500
    with pytest.raises(TargetError, match="is 0"):
        derived_target("product", 10, [0.0])


def test_progress_by_how_the_metric_grows() -> None:
    quarter = period_of("quarter", Q4)  # 92 days
    as_of = date(2026, 10, 10)  # 10 days elapsed
    daily = tuple(float(d) for d in range(1, 11))  # 1..10, sum 55
    additive = progress(Actual(55.0, daily, "additive"), 920.0, quarter, as_of)
    assert additive.expected_to_date == pytest.approx(100.0)
    assert additive.pace == pytest.approx(0.55)
    # Mean of the last 7 days (4..10) = 7, times the 82 days left.
    assert additive.forecast == pytest.approx(55 + 7 * 82)
    assert additive.achieved == pytest.approx(55 / 920)
    count = progress(Actual(50.0, daily, "count"), 920.0, quarter, as_of)
    assert count.pace == pytest.approx(0.5) and count.forecast == pytest.approx(460.0)
    rate = progress(Actual(0.04, daily, "rate"), 0.05, quarter, as_of)
    assert rate.pace == pytest.approx(0.8) and rate.forecast == 0.04 and rate.on_track is False
    ended = progress(Actual(55.0, daily, "additive"), 920.0, quarter, date(2027, 1, 5))
    assert ended.forecast == 55.0 and ended.elapsed_days == 92
    before = progress(None, 920.0, quarter, date(2026, 9, 1))
    assert before.actual is None and before.pace is None


def reference(ws: Workspace, first: date, last: date) -> dict[str, float]:
    """GMV, orders, visitors, buyers and daily GMV by brute force over the demo's rows."""
    con = ws.events().con
    orders = con.execute("SELECT timestamp, amount, currency, person_id FROM orders").fetchall()
    daily: dict[date, float] = defaultdict(float)
    buyers, count = set(), 0
    for ts, amount, currency, person in orders:
        day = ts.replace(tzinfo=UTC).astimezone(TZ).date()
        if first <= day <= last and currency == "CNY":
            daily[day] += float(amount)
            buyers.add(person)
            count += 1
    visitors = set()
    for ts, person in con.execute("SELECT timestamp, person_id FROM events").fetchall():
        if first <= ts.replace(tzinfo=UTC).astimezone(TZ).date() <= last:
            visitors.add(person)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    gmv = sum(daily.values())
    return {
        "gmv": gmv,
        "orders": count,
        "visitors": len(visitors),
        "conversion_rate": len(buyers) / len(visitors),
        "aov": gmv / count,
        "last7": sum(daily[d] for d in days[-7:]) / 7,
    }


def test_quarterly_gmv_goal_on_the_demo(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops, vic = client_for(demo_ws, "operator", app), client_for(demo_ws, "viewer", app)
    body = {
        "name": "Q4 GMV",
        "period_kind": "quarter",
        "period_start": "2026-10-01",
        "metric": {"kind": "kpi", "name": "gmv"},
        "target": 300000,
    }
    assert vic.post("/api/goals", json=body).status_code == 403
    bad = ops.post("/api/goals", json={**body, "period_start": "2026-11-01"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("period_start:")
    bad = ops.post("/api/goals", json={**body, "metric": {"kind": "kpi", "name": "dau"}})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("metric.name:")
    root = ops.post("/api/goals", json=body).json()
    kids = ops.post(f"/api/goals/{root['id']}/decompose", json={"template": "gmv"})
    assert kids.status_code == 201
    visitors, rate, aov = kids.json()
    ops.patch(f"/api/goals/{visitors['id']}", json={"version": 1, "target": 40000})
    ops.patch(f"/api/goals/{rate['id']}", json={"version": 1, "target": 0.05})

    trees = vic.get("/api/goals", params={"as_of": DEMO_END.isoformat()}).json()
    tree = next(t for t in trees if t["id"] == root["id"])
    ref = reference(demo_ws, Q4, DEMO_END)
    assert tree["actual"] == pytest.approx(ref["gmv"], abs=0.01)
    assert ref["gmv"] > 100000  # Oct 1 .. Nov 23 of the demo, campaign included
    elapsed, remaining = 54, 38
    assert tree["elapsed_days"] == elapsed and tree["total_days"] == 92
    assert tree["expected_to_date"] == pytest.approx(300000 * elapsed / 92)
    assert tree["pace"] == pytest.approx(ref["gmv"] / (300000 * elapsed / 92))
    assert tree["forecast"] == pytest.approx(ref["gmv"] + ref["last7"] * remaining, abs=0.01)
    by_name = {c["name"]: c for c in tree["children"]}
    assert by_name["visitors"]["actual"] == ref["visitors"]
    assert by_name["conversion rate"]["actual"] == pytest.approx(ref["conversion_rate"])
    assert by_name["AOV"]["actual"] == pytest.approx(ref["aov"])
    # AOV's target is derived: 300000 / (40000 x 5%) = 150.
    assert by_name["AOV"]["target"] == pytest.approx(150.0)
    assert by_name["AOV"]["target_source"] == "derived"
    assert by_name["conversion rate"]["pace"] == pytest.approx(ref["conversion_rate"] / 0.05)

    # A second edit from the old version is refused with a clear message.
    stale = ops.patch(f"/api/goals/{visitors['id']}", json={"version": 1, "target": 1})
    assert stale.status_code == 409
    assert "changed by someone else (now version 2" in stale.json()["detail"]
    history = vic.get(f"/api/goals/{visitors['id']}/history").json()
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["changes"]["target"] == [None, 40000]
    assert history[1]["user"].startswith("operator-")

    assert ops.delete(f"/api/goals/{root['id']}").status_code == 204
    assert vic.get(f"/api/goals/{visitors['id']}").status_code == 404
    gone = vic.get(f"/api/goals/{aov['id']}/history").json()
    assert gone[-1]["action"] == "delete"


def test_split_a_quarter_into_months(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops = client_for(demo_ws, "operator", app)
    body = {
        "name": "GMV by month",
        "period_kind": "quarter",
        "period_start": "2026-10-01",
        "metric": {"kind": "kpi", "name": "gmv"},
        "target": 300000,
    }
    root = ops.post("/api/goals", json=body).json()
    months = ops.post(f"/api/goals/{root['id']}/split", json={"by": "days"}).json()
    assert [(m["period_start"], m["target"]) for m in months] == [
        ("2026-10-01", 101086.96),
        ("2026-11-01", 97826.09),
        ("2026-12-01", 101086.95),
    ]
    again = ops.post(f"/api/goals/{root['id']}/split", json={"by": "days"})
    assert again.status_code == 422 and "already decomposed" in again.json()["detail"]
    tree = next(
        t
        for t in ops.get("/api/goals", params={"as_of": "2026-11-23"}).json()
        if t["id"] == root["id"]
    )
    october = reference(demo_ws, date(2026, 10, 1), date(2026, 10, 31))
    assert tree["children"][0]["actual"] == pytest.approx(october["gmv"], abs=0.01)
    assert tree["children"][2]["actual"] is None  # December has not started on Nov 23

    # Last year's shape: Q4 2027 is split like Q4 2026 (October, November so far, no December).
    next_year = ops.post("/api/goals", json={**body, "period_start": "2027-10-01"}).json()
    shaped = ops.post(f"/api/goals/{next_year['id']}/split", json={"by": "last_year"}).json()
    november = reference(demo_ws, date(2026, 11, 1), date(2026, 11, 30))
    assert [m["target"] for m in shaped] == brute_split(
        300000, [october["gmv"], november["gmv"], 0]
    )
    early = ops.post("/api/goals", json={**body, "period_start": "2026-01-01"}).json()
    none = ops.post(f"/api/goals/{early['id']}/split", json={"by": "last_year"})
    assert none.status_code == 422 and "no data for last year's months" in none.json()["detail"]
    for goal in (root, next_year, early):
        ops.delete(f"/api/goals/{goal['id']}")


def test_concurrent_saves_of_one_goal_do_not_lose_an_update(
    metadata_url: str, tmp_path: Path
) -> None:
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        who, _ = add_user(ws, f"olga-{random.getrandbits(32):x}", "operator")
        project = ws.ensure_project(ws.settings.default_project).id
        values = {"name": "G", "period_kind": "month", "period_start": date(2026, 11, 1)}
        goal = goals.create_goal(ws, project, who, values)
        # Two editors hold the row at version 1; the first commit wins, the second is refused.
        first, second = ws.sessions(), ws.sessions()
        mine, theirs = first.get(Goal, goal.id), second.get(Goal, goal.id)
        assert mine is not None and theirs is not None
        mine.target, theirs.target = 10.0, 20.0
        first.commit()
        with pytest.raises(StaleDataError):
            second.commit()
        first.close()
        second.close()
        with pytest.raises(audit.Conflict, match="now version 2"):
            goals.update_goal(ws, project, who, goal.id, 1, {"target": 30.0})
        assert goals.get_goal(ws, project, goal.id).target == 10.0


def test_goal_pages_build_and_show_a_tree(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops, vic = client_for(demo_ws, "operator", app), client_for(demo_ws, "viewer", app)
    form = {
        "name": "页面 GMV",
        "period_kind": "quarter",
        "period_start": "2026-10-01",
        "kpi": "gmv",
        "target": "300000",
    }
    assert vic.post("/goals", data=form, follow_redirects=False).status_code == 403
    made = ops.post("/goals", data=form, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/goals?project=default"
    root = next(g for g in ops.get("/api/goals").json() if g["name"] == "页面 GMV")
    assert ops.post(f"/goals/{root['id']}/split", data={"by": "days"}).status_code == 200
    page = vic.get("/goals", params={"as_of": "2026-11-23", "lang": "en"})
    assert page.status_code == 200
    text = page.text
    assert "页面 GMV 2026-10" in text and "Split into months" not in text
    october = reference(demo_ws, date(2026, 10, 1), date(2026, 10, 31))
    assert f"CN¥{october['gmv']:,.2f}" in text
    assert "101,086.96" in text
    bad = ops.post("/goals", data={**form, "period_start": "2026-10-02"})
    assert bad.status_code == 422 and "a quarter starts on Jan/Apr/Jul/Oct 1" in bad.text
    ops.delete(f"/api/goals/{root['id']}")


def test_the_ops_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from growthloop.store.metadata import alembic_config, migrate

    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    migrate(url)
    command.downgrade(alembic_config(url), "0002")
    engine = create_engine(url)
    assert not [t for t in inspect(engine).get_table_names() if t.startswith("ops_")]
    migrate(url)
    assert "ops_goals" in inspect(engine).get_table_names()
    engine.dispose()


def test_new_users_split_by_channel_on_the_demo(demo_ws: Workspace) -> None:
    app = create_app(demo_ws)
    ops = client_for(demo_ws, "operator", app)
    root = ops.post(
        "/api/goals",
        json={
            "name": "11 月新增",
            "period_kind": "month",
            "period_start": "2026-11-01",
            "metric": {"kind": "kpi", "name": "new_users"},
            "target": 600,
        },
    ).json()
    wrong = ops.post(f"/api/goals/{root['id']}/decompose", json={"template": "gmv"})
    assert wrong.status_code == 422 and "not bound to the GMV KPI" in wrong.json()["detail"]
    channels = ["Direct", "Referral", "Paid Search"]
    kids = ops.post(
        f"/api/goals/{root['id']}/decompose", json={"template": "channels", "channels": channels}
    ).json()
    ops.patch(f"/api/goals/{kids[0]['id']}", json={"version": 1, "target": 300})
    ops.patch(f"/api/goals/{kids[1]['id']}", json={"version": 1, "target": 200})
    tree = next(
        t
        for t in ops.get("/api/goals", params={"as_of": "2026-11-23"}).json()
        if t["id"] == root["id"]
    )
    # Brute force: distinct people with a signup on each channel, Nov 1 .. 23 local time.
    people: dict[str | None, set[str]] = defaultdict(set)
    rows = (
        demo_ws.events()
        .con.execute("SELECT timestamp, person_id, channel FROM events WHERE event = 'signup'")
        .fetchall()
    )
    for ts, person, channel in rows:
        if date(2026, 11, 1) <= ts.replace(tzinfo=UTC).astimezone(TZ).date() <= DEMO_END:
            people[channel].add(person)
            people["all"].add(person)
    assert tree["actual"] == len(people["all"])
    by_name = {c["name"]: c for c in tree["children"]}
    for channel in channels:
        assert by_name[channel]["actual"] == len(people[channel]), channel
        assert by_name[channel]["actual"] > 0
    # The one child without a target gets the remainder of the sum: 600 - 300 - 200.
    assert (
        by_name["Paid Search"]["target"] == 100
        and by_name["Paid Search"]["target_source"] == "derived"
    )
    # Distinct people: pace on the linear expectation, forecast extrapolated over 30 days.
    direct = by_name["Direct"]
    assert direct["pace"] == pytest.approx(len(people["Direct"]) / (300 * 23 / 30))
    assert direct["forecast"] == pytest.approx(len(people["Direct"]) * 30 / 23)
    ops.delete(f"/api/goals/{root['id']}")


def test_goal_page_splits_new_users_by_channel(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d") as ws:
        app = create_app(ws)
        ops = client_for(ws, "operator", app)
        form = {
            "name": "新增",
            "period_kind": "month",
            "period_start": "2026-11-01",
            "kpi": "new_users",
        }
        ops.post("/goals", data=form, follow_redirects=False)
        root = ops.get("/api/goals").json()[0]
        assert 'class="by-channel"' in ops.get("/goals").text
        done = ops.post(
            f"/goals/{root['id']}/decompose",
            data={"channels": "Direct， Paid Search"},
            follow_redirects=False,
        )
        assert done.status_code == 303
        kids = ops.get("/api/goals", params={"as_of": "2026-11-05"}).json()[0]["children"]
        assert [(k["name"], k["metric"]["kind"], k["actual"]) for k in kids] == [
            ("Direct", "trends", 0),
            ("Paid Search", "trends", 0),
        ]
