"""The text rules the server checks and the OpenAPI document states, each written once.

Each pattern is a regular expression that Python's `re`, ECMA-262 (what OpenAPI's `pattern`
means) and Rust's `regex` (schemathesis' validator) read alike: character classes, `\\uXXXX`
escapes and bounded repeats only. The server checks a value with `matches`, which is
`re.fullmatch`: the whole text, so a trailing newline does not slip past `$` as it would
with `re.match`.
"""

from __future__ import annotations

import re
from functools import cache

NUL_FREE = r"^[^\u0000]*$"

# Every character str.strip() removes (str.isspace()), so "blank" means here what it means
# to the code that builds the prompt.
_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def _char_class(chars: list[str]) -> str:
    ranges: list[tuple[int, int]] = []
    for code in sorted(ord(c) for c in chars):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        f"\\u{low:04X}" if low == high else f"\\u{low:04X}-\\u{high:04X}" for low, high in ranges
    )


SPACE_CLASS = _char_class(_SPACES)
# Some character that is neither whitespace nor NUL, and no NUL anywhere. Linear: the
# leading run can only hold whitespace, so nothing backtracks.
NOT_BLANK_NUL_FREE = rf"^[{SPACE_CLASS}]*[^\u0000{SPACE_CLASS}][^\u0000]*$"


def digits_at_most(bound: int, max_chars: int) -> str:
    """A pattern for strings of 1 to max_chars ASCII digits whose value is at most bound."""
    if len(str(bound)) > max_chars:
        raise ValueError("the bound has more digits than max_chars allows")
    alternatives: list[str] = []
    free = 0  # lengths whose every string is at most bound
    for length in range(1, max_chars + 1):
        if 10**length - 1 <= bound:
            free = length
            continue
        limit = str(bound).zfill(length)
        for i, digit in enumerate(limit):
            if digit != "0":
                rest = length - i - 1
                tail = "" if not rest else "[0-9]" if rest == 1 else f"[0-9]{{{rest}}}"
                lower = "0" if digit == "1" else f"[0-{int(digit) - 1}]"
                alternatives.append(f"{limit[:i]}{lower}{tail}")
        alternatives.append(limit)
    if free:
        alternatives.insert(0, "[0-9]" if free == 1 else f"[0-9]{{1,{free}}}")
    return "^(?:" + "|".join(alternatives) + ")$"


INT32_MAX = 2**31 - 1
# A campaign id sent as text: "123", as the product spec's bodies send it.
INT32_DIGITS = digits_at_most(INT32_MAX, 10)

_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = digits_at_most(65535, 5)[1:-1]  # what urllib reads as a port, leading zeros included
# RFC 3986's unreserved and reserved characters, and %-escapes: never a space, quote or
# backslash.
_URL_CHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@/?#-]|%[0-9A-Fa-f]{2})"
# An http(s) URL with a DNS name or dotted IPv4 host, an optional port, then a path, query
# or fragment. No user:password@ (credentials do not belong in a URL we store and log) and
# no [IPv6] literal.
HTTP_URL = f"^[Hh][Tt][Tt][Pp][Ss]?://{_LABEL}(?:\\.{_LABEL})*(?::{_PORT})?(?:[/?#]{_URL_CHAR}*)?$"
MAX_URL_CHARS = 2048


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches(pattern: str, text: str) -> bool:
    """True when the whole of text matches pattern, as OpenAPI's `pattern` means it."""
    return _compiled(pattern).fullmatch(text) is not None


def is_http_url(text: str) -> bool:
    """True for an http(s) URL the API takes: HTTP_URL, at most MAX_URL_CHARS characters."""
    return len(text) <= MAX_URL_CHARS and matches(HTTP_URL, text)
