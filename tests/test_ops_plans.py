"""Monthly plans: strategies and actions with overdue flags, versions and audit; the XLSX round
trip through openpyxl; bad cells reported as sheet!cell with nothing half-imported."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from growthloop.accounts import add_user, create_token
from growthloop.web.app import create_app
from growthloop.workspace import Workspace


def clients(ws: Workspace) -> tuple[TestClient, TestClient]:
    app = create_app(ws)
    out = []
    for name, role in (("pia", "operator"), ("vlad", "viewer")):
        account, _ = add_user(ws, f"{name}-{secrets.token_hex(3)}", role)
        token = create_token(ws, account.id, "t")[1]
        out.append(TestClient(app, headers={"Authorization": f"Bearer {token}"}))
    return out[0], out[1]


def build_plan(ops: TestClient, month: str, today: date) -> dict[str, Any]:
    goal = ops.post(
        "/api/goals",
        json={"name": "GMV", "period_kind": "month", "period_start": f"{month}-01", "target": 1},
    ).json()
    growth = ops.post("/api/plans/strategies", json={"month": month, "title": "私域复购"}).json()
    traffic = ops.post(
        "/api/plans/strategies",
        json={"month": month, "title": "内容引流", "description": "小红书 + 知乎"},
    ).json()
    actions = [
        (growth, {"title": "社群秒杀", "owner": "李娜", "due": str(today - timedelta(days=2))}),
        (
            growth,
            {
                "title": "会员日",
                "owner": "王强",
                "due": str(today + timedelta(days=5)),
                "goal_id": goal["id"],
                "status": "doing",
            },
        ),
        (
            traffic,
            {
                "title": "选题会",
                "owner": "李娜",
                "due": str(today - timedelta(days=1)),
                "status": "done",
                "content_ref": "c_014",
            },
        ),
    ]
    made = []
    for st, body in actions:
        got = ops.post(f"/api/plans/strategies/{st['id']}/actions", json=body)
        assert got.status_code == 201, got.text
        made.append(got.json())
    return {"goal": goal, "strategies": (growth, traffic), "actions": made}


def test_plan_api_overdue_versions_and_audit(metadata_url: str, tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        ops, vic = clients(ws)
        today = datetime.now(ws.settings.tz).date()
        month = f"{today:%Y-%m}"
        assert (
            vic.post("/api/plans/strategies", json={"month": month, "title": "x"}).status_code
            == 403
        )
        made = build_plan(ops, month, today)
        plan = vic.get("/api/plans", params={"month": month}).json()
        rows = [(a["title"], a["overdue"]) for s in plan["strategies"] for a in s["actions"]]
        # Overdue: past due and not done (the done one is not overdue).
        assert rows == [("社群秒杀", True), ("会员日", False), ("选题会", False)]
        bad = ops.post(
            f"/api/plans/strategies/{made['strategies'][0]['id']}/actions",
            json={"title": "x", "goal_id": 999999},
        )
        assert (
            bad.status_code == 422
            and bad.json()["detail"] == "goal_id: no goal 999999 in this project"
        )

        first = made["actions"][0]
        done = ops.patch(f"/api/plans/actions/{first['id']}", json={"version": 1, "status": "done"})
        assert done.json()["overdue"] is False and done.json()["version"] == 2
        stale = ops.patch(f"/api/plans/actions/{first['id']}", json={"version": 1, "owner": "x"})
        assert stale.status_code == 409 and "now version 2" in stale.json()["detail"]
        history = vic.get(f"/api/plans/actions/{first['id']}/history").json()
        assert [h["action"] for h in history] == ["create", "update"]
        assert all(h["user"].startswith("pia-") for h in history)
        assert history[1]["changes"] == {"status": ["todo", "done"]}


def test_xlsx_round_trip_and_bad_cells(metadata_url: str, tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        ops, vic = clients(ws)
        today = datetime.now(ws.settings.tz).date()
        month = f"{today:%Y-%m}"
        month = "2031-03"  # a month of its own: the PostgreSQL database lives for the session
        made = build_plan(ops, month, today)
        got = vic.get("/api/plans/export", params={"month": month})
        assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(BytesIO(got.content))
        sheet = book["运营规划"]
        assert sheet["B1"].value == month
        assert [c.value for c in sheet[3]][:3] == [
            "策略方向 Strategy",
            "策略说明 Description",
            "行动项 Action",
        ]
        assert [str(r) for r in sheet.merged_cells.ranges] == ["A4:A5", "B4:B5"]
        table = [[c.value for c in row] for row in sheet.iter_rows(min_row=4, max_col=9)]
        assert [r[0] for r in table] == ["私域复购", None, "内容引流"]
        assert [(r[2], r[3], r[5]) for r in table] == [
            ("社群秒杀", "李娜", "未开始"),
            ("会员日", "王强", "进行中"),
            ("选题会", "李娜", "已完成"),
        ]
        assert table[1][6] == made["goal"]["id"] and table[2][8] == "c_014"
        assert sheet["C4"].fill.start_color.rgb == "FFFDE2E2"  # overdue
        assert sheet["C5"].fill.start_color.rgb != "FFFDE2E2"

        # Edit as a person would: finish an action, hand one over, add one under the 2nd strategy.
        sheet["F4"] = "已完成"
        sheet["D5"] = "赵敏"
        sheet.append([None, None, "达人合作", "周杰", date(2026, 12, 3), "todo", None, None, None])
        out = BytesIO()
        book.save(out)
        imported = ops.post("/api/plans/import", files={"file": ("p.xlsx", out.getvalue())})
        assert imported.status_code == 200, imported.text
        assert imported.json() == {"month": month, "strategies": 2, "actions": 4}
        plan = vic.get("/api/plans", params={"month": month}).json()
        summary = [
            (
                s["title"],
                s["description"],
                [(a["title"], a["owner"], a["status"], a["due"]) for a in s["actions"]],
            )
            for s in plan["strategies"]
        ]
        assert summary == [
            (
                "私域复购",
                "",
                [
                    ("社群秒杀", "李娜", "done", str(today - timedelta(days=2))),
                    ("会员日", "赵敏", "doing", str(today + timedelta(days=5))),
                ],
            ),
            (
                "内容引流",
                "小红书 + 知乎",
                [
                    ("选题会", "李娜", "done", str(today - timedelta(days=1))),
                    ("达人合作", "周杰", "todo", "2026-12-03"),
                ],
            ),
        ]
        assert plan["strategies"][0]["actions"][1]["goal_id"] == made["goal"]["id"]

        # Bad cells: every one reported by sheet and cell, nothing imported.
        sheet["E5"] = "next friday"
        sheet["F6"] = "maybe"
        sheet["C7"] = None
        out = BytesIO()
        book.save(out)
        bad = ops.post("/api/plans/import", files={"file": ("p.xlsx", out.getvalue())})
        assert bad.status_code == 422
        problems = bad.json()["detail"]
        assert (
            problems[0]
            == "运营规划!E5: the due date must be a date like 2026-11-30, got 'next friday'"
        )
        assert problems[1].startswith("运营规划!F6: unknown status 'maybe'")
        assert problems[2] == "运营规划!C7: the action has no title"
        assert vic.get("/api/plans", params={"month": month}).json() == plan

        # A link to a goal that does not exist fails while writing: the whole import rolls back.
        fresh = load_workbook(
            BytesIO(vic.get("/api/plans/export", params={"month": month}).content)
        )
        fresh["运营规划"]["G7"] = 424242
        fresh["运营规划"]["C4"] = "改了名字"
        out = BytesIO()
        fresh.save(out)
        bad = ops.post("/api/plans/import", files={"file": ("p.xlsx", out.getvalue())})
        assert bad.status_code == 422
        assert bad.json()["detail"] == ["运营规划!G7: goal_id: no goal 424242 in this project"]
        assert vic.get("/api/plans", params={"month": month}).json() == plan
        junk = ops.post("/api/plans/import", files={"file": ("p.xlsx", b"not a workbook")})
        assert junk.status_code == 422 and junk.json()["detail"][0].startswith("file: not an .xlsx")


def test_plan_pages_table_board_and_import(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d") as ws:
        ops, vic = clients(ws)
        today = datetime.now(ws.settings.tz).date()
        month = f"{today:%Y-%m}"
        made = build_plan(ops, month, today)
        page = vic.get("/plans", params={"month": month, "lang": "en"})
        assert page.status_code == 200
        assert page.text.count('class="overdue"') == 1
        assert f'data-action="{made["actions"][0]["id"]}" class="overdue"' in page.text
        board = vic.get("/plans", params={"month": month, "view": "board", "lang": "zh-CN"}).text
        assert 'data-status="doing"' in board and "会员日" in board
        first = made["actions"][0]
        moved = ops.post(
            f"/plans/actions/{first['id']}/status",
            data={"month": month, "version": "1", "status": "done"},
            follow_redirects=False,
        )
        assert moved.status_code == 303
        assert 'class="overdue"' not in vic.get("/plans", params={"month": month}).text
        xlsx = vic.get("/api/plans/export", params={"month": month}).content
        assert ops.post("/plans/import", files={"file": ("p.xlsx", xlsx)}).status_code == 200
        assert vic.post("/plans/import", files={"file": ("p.xlsx", xlsx)}).status_code == 403


def test_research_notes_are_tagged_and_linked_to_strategies(
    metadata_url: str, tmp_path: Path
) -> None:
    with Workspace.open(tmp_path / "d", metadata_url=metadata_url) as ws:
        ops, vic = clients(ws)
        month = "2032-05"  # a month of its own: the PostgreSQL database lives for the session
        st = ops.post("/api/plans/strategies", json={"month": month, "title": "价格带调整"}).json()
        survey = ops.post(
            "/api/plans/notes",
            json={
                "kind": "survey",
                "title": "问卷: 价格敏感",
                "body": "62% 认为 199 以上偏贵",
                "tags": [" 价格", "价格", "Survey-Q3 "],
                "strategy_id": st["id"],
            },
        )
        assert survey.status_code == 201 and survey.json()["tags"] == ["价格", "survey-q3"]
        ops.post(
            "/api/plans/notes",
            json={"kind": "competitor", "title": "竞品A 满减", "tags": ["价格", "竞品a"]},
        )
        bad = ops.post(
            "/api/plans/notes", json={"kind": "survey", "title": "x", "strategy_id": 999999}
        )
        assert (
            bad.status_code == 422
            and bad.json()["detail"] == "strategy_id: no strategy 999999 in this project"
        )
        assert (
            vic.post("/api/plans/notes", json={"kind": "survey", "title": "x"}).status_code == 403
        )

        mine = [n["title"] for n in vic.get("/api/plans/notes", params={"tag": "价格"}).json()]
        assert "问卷: 价格敏感" in mine and "竞品A 满减" in mine
        linked = vic.get("/api/plans/notes", params={"strategy_id": st["id"]}).json()
        assert [n["title"] for n in linked] == ["问卷: 价格敏感"]
        assert [
            n["title"] for n in vic.get("/api/plans/notes", params={"tag": "SURVEY-Q3"}).json()
        ] == ["问卷: 价格敏感"]
        note = survey.json()
        changed = ops.patch(f"/api/plans/notes/{note['id']}", json={"version": 1, "tags": ["定价"]})
        assert changed.json()["tags"] == ["定价"] and changed.json()["version"] == 2
        assert (
            ops.patch(
                f"/api/plans/notes/{note['id']}", json={"version": 1, "title": "y"}
            ).status_code
            == 409
        )
        page = vic.get("/plans", params={"month": month}).text
        assert (
            "问卷: 价格敏感" in page and "竞品A 满减" not in page
        )  # unlinked notes stay off the plan
        made = ops.post(
            "/plans/notes",
            data={
                "month": month,
                "kind": "competitor",
                "title": "竞品B 会员日",
                "strategy_id": str(st["id"]),
                "tags": "会员，竞品b",
            },
            follow_redirects=False,
        )
        assert made.status_code == 303
        assert (
            vic.get("/api/plans/notes", params={"tag": "竞品b"}).json()[0]["title"]
            == "竞品B 会员日"
        )
        assert ops.delete(f"/api/plans/notes/{note['id']}").status_code == 204
