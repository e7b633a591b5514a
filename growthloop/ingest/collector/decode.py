"""Reading request bodies: size limits, gzip, form fields, base64 and JSON, with errors that
say what was wrong (they become 400 / 413 responses)."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

GZIP_MAGIC = b"\x1f\x8b"


class BadRequest(Exception):
    """The request as a whole cannot be read; `status` is 400, 401, 413 or 503."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.detail, self.headers = status, detail, headers or {}
        super().__init__(detail)


def too_large(what: str, limit: int) -> BadRequest:
    return BadRequest(
        413, f"{what} is larger than the limit of {limit:,} bytes; send smaller batches"
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large("request body", limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large("request body", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def gunzip(data: bytes, limit: int, what: str = "body") -> bytes:
    """Decompress gzip (or zlib) data, refusing output over `limit` bytes (a gzip bomb)."""
    wbits = 16 + zlib.MAX_WBITS if data.startswith(GZIP_MAGIC) else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BadRequest(400, f"{what}: not valid gzip data ({exc})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise too_large(f"{what} once decompressed", limit)
    if not inflater.eof:
        raise BadRequest(400, f"{what}: gzip data is cut short")
    return out


def form_fields(body: bytes | str) -> dict[str, str]:
    """application/x-www-form-urlencoded fields (the last value of a repeated name)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(400, f"form body: cannot be read ({exc})") from None
    return {k: v[-1] for k, v in parsed.items()}


def unbase64(text: str, what: str) -> bytes:
    """Base64, standard or URL-safe, with or without padding; form decoding turns '+' into a
    space, so spaces are read back as '+'."""
    cleaned = text.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(400, f"{what}: not valid base64") from None


def parse_json(data: bytes | str, what: str) -> Any:
    """JSON, with the line and column of the first error."""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise BadRequest(400, f"{what}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            400, f"{what}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None


def maybe_gunzip(data: bytes, limit: int, what: str) -> bytes:
    return gunzip(data, limit, what) if data.startswith(GZIP_MAGIC) else data
