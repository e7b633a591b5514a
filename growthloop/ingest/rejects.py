"""Rows an import with --skip-bad leaves out: where, which column, what value and why, and the
CSV file that lists them."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Reject:
    place: str
    column: str
    value: object
    reason: str
    record: dict[str, Any]


def clip(text: object, limit: int = 200) -> str:
    s = str(text)
    return s if len(s) <= limit else s[:limit] + "..."


def write_rejects(data_dir: Path, kind: str, rejects: list[Reject], path: Path | None) -> Path:
    """Write the rejects as CSV to `path` (default `<data dir>/rejects/<kind>-<time>.csv`)."""
    if path is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = data_dir / "rejects" / f"{kind}-{stamp}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["place", "column", "value", "reason", "record"])
        for r in rejects:
            record = json.dumps(r.record, default=str, ensure_ascii=False)
            writer.writerow([r.place, r.column, r.value, r.reason, record])
    return path


class BadRowError(ValueError):
    """A value that cannot be stored; nothing of the import was stored."""

    def __init__(self, place: str, column: str, value: object, reason: str) -> None:
        self.place, self.column, self.value, self.reason = place, column, value, reason
        advice = "nothing was imported (fix the row, or use --skip-bad to import the good rows)"
        if reason == "missing value":
            super().__init__(f"{place}: column {column!r} is empty but required; {advice}")
        else:
            super().__init__(f"{place}: column {column!r}: {value!r} is {reason}; {advice}")
