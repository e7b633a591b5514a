"""Points and levels over HTTP (API and /growth page) and from the command line, on SQLite and
PostgreSQL: answers, error codes and roles, with figures checked against the ledger rules."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from growthloop.accounts import add_user, create_token
from growthloop.cli import app
from growthloop.ingest.files import import_files
from growthloop.web.app import create_app
from growthloop.workspace import Workspace

# Days counted from ten days ago: a redemption happens now, and must find the purchases' 30-day
# lots unexpired whatever day the suite runs.
BASE = datetime.now(UTC).date() - timedelta(days=10)


def day(n: int) -> str:
    return (BASE + timedelta(days=n)).isoformat()


PURCHASES = [("amy", f"{day(1)} 02:00:00", 120.5), ("amy", f"{day(2)} 02:00:00", 80.0),
             ("bob", f"{day(2)} 03:00:00", 19.99)]  # fmt: skip


def write_events(path: Path) -> Path:
    rows = [
        {
            "uuid": f"00000000-0000-4000-8000-{n:012d}",
            "event": "purchase",
            "distinct_id": who,
            "timestamp": ts,
            "properties": {"revenue": amount},
        }
        for n, (who, ts, amount) in enumerate(PURCHASES)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def env(
    tmp_path: Path, metadata_url: str
) -> Iterator[tuple[Workspace, dict[str, TestClient], str]]:
    with Workspace.open(tmp_path / "data", metadata_url=metadata_url) as ws:
        slug = "w" + secrets.token_hex(4)
        ws.ensure_project(slug)
        import_files(
            ws, "events", [write_events(tmp_path / "e.jsonl")], timezone="UTC", project=slug
        )
        app = create_app(ws)
        clients = {}
        for role in ("viewer", "operator", "admin"):
            account, _ = add_user(ws, f"{role}-{secrets.token_hex(3)}", role)
            token = create_token(ws, account.id, "test")[1]
            clients[role] = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        yield ws, clients, slug


def test_points_api_and_growth_page(env: tuple[Workspace, dict[str, TestClient], str]) -> None:
    _, c, slug = env
    q = f"?project={slug}"
    op, viewer = c["operator"], c["viewer"]
    rule = {"name": "buy", "event": "purchase", "points": 1, "per_amount": 1, "validity_days": 30}
    assert viewer.post(f"/api/points/rules{q}", json=rule).status_code == 403
    created = op.post(f"/api/points/rules{q}", json=rule)
    assert created.status_code == 201, created.text
    assert op.post(f"/api/points/rules{q}", json=rule).status_code == 422  # same name
    rule_id, version = created.json()["id"], created.json()["version"]
    renamed = op.patch(f"/api/points/rules/{rule_id}{q}", json={"version": version, "name": "b"})
    assert renamed.status_code == 200 and renamed.json()["version"] == version + 1
    stale = op.patch(f"/api/points/rules/{rule_id}{q}", json={"version": version, "name": "c"})
    assert stale.status_code == 409
    bad = op.patch(
        f"/api/points/rules/{rule_id}{q}", json={"version": version + 1, "per_amount": 0}
    )
    assert bad.status_code == 422 and "per_amount" in bad.json()["detail"]
    level = {"name": "Silver", "basis": "points", "threshold": 150, "benefits": "free shipping"}
    assert op.post(f"/api/points/levels{q}", json=level).status_code == 201
    award = op.post(f"/api/points/award{q}", json={"from": day(0), "to": day(4)})
    assert award.json()["entries"] == 3 and award.json()["points"] == 120 + 80 + 19
    assert award.json()["level_changes"] == 1  # amy: 200 >= 150
    again = op.post(f"/api/points/award{q}", json={"from": day(0), "to": day(4)})
    assert again.json()["entries"] == 0
    amy = viewer.get(f"/api/points/accounts/amy{q}").json()
    assert (amy["balance"], amy["earned"], amy["level"], amy["spend"]) == (
        200,
        200,
        "Silver",
        200.5,
    )
    body = {"person_id": "amy", "points": 150, "key": "order-9"}
    assert viewer.post(f"/api/points/redeem{q}", json=body).status_code == 403
    first = op.post(f"/api/points/redeem{q}", json=body)
    assert first.status_code == 201 and first.json()["points"] == -150
    assert op.post(f"/api/points/redeem{q}", json=body).json()["id"] == first.json()["id"]
    conflict = op.post(f"/api/points/redeem{q}", json={**body, "points": 10})
    assert conflict.status_code == 409 and "order-9" in conflict.json()["detail"]
    short = op.post(f"/api/points/redeem{q}", json={**body, "key": "order-10", "points": 51})
    assert short.status_code == 422 and "balance 50 is less than" in short.json()["detail"]
    refund = op.post(f"/api/points/refund{q}", json={"redeem_key": "order-9", "key": "rf-1"})
    assert refund.json()["points"] == 150
    adjust = {"person_id": "bob", "points": -20, "key": "fix-1", "reason": "typo"}
    assert op.post(f"/api/points/adjust{q}", json=adjust).status_code == 422  # bob has 19
    summary = viewer.get(f"/api/points/summary{q}").json()
    assert summary["kinds"]["EARN"]["points"] == 219 and summary["outstanding"] == 219
    page = viewer.get(f"/growth{q}&person=amy&lang=en")
    assert page.status_code == 200
    assert "amy: balance 200, lifetime earned 200, level Silver" in page.text
    assert "order-9" in page.text and "rule:" in page.text
    assert (
        viewer.post(f"/growth/award{q}", data={"first": day(0), "last": day(1)}).status_code == 403
    )


def cli(*args: str, data: Path, metadata_url: str) -> Result:
    """The command as a user types it, run in-process (the CLI only builds the app and calls)."""
    env = {"GROWTHLOOP_DATA_DIR": str(data), "GROWTHLOOP_METADATA_URL": metadata_url}
    return CliRunner().invoke(app, list(args), env=env)


def test_points_and_referral_commands(tmp_path: Path, metadata_url: str) -> None:
    data = tmp_path / "data"
    with Workspace.open(data, metadata_url=metadata_url) as ws:
        slug = "c" + secrets.token_hex(4)
        ws.ensure_project(slug)
        import_files(
            ws, "events", [write_events(tmp_path / "e.jsonl")], timezone="UTC", project=slug
        )
        from growthloop.ops import points_rules

        project = next(p for p in ws.projects() if p.slug == slug)
        points_rules.create_rule(
            ws, project.id,
            {"name": "buy", "event": "purchase", "points": 1, "per_amount": 1, "validity_days": 30},
        )  # fmt: skip
    p = ["--project", slug]
    run: Any = lambda *a: cli(*a, *p, data=data, metadata_url=metadata_url)  # noqa: E731
    out = run("points", "award", "--from", day(0), "--to", day(4))
    assert out.exit_code == 0, out.output
    assert "3 awards (219 points, 0 capped)" in out.stdout
    assert "0 awards" in run("points", "award", "--from", day(0), "--to", day(4)).stdout
    assert "entry" in run("points", "redeem", "amy", "150", "--key", "o-1").stdout
    refused = run("points", "redeem", "amy", "51", "--key", "o-2")
    assert refused.exit_code == 1 and "balance 50 is less than the 51" in refused.stderr
    # amy's second lot (50 left) and bob's lot (19) are past their 30 days
    assert "2 lots expired" in run("points", "expire", "--at", f"{day(33)}T00:00").stdout
    assert "amy: balance 0, earned 200" in run("points", "balance", "amy").stdout
    assert "buy: purchase -> 1 per 1.00 of revenue valid 30d" in run("points", "rules").stdout
    assert run("referral", "code", "amy").stdout.split()[1].startswith("https://")
    stats = run("referral", "stats", "--from", day(0), "--to", day(4))
    assert "K-factor - = 0 referral signups / 0 users" in stats.stdout
