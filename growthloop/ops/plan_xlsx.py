"""A monthly plan as an XLSX workbook in the usual spreadsheet layout, and back.

Sheet 运营规划: B1 holds the month (2026-11); row 3 the headers; from row 4 one row per action,
the strategy and its description in columns A-B merged down over the strategy's actions (an
empty A continues the strategy above). Statuses are written in Chinese (未开始 进行中 已完成 受阻)
and read in Chinese or English (todo doing done blocked). Overdue actions are filled red.

Import replaces the month's plan in one transaction: every bad cell is reported as sheet!cell
with what is wrong, and then nothing at all is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from growthloop.accounts import Account
from growthloop.ops import plans
from growthloop.ops.models import PlanStrategy
from growthloop.ops.targets import TargetError
from growthloop.workspace import Workspace

SHEET = "运营规划"
HEADER_ROW = 3
HEADERS = (
    ("策略方向", "Strategy"),
    ("策略说明", "Description"),
    ("行动项", "Action"),
    ("负责人", "Owner"),
    ("截止日期", "Due"),
    ("状态", "Status"),
    ("关联目标", "Goal"),
    ("关联活动", "Campaign"),
    ("关联内容", "Content"),
)
STATUS_LABELS = {"todo": "未开始", "doing": "进行中", "done": "已完成", "blocked": "受阻"}
STATUS_OF = {**{v: k for k, v in STATUS_LABELS.items()}, **{k: k for k in STATUS_LABELS}}
OVERDUE_FILL = PatternFill("solid", start_color="FFFDE2E2")


class PlanImportError(ValueError):
    """Cells that cannot be imported; `problems` holds one 'sheet!cell: what' line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def export_plan(ws: Workspace, project_id: int, month: date, today: date) -> bytes:
    """The month's plan as an .xlsx file."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    sheet["A1"], sheet["B1"] = "月份 Month", f"{month:%Y-%m}"
    for col, (zh, en) in enumerate(HEADERS, start=1):
        cell = sheet.cell(HEADER_ROW, col, f"{zh} {en}")
        cell.font = Font(bold=True)
    row = HEADER_ROW + 1
    for view in plans.plan_of(ws, project_id, month):
        first = row
        sheet.cell(row, 1, view.strategy.title)
        sheet.cell(row, 2, view.strategy.description or None)
        for action in view.actions:
            values: list[Any] = [
                action.title,
                action.owner or None,
                action.due,
                STATUS_LABELS[action.status],
                action.goal_id,
                action.campaign_id,
                action.content_ref or None,
            ]
            for col, value in enumerate(values, start=3):
                cell = sheet.cell(row, col, value)
                if plans.is_overdue(action, today):
                    cell.fill = OVERDUE_FILL
            sheet.cell(row, 5).number_format = "yyyy-mm-dd"
            row += 1
        row = max(row, first + 1)
        if row - 1 > first:
            for col in (1, 2):
                sheet.merge_cells(
                    start_row=first, start_column=col, end_row=row - 1, end_column=col
                )
                sheet.cell(first, col).alignment = Alignment(vertical="top")
    for letter, width in zip("ABCDEFGHI", (18, 24, 30, 10, 12, 8, 9, 9, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class _Row:
    strategy: str
    description: str
    action: dict[str, Any] | None
    where: str
    """The row number in the sheet."""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _month(value: Any, where: str) -> date:
    if isinstance(value, datetime | date):
        return date(value.year, value.month, 1)
    try:
        return datetime.strptime(_text(value), "%Y-%m").date()
    except ValueError:
        raise PlanImportError(
            [f"{where}: the month must look like 2026-11, got {value!r}"]
        ) from None


def _due(value: Any, where: str, problems: list[str]) -> date | None:
    if value is None or _text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_text(value))
    except ValueError:
        problems.append(f"{where}: the due date must be a date like 2026-11-30, got {value!r}")
        return None


def _ref(value: Any, where: str, problems: list[str]) -> int | None:
    text = _text(value).removeprefix("#")
    if not text:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if text.isdigit():
        return int(text)
    problems.append(f"{where}: expected an id number, got {value!r}")
    return None


def _check_headers(sheet: Worksheet, problems: list[str]) -> None:
    for col, (zh, en) in enumerate(HEADERS, start=1):
        cell = sheet.cell(HEADER_ROW, col)
        words = _text(cell.value).split()
        if zh not in words and en not in words:
            problems.append(f"{SHEET}!{cell.coordinate}: expected the header '{zh} {en}'")


def _rows(sheet: Worksheet, problems: list[str]) -> list[_Row]:
    out: list[_Row] = []
    strategy, description = "", ""
    for r in range(HEADER_ROW + 1, sheet.max_row + 1):
        cells = [sheet.cell(r, c) for c in range(1, len(HEADERS) + 1)]
        if all(_text(c.value) == "" for c in cells):
            continue
        if _text(cells[0].value):
            strategy, description = _text(cells[0].value), _text(cells[1].value)
        elif not strategy:
            problems.append(f"{SHEET}!A{r}: an action needs a strategy in column A on or above it")
            continue
        if not any(_text(c.value) for c in cells[2:]):
            out.append(_Row(strategy, description, None, str(r)))
            continue
        title = _text(cells[2].value)
        if not title:
            problems.append(f"{SHEET}!C{r}: the action has no title")
        status_text = _text(cells[5].value) or "未开始"
        status = STATUS_OF.get(status_text) or STATUS_OF.get(status_text.lower())
        if status is None:
            known = " ".join([*STATUS_LABELS.values(), *STATUS_LABELS])
            problems.append(f"{SHEET}!F{r}: unknown status {status_text!r} (one of: {known})")
        action = {
            "title": title[:300],
            "owner": _text(cells[3].value)[:100],
            "due": _due(cells[4].value, f"{SHEET}!E{r}", problems),
            "status": status or "todo",
            "goal_id": _ref(cells[6].value, f"{SHEET}!G{r}", problems),
            "campaign_id": _ref(cells[7].value, f"{SHEET}!H{r}", problems),
            "content_ref": _text(cells[8].value)[:200],
        }
        out.append(_Row(strategy, description, action, str(r)))
    return out


def import_plan(ws: Workspace, project_id: int, who: Account, data: bytes) -> tuple[date, int, int]:
    """Replace the month's plan with the workbook's: (month, strategies, actions) written.

    PlanImportError lists every bad cell; then nothing is written.
    """
    try:
        book = load_workbook(BytesIO(data), data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise PlanImportError([f"file: not an .xlsx workbook ({exc})"]) from None
    if SHEET not in book.sheetnames:
        raise PlanImportError(
            [f"file: no sheet named {SHEET} (sheets: {', '.join(book.sheetnames)})"]
        )
    sheet = book[SHEET]
    month = _month(sheet["B1"].value, f"{SHEET}!B1")
    problems: list[str] = []
    _check_headers(sheet, problems)
    rows = _rows(sheet, problems)
    if problems:
        raise PlanImportError(problems)
    n_strategies = n_actions = 0
    with ws.sessions.begin() as s:
        old = s.scalars(
            select(PlanStrategy).where(
                PlanStrategy.project_id == project_id, PlanStrategy.month == month
            )
        )
        for st in list(old):
            plans.drop_strategy(s, project_id, who, st)
        current: PlanStrategy | None = None
        for row in rows:
            if current is None or current.title != row.strategy:
                current = plans.add_strategy(
                    s, project_id, who, month, row.strategy, row.description
                )
                n_strategies += 1
            if row.action is not None:
                try:
                    plans.add_action(s, project_id, who, current, row.action)
                    n_actions += 1
                except TargetError as exc:
                    column = "H" if str(exc).startswith("campaign_id") else "G"
                    problems.append(f"{SHEET}!{column}{row.where}: {exc}")
        if problems:
            # Leaving the block by an exception rolls the whole import back.
            raise PlanImportError(problems)
    return month, n_strategies, n_actions
