"""What the growth-model pages share: blocks of facts, tables and charts, rendered by one template.

A page is a list of `Block`s; a table's cells are formatted here (in the request's locale), so the
template `models_page.html` only lays them out. Model refusals are shown on the page (422) with
the model's own message instead of an error page, so the user can change the form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response

from growthloop.i18n import Formatter, Translator, translator
from growthloop.models.rfm import SEGMENT_NAMES
from growthloop.web.context import ProjectRef
from growthloop.web.rendering import formatter_for, locale_of, render, script_json

Kind = str  # int, num, num2, money, pct, text, date, p


@dataclass
class Cell:
    text: str
    num: bool = False


@dataclass
class Action:
    """A small POST form in a table row (or under a block)."""

    url: str
    label: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Row:
    key: str
    cells: list[Cell]
    highlight: bool = False
    action: Action | None = None


@dataclass
class Table:
    columns: list[str]
    rows: list[Row]


@dataclass
class Block:
    id: str
    title: str
    note: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    figure: str | None = None
    action: Action | None = None


@dataclass
class FormField:
    name: str
    label: str
    value: Any
    type: str = "text"  # text, date, number, select
    options: Sequence[tuple[str, str]] = ()


class Page:
    """The request's translator and formatter, and the cell formatting by kind."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.locale = locale_of(request)
        self.t: Translator = translator(self.locale)
        self.fmt: Formatter = formatter_for(request)

    def cell(self, value: Any, kind: Kind) -> Cell:
        """A formatted cell; '–' for a missing value."""
        if value is None:
            return Cell("–", kind != "text")
        if kind == "int":
            return Cell(self.fmt.number(float(value)), True)
        if kind == "num":
            return Cell(self.fmt.number(float(value), 1), True)
        if kind == "num2":
            return Cell(self.fmt.number(float(value), 2), True)
        if kind == "num3":
            return Cell(self.fmt.number(float(value), 3), True)
        if kind == "money":
            return Cell(self.fmt.money(float(value)), True)
        if kind == "pct":
            return Cell(self.fmt.percent(float(value)), True)
        if kind == "p":
            return Cell(f"{float(value):.4f}" if value >= 0.0001 else f"{float(value):.1e}", True)
        if kind == "date":
            return Cell(self.fmt.date(value), False)
        return Cell(str(value))

    def table(
        self,
        columns: Sequence[tuple[str, str, Kind]],
        rows: Sequence[dict[str, Any]],
        key: str,
        highlight: Callable[[dict[str, Any]], bool] | None = None,
        action: Callable[[dict[str, Any]], Action | None] | None = None,
    ) -> Table:
        """A table of `rows` (dicts) with (field, label, kind) columns."""
        return Table(
            [label for _, label, _ in columns],
            [
                Row(
                    str(r.get(key, i)),
                    [self.cell(r.get(f), kind) for f, _, kind in columns],
                    bool(highlight and highlight(r)),
                    action(r) if action else None,
                )
                for i, r in enumerate(rows)
            ],
        )

    def segment(self, code: str) -> str:
        """An RFM segment's name in the page's language."""
        en, zh = SEGMENT_NAMES.get(code, (code, code))
        return zh if self.locale.startswith("zh") else en

    def channel(self, name: str) -> str:
        """A channel's display name (default channel groups are translated)."""
        return self.t.get(f"channel.{name}", name)


def figure(data: list[dict[str, Any]], layout: dict[str, Any] | None = None) -> str:
    """A Plotly figure as JSON for charts.js."""
    base: dict[str, Any] = {
        "margin": {"l": 60, "r": 20, "t": 10, "b": 60},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.25},
    }
    base.update(layout or {})
    return script_json({"data": data, "layout": base})


@dataclass
class Problem:
    """A model's refusal, to show on the page."""

    message: str | None = None


@contextmanager
def shown(problem: Problem) -> Iterator[None]:
    """A 422 from the model layer becomes a message on the page."""
    try:
        yield
    except HTTPException as exc:
        if exc.status_code != 422:
            raise
        problem.message = str(exc.detail)


def model_page(
    page: Page,
    project: ProjectRef,
    slug: str,
    title: str,
    intro: str,
    form: Sequence[FormField],
    blocks: Sequence[Block],
    problem: Problem,
) -> Response:
    """Render one model's page; 422 when the model refused the input."""
    return render(
        page.request,
        "models_page.html",
        {
            "project": project,
            "slug": slug,
            "title": title,
            "intro": intro,
            "form": form,
            "blocks": blocks,
            "error": problem.message,
        },
        status_code=422 if problem.message else 200,
    )
