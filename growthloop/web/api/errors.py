"""Domain errors as HTTP answers: one context manager shared by the API and page routers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import HTTPException

from growthloop.ops import audit

Errors = tuple[type[Exception], ...]


@contextmanager
def http_errors(
    *,
    not_found: Errors = (),
    conflict: Errors = (),
    unprocessable: Errors = (),
    bad_gateway: Errors = (),
    conflict_status: int = 409,
    detail: Callable[[Exception], Any] = str,
) -> Iterator[None]:
    """Exceptions of the body as HTTPException: audit.NotFound and `not_found` -> 404,
    audit.Conflict and `conflict` -> `conflict_status` (409; pages show a stale version as 422),
    `unprocessable` -> 422, `bad_gateway` -> 502. Checked in that order, so a subclass listed
    as not found or conflict wins over its base listed as unprocessable. The answer's detail
    is `detail(exc)` (default: the message)."""
    missing: Errors = (audit.NotFound, *not_found)
    stale: Errors = (audit.Conflict, *conflict)
    try:
        yield
    except missing as exc:
        raise HTTPException(404, detail(exc)) from None
    except stale as exc:
        raise HTTPException(conflict_status, detail(exc)) from None
    except unprocessable as exc:
        raise HTTPException(422, detail(exc)) from None
    except bad_gateway as exc:
        raise HTTPException(502, detail(exc)) from None
