"""Server-rendered pages: one Jinja2 environment, and the context every template gets."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from growthloop.i18n import LOCALES, Formatter, translator
from growthloop.web.security import Principal, workspace_of

LANG_COOKIE = "gl_lang"
LANG_NAMES = {"zh-CN": "中文", "en": "English"}

environment = Environment(
    loader=PackageLoader("growthloop.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def script_json(value: object) -> str:
    """JSON safe inside <script>: '<' is escaped so data cannot close the element."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def locale_of(request: Request) -> str:
    """The locale the locale middleware chose for this request."""
    locale: str = getattr(request.state, "locale", LOCALES[0])
    return locale


def formatter_for(request: Request) -> Formatter:
    """A formatter in the request's locale and the project currency."""
    return Formatter(locale_of(request), workspace_of(request).settings.currency)


def language_link(request: Request, code: str) -> str:
    """This page in another language: a relative link, right behind any reverse proxy."""
    query = dict(request.query_params)
    query["lang"] = code
    return f"{request.url.path}?{urlencode(query)}"


def page_context(request: Request) -> dict[str, Any]:
    """What base.html needs: translator, formatter, user, CSRF token, language links."""
    locale = locale_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    return {
        "request": request,
        "locale": locale,
        "t": translator(locale),
        "fmt": formatter_for(request),
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else None,
        "languages": [(code, LANG_NAMES[code], language_link(request, code)) for code in LOCALES],
        "projects": [p.slug for p in workspace_of(request).projects()],
    }


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a template with the page context plus `context`."""
    html = environment.get_template(template).render({**page_context(request), **(context or {})})
    return HTMLResponse(html, status_code=status_code)
