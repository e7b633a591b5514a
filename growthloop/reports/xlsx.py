"""A report as an Excel workbook: one sheet per section's table, and the recipe.

Cells hold the numbers themselves (with a number format: counts, percentages, money), not the
text the HTML shows, so the reader can compute with them; the section's findings sit above its
table. The last sheet holds the data window and the specs as JSON.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from growthloop.i18n import Formatter, translator
from growthloop.reports.document import Cell, Kind, Report, show

_FORMATS: dict[Kind, str] = {
    "int": "#,##0",
    "pct": "0.0%",
    "change": "+0.0%;-0.0%;0.0%",
    "points": "0.0",
    "ratio": "0.00",
    "date": "yyyy-mm-dd",
}
_HEADER_FILL = PatternFill("solid", fgColor="F3F4F6")
SHEET_NAME_MAX = 31  # Excel's limit
_NOT_IN_SHEET_NAMES = str.maketrans({c: " " for c in "/\\?*[]:"})


def _cell_value(kind: Kind, value: Cell, locale: str) -> str | float | date | None:
    """Numbers stay numbers (money as a number in the project currency); labels as text."""
    if value is None:
        return None
    if kind in ("int", "pct", "change", "points", "ratio", "money") and isinstance(
        value, int | float
    ):
        return float(value)
    if kind == "date" and isinstance(value, date):
        return value
    t = translator(locale)
    return show(kind, value, t, Formatter(locale))


def write_xlsx(report: Report, out: Path, locale: str, currency: str = "CNY") -> Path:
    """Write the report's tables to `out` (.xlsx)."""
    t, fmt = translator(locale), Formatter(locale, currency)
    money_format = f'"{fmt.money(0).rstrip("0.,")}"#,##0.00'
    book = Workbook()
    book.remove(book.active)
    for section in report.sections:
        name = section.title(t).translate(_NOT_IN_SHEET_NAMES)
        if len(name) > SHEET_NAME_MAX:
            name = name[:SHEET_NAME_MAX].rsplit(" ", 1)[0]
        sheet = book.create_sheet(name)
        sheet.append([section.title(t)])
        sheet["A1"].font = Font(bold=True, size=14)
        for finding in section.findings:
            sheet.append([finding.text(t, fmt)])
        sheet.append([])
        header_row = sheet.max_row + 1
        sheet.append(section.table.header(t))
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
        for index, row in enumerate(section.table.rows):
            kinds = section.table.kinds_of(index)
            sheet.append([_cell_value(k, v, locale) for k, v in zip(kinds, row, strict=True)])
            for cell, kind in zip(sheet[sheet.max_row], kinds, strict=True):
                number_format = money_format if kind == "money" else _FORMATS.get(kind)
                if number_format and cell.value is not None:
                    cell.number_format = number_format
        for column in range(1, len(section.table.columns) + 1):
            sheet.column_dimensions[get_column_letter(column)].width = 18
    recipe = book.create_sheet("specs")
    recipe.append([t("report.recipe")])
    recipe.append([json.dumps(report.recipe(), ensure_ascii=False)])
    book.save(out)
    return out
