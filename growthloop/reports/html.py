"""A report as HTML: the web page's body and a standalone document (file, PDF, email).

The same template (`report_weekly_body.html`) renders both, so the PDF shows what the web page
shows. Charts are Plotly figures embedded as JSON and drawn by Plotly's own JavaScript, which
the web app serves from the installed plotly package and a standalone file carries inline
(never from a CDN: reports are read offline too).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import plotly
from jinja2 import Environment, PackageLoader, select_autoescape

from growthloop.i18n import Formatter, Translator, translator
from growthloop.reports.document import Chart, Report, Section, show

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
_COLOURS = ("#2563eb", "#94a3b8", "#16a34a", "#dc2626")

environment = Environment(
    loader=PackageLoader("growthloop.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def script_json(value: object) -> str:
    """JSON safe inside <script>: '<' is escaped so data cannot close the element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def figure(chart: Chart, t: Translator, fmt: Formatter) -> dict[str, Any]:
    """A Plotly figure (data and layout) for a report chart, labelled in the locale."""
    x = [show(chart.x_kind, v, t, fmt) for v in chart.x]
    data = []
    for i, (name, values) in enumerate(chart.series):
        trace: dict[str, Any] = {
            "type": "bar" if chart.type == "bar" else "scatter",
            "name": t(f"report.col.{name}"),
            "x": x,
            "y": list(values),
            "marker": {"color": _COLOURS[i % len(_COLOURS)]},
        }
        if chart.type == "line":
            trace["mode"] = "lines+markers"
        data.append(trace)
    layout = {
        "height": 260,
        "margin": {"l": 50, "r": 10, "t": 10, "b": 60},
        "font": {"family": FONT_FAMILY, "size": 12},
        "showlegend": len(chart.series) > 1,
        "legend": {"orientation": "h", "y": 1.12},
        "barmode": "group",
        "yaxis": {"tickformat": ".0%" if chart.percent else ",d", "rangemode": "tozero"},
        "xaxis": {"type": "category", "automargin": True},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
    }
    return {"data": data, "layout": layout}


def _section_view(index: int, section: Section, t: Translator, fmt: Formatter) -> dict[str, Any]:
    chart = section.chart
    return {
        "id": f"report-{section.key}",
        "key": section.key,
        "title": section.title(t),
        "findings": [f.text(t, fmt) for f in section.findings],
        "header": section.table.header(t),
        "rows": section.table.shown(t, fmt),
        "figure_id": f"figure-{index}",
        "figure_json": script_json(figure(chart, t, fmt)) if chart and chart.x else None,
    }


def report_view(report: Report, locale: str, currency: str = "CNY") -> dict[str, Any]:
    """Everything the report templates need, as text in `locale`."""
    t, fmt = translator(locale), Formatter(locale, currency)
    title, subtitle = report.heading(t, fmt)
    return {
        "title": title,
        "subtitle": subtitle,
        "generated": t(
            "report.generated",
            as_of=report.as_of.isoformat(sep=" ", timespec="seconds"),
            tz=report.timezone,
        ),
        "sections": [_section_view(i, s, t, fmt) for i, s in enumerate(report.sections)],
        "recipe_title": t("report.recipe"),
        "recipe": json.dumps(report.recipe(), ensure_ascii=False, indent=1),
    }


@cache
def _plotly_source() -> str:
    return PLOTLY_JS.read_text(encoding="utf-8")


def standalone_html(report: Report, locale: str, currency: str = "CNY") -> str:
    """A self-contained HTML document of the report: styles and Plotly inline, no network."""
    view = report_view(report, locale, currency)
    # "</script" cannot appear inside the inline script; Plotly's bundle has none, but be sure.
    plotly_js = _plotly_source().replace("</script", "<\\/script")
    template = environment.get_template("report_weekly_print.html")
    return template.render(view=view, locale=locale, plotly_js=plotly_js)
