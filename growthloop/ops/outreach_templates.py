"""Message templates: Jinja2 in a sandbox, person properties as `person.<name>`.

A template may use `person.<property>`, `person_id` and `unsubscribe_url`. A property a person
does not have is an error (StrictUndefined), found by the preview, which renders the template for
every recipient before anything is sent; `{{ person.name | default("there") }}` gives a fallback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_MISSING = re.compile(r"has no attribute '([^']+)'|'([^']+)' is undefined")


class TemplateProblem(ValueError):
    """A template that cannot be compiled or rendered; the message names the field and line."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@dataclass(frozen=True)
class MessageTemplate:
    """A compiled subject and body."""

    subject: Template
    body: Template

    @classmethod
    def compile(cls, subject: str, body: str) -> MessageTemplate:
        """Compile both; TemplateProblem says which field and line is wrong."""
        if not body.strip():
            raise TemplateProblem("body: a message needs a body")
        return cls(_compile("subject", subject), _compile("body", body))

    def render(
        self, person_id: str, properties: Mapping[str, Any], unsubscribe_url: str = ""
    ) -> Rendered:
        """The message for one person; TemplateProblem names the person and the property."""
        values = {
            "person": dict(properties),
            "person_id": person_id,
            "unsubscribe_url": unsubscribe_url,
        }
        return Rendered(
            _render("subject", self.subject, values, person_id),
            _render("body", self.body, values, person_id),
        )


def _compile(field: str, text: str) -> Template:
    try:
        return _environment.from_string(text)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{field} line {exc.lineno}: {exc.message}") from None


def _render(field: str, template: Template, values: dict[str, Any], person_id: str) -> str:
    try:
        return template.render(values)
    except UndefinedError as exc:
        found = _MISSING.search(str(exc))
        name = next((g for g in found.groups() if g), "") if found else str(exc)
        raise TemplateProblem(
            f"{field}: person {person_id} has no property {name!r}"
            f' (write {{{{ person.{name} | default("...") }}}} for a fallback)'
        ) from None
    except SecurityError as exc:
        raise TemplateProblem(f"{field}: not allowed in a template: {exc}") from None
    except Exception as exc:  # a filter on a wrong type, a division by zero in the template
        raise TemplateProblem(
            f"{field}: cannot render for person {person_id}: {type(exc).__name__}: {exc}"
        ) from None


@dataclass(frozen=True)
class Preview:
    """The rendered message for the first recipients, and every problem found for anyone."""

    checked: int
    samples: tuple[tuple[str, Rendered], ...]
    problems: tuple[str, ...]
    problem_count: int


def preview(
    template: MessageTemplate,
    people: Mapping[str, Mapping[str, Any]],
    samples: int = 3,
    max_problems: int = 20,
) -> Preview:
    """Render for everyone in `people` (person_id -> properties): samples and problems."""
    shown: list[tuple[str, Rendered]] = []
    problems: list[str] = []
    count = 0
    for person_id, properties in people.items():
        try:
            rendered = template.render(person_id, properties, "https://example.invalid/u/TOKEN")
        except TemplateProblem as exc:
            count += 1
            if len(problems) < max_problems:
                problems.append(str(exc))
            continue
        if len(shown) < samples:
            shown.append((person_id, rendered))
    return Preview(len(people), tuple(shown), tuple(problems), count)
