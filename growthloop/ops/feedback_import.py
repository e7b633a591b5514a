"""Import feedback from a CSV or JSON Lines file: all rows or none.

Columns (CSV header or JSON keys): `text` (required), `tags` (a list in JSON; in CSV separated
by commas, ; or |), `rating` (1..5), `status`, `assignee`, `distinct_id`, `received_at` (ISO 8601;
without an offset it is the project's local time; default: the time of the import). An unknown
column, or any bad value, stops the import before anything is stored, and the error names the
file, the line and the column, like `growthloop import` does.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from growthloop.accounts import Account
from growthloop.ops.feedback import FeedbackError, add_checked, entry_values
from growthloop.store.metadata import utcnow
from growthloop.workspace import Workspace

COLUMNS = ("text", "tags", "rating", "status", "assignee", "distinct_id", "received_at")
MAX_PROBLEMS = 20
MAX_ROWS = 100_000


class FeedbackImportError(ValueError):
    """The file has problems (each `file:line: column: what`); nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(problems)
        super().__init__(f"{shown}\nnothing was imported; fix these rows and import again")


def _rows(name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, fields) of every data row; FeedbackImportError for an unreadable file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedbackImportError([f"{name}: not UTF-8 text (byte {exc.start})"]) from None
    lower = name.lower()
    if lower.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
        if unknown or not reader.fieldnames:
            what = f"unknown column {unknown[0]!r}" if unknown else "no header row"
            raise FeedbackImportError([f"{name}:1: {what} (columns: {', '.join(COLUMNS)})"])
        # reader.line_num is the line a row ends on; rows may span lines inside quotes.
        return [(reader.line_num, dict(row)) for row in reader]
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        out, problems = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{name}:{number}: not JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                problems.append(f"{name}:{number}: not a JSON object")
                continue
            unknown = [k for k in row if k not in COLUMNS]
            if unknown:
                problems.append(f"{name}:{number}: unknown column {unknown[0]!r}")
                continue
            out.append((number, row))
        if problems:
            raise FeedbackImportError(problems[:MAX_PROBLEMS])
        return out
    raise FeedbackImportError([f"{name}: use a .csv or .jsonl file"])


def _when(value: Any, tz: ZoneInfo) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise FeedbackError(f"received_at: {value!r} is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def parse_feedback(name: str, data: bytes, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every row checked, ready to store; FeedbackImportError lists the problems."""
    rows = _rows(name, data)
    if len(rows) > MAX_ROWS:
        raise FeedbackImportError([f"{name}: {len(rows)} rows, at most {MAX_ROWS} per file"])
    now, checked, problems = utcnow(), [], []
    for number, row in rows:
        try:
            values = dict(row)
            values["received_at"] = _when(row.get("received_at"), tz)
            checked.append(entry_values(values, "import", now))
        except FeedbackError as exc:
            problems.append(f"{name}:{number}: {exc}")
    if problems:
        raise FeedbackImportError(problems[:MAX_PROBLEMS])
    if not checked:
        raise FeedbackImportError([f"{name}: no rows"])
    return checked


def import_feedback(ws: Workspace, project_id: int, who: Account, name: str, data: bytes) -> int:
    """Store every row of the file in one transaction; returns how many."""
    checked = parse_feedback(name, data, ws.settings.tz)
    with ws.sessions.begin() as s:
        for values in checked:
            add_checked(s, project_id, who, values)
    return len(checked)
