"""The library's cursor: where the next page starts, bound to the query that made it.

A cursor is opaque to clients but not secret: base64url (no padding) of a small JSON array
[version, created_at in microseconds since the epoch, id, page number, query fingerprint].
It is not signed because it grants nothing: the library always filters by the caller's own
user id on the server, so an edited cursor can only move the position inside the caller's
own videos, and an edited fingerprint only makes the cursor fail its own check.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VERSION = 1
MAX_CHARS = 200  # a real cursor is about 70; longer is not ours, and is not decoded at all
# A cursor is valid only with the same filters and page size as the request that made it.
BOUND_TO = ("status", "generation_mode", "provider", "campaign_id", "per_page")
MAX_ID = 2**31 - 1

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_MAX_US = (dt.datetime(9999, 12, 31, tzinfo=dt.UTC) - _EPOCH) // _MICROSECOND
# What the OpenAPI document states: text outside it is a 422; text inside it that is not a
# cursor for this query names no page (resume: a 404).
PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_CHARS}}}$"
_ALPHABET = re.compile(PATTERN)


class CursorError(ValueError):
    """The text is not a cursor this API made."""


@dataclass(frozen=True)
class Cursor:
    """The last row of a page (newest first), the next page's number, and its query."""

    created_at: dt.datetime
    id: int
    page: int
    query: str  # fingerprint(...) of the request that made it


def fingerprint(query: Mapping[str, Any]) -> str:
    """A short, stable digest of the query parameters a cursor is bound to."""
    canonical = json.dumps([query.get(name) for name in BOUND_TO], separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()[:9]
    return base64.urlsafe_b64encode(digest).decode()


def encode(cursor: Cursor) -> str:
    """The cursor as a URL-safe string (letters, digits, - and _)."""
    micros = (cursor.created_at - _EPOCH) // _MICROSECOND
    raw = json.dumps([VERSION, micros, cursor.id, cursor.page, cursor.query], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str) -> Cursor:
    """The cursor in text; CursorError for anything encode did not make."""
    if not _ALPHABET.fullmatch(text):
        raise CursorError("Not a cursor from this API.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fields = json.loads(raw.decode())
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are too
        raise CursorError("Not a cursor from this API.") from None
    if not (isinstance(fields, list) and len(fields) == 5 and fields[0] == VERSION):
        raise CursorError("Not a cursor from this API.")
    _, micros, row_id, page, query = fields
    # type() rather than isinstance(): JSON's true is not the number 1.
    if not all(type(n) is int for n in (micros, row_id, page)) or type(query) is not str:
        raise CursorError("Not a cursor from this API.")
    if not (0 <= micros <= _MAX_US and 0 < row_id <= MAX_ID and 1 < page <= MAX_ID):
        raise CursorError("Not a cursor from this API.")
    return Cursor(_EPOCH + micros * _MICROSECOND, row_id, page, query)


def resume(text: str, query: Mapping[str, Any], page: int | None) -> Cursor:
    """The cursor in text if it reads a page of this query; CursorError saying why otherwise.

    A cursor names one page of one listing (these filters, this per_page), so `page`, when
    sent beside it, must be the number of the page it names.
    """
    cursor = decode(text)
    if cursor.query != fingerprint(query):
        raise CursorError(
            "This cursor was made with other filters or another per_page: send the same ones,"
            " or start again without a cursor."
        )
    if page is not None and page != cursor.page:
        raise CursorError(
            f"This cursor reads page {cursor.page}: send it without page, or with"
            f" page={cursor.page}."
        )
    return cursor
