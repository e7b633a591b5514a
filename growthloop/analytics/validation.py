"""Validation as small named rules: each says what it checks and what the user should change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import ValidationError

S = TypeVar("S")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: which rule, which field, and a message for the user."""

    code: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class SpecError(ValueError):
    """A spec that cannot run. `problems` lists every rule it breaks, not only the first."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + "; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Rule(Generic[S]):
    """`check(spec)` returns None when the spec is fine, else the message for the user."""

    code: str
    field: str
    check: Callable[[S], str | None]


def validate(spec: S, rules: Sequence[Rule[S]]) -> None:
    """Raise SpecError listing every rule the spec breaks."""
    problems = []
    for rule in rules:
        message = rule.check(spec)
        if message is not None:
            problems.append(Problem(rule.code, rule.field, message))
    if problems:
        raise SpecError(problems)


def problems_from_pydantic(error: ValidationError) -> list[Problem]:
    """Pydantic's errors as Problems whose field reads like `steps[1].event`."""
    out = []
    for item in error.errors(include_url=False):
        field = ""
        for part in item["loc"]:
            if isinstance(part, int):
                field += f"[{part}]"
            else:
                field += ("." if field else "") + str(part)
        message = str(item["msg"]).removeprefix("Value error, ")
        out.append(Problem(str(item["type"]), field, message))
    return out
