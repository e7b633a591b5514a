"""URL parts as vectorised DuckDB expressions, with the plain-Python (urllib.parse) equivalents
the tests hold them to: the path, the host (for referrer domains) and query parameters (utm_*).

The SQL follows urllib.parse.urlsplit: an optional scheme, '//' and a netloc up to the first of
'/?#', the path up to '?' or '#', the query up to '#'. Both sides decode query values the same
way ('+' is a space, %XX are UTF-8 bytes) and keep the raw text when the bytes are not UTF-8
(Baidu still sends some keywords in GBK).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_SCHEME = r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?"
_BEFORE_PATH = "^" + _SCHEME + r"(?://[^/?#]*)?"
_BEFORE_NETLOC = "^" + _SCHEME + "//"
_PARAM_NAME = re.compile(r"[A-Za-z0-9_.~$-]+")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _per_distinct(url: str, steps: str, result: str) -> str:
    """A correlated scalar subquery: DuckDB plans it as a join on the distinct values of `url`,
    so the string work runs once per distinct URL rather than once per row (an import repeats
    the same few thousand page URLs millions of times). `steps` are CTEs over _gl_url."""
    return f"(WITH _gl_in AS (SELECT {url} AS _gl_url){steps} {result})"


def path_sql(url: str) -> str:
    """SQL: the path of `url` without query or fragment, '/' when empty; NULL for NULL."""
    # Drop scheme and netloc (the only regex), then keep the text before the first '?' and
    # before the first '#'; string_split is far cheaper than a regex capture in DuckDB.
    rest = f"regexp_replace(_gl_url, {_literal(_BEFORE_PATH)}, '')"
    steps = f", _gl_rest AS (SELECT {rest} AS rest FROM _gl_in)"
    path = "string_split(string_split(rest, '?')[1], '#')[1]"
    result = f"SELECT CASE WHEN rest IS NOT NULL THEN coalesce(nullif({path}, ''), '/') END"
    return _per_distinct(url, steps, result + " FROM _gl_rest")


def host_sql(url: str) -> str:
    """SQL: the lower-case host of `url` without port and leading 'www.'; NULL if it has none."""
    # Stripping "scheme://" changes the text exactly when the URL has a netloc.
    steps = f""", _gl_rest AS (
        SELECT _gl_url, regexp_replace(_gl_url, {_literal(_BEFORE_NETLOC)}, '') AS rest FROM _gl_in),
      _gl_netloc AS (
        SELECT string_split(string_split(string_split(rest, '/')[1], '?')[1], '#')[1] AS netloc
        FROM _gl_rest WHERE rest <> _gl_url),
      _gl_hostinfo AS (SELECT string_split(netloc, '@')[-1] AS hostinfo FROM _gl_netloc),
      _gl_host AS (
        SELECT lower(CASE WHEN starts_with(hostinfo, '[')
                          THEN string_split(substr(hostinfo, 2), ']')[1]
                          ELSE string_split(hostinfo, ':')[1] END) AS host FROM _gl_hostinfo)"""
    # User info ends at the netloc's last '@'; an IPv6 literal is in brackets, else the port
    # starts at the first ':'. No row (no netloc) makes the subquery NULL.
    result = (
        "SELECT nullif(CASE WHEN starts_with(host, 'www.') THEN substr(host, 5) ELSE host END, '')"
        " FROM _gl_host"
    )
    return _per_distinct(url, steps, result)


def query_param_sql(url: str, name: str) -> str:
    """SQL: the URL-decoded value of the first ?name=... in `url`; '' for a bare ?name; NULL if
    absent. `name` must be a plain parameter name (letters, digits, _ . ~ $ -)."""
    if not _PARAM_NAME.fullmatch(name):
        raise ValueError(f"query parameter name {name!r} must be letters, digits or _.~$-")
    escaped = re.sub(r"([.$])", r"\\\1", name)
    # The lazy run before '&' finds the first occurrence; the group keeps 'name' or
    # 'name=value', so an absent parameter ('') differs from an empty value ('name').
    pair = f"^[^?#]*\\?(?:[^#]*?&)??({escaped}(?:=[^&#]*)?)(?:[&#]|$)"
    raw = f"substr(nullif(regexp_extract(_gl_url, {_literal(pair)}, 1), ''), {len(name) + 2})"
    steps = f", _gl_raw AS (SELECT {raw} AS raw FROM _gl_in)"
    # url_decode rejects bytes that are not UTF-8; TRY turns that into NULL, then keep the raw.
    result = "SELECT coalesce(TRY(url_decode(replace(raw, '+', ' '))), raw) FROM _gl_raw"
    return _per_distinct(url, steps, result)


def _split(url: str) -> tuple[str, str, str] | None:
    """(netloc, path, query) as urlsplit gives them; None when urllib rejects the URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc, parts.path, parts.query


def url_path(url: str | None) -> str | None:
    """The path of `url` without query or fragment, '/' when empty (as path_sql)."""
    if url is None:
        return None
    parts = _split(url)
    return (parts[1] if parts else "") or "/"


def url_host(url: str | None) -> str | None:
    """The lower-case host without port and leading 'www.' (as host_sql); None if none."""
    if url is None:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if host is None:
        return None
    # urllib keeps the case after a '%' (an IPv6 zone id); a host is compared without case.
    return host.lower().removeprefix("www.") or None


def _decode(raw: str) -> str:
    try:
        return unquote(raw.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        return raw


def url_query_param(url: str | None, name: str) -> str | None:
    """The decoded value of the first ?name=... (as query_param_sql); None if absent."""
    if url is None:
        return None
    parts = _split(url)
    if parts is None:
        return None
    for pair in parts[2].split("&"):
        key, _, value = pair.partition("=")
        # Names are compared as written, like the SQL: parameter names are plain ASCII.
        if key == name:
            return _decode(value)
    return None
