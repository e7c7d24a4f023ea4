"""The text rules: each pattern matches exactly what the code it stands for accepts."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.patterns import (
    HTTP_URL,
    INT32_DIGITS,
    INT32_MAX,
    MAX_URL_CHARS,
    NOT_BLANK_NUL_FREE,
    NUL_FREE,
    digits_at_most,
    is_http_url,
    matches,
)
from providers.url_guard import refusal

PATTERNS = [NUL_FREE, NOT_BLANK_NUL_FREE, INT32_DIGITS, HTTP_URL]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_each_pattern_reads_alike_in_python_and_in_the_rust_validator(pattern: str) -> None:
    re.compile(pattern)
    jsonschema_rs.validator_for({"type": "string", "pattern": pattern})  # raises if unreadable


@pytest.mark.parametrize(("bound", "width"), [(INT32_MAX, 10), (65535, 5), (1000, 4), (9, 1)])
def test_digits_at_most_is_a_comparison(bound: int, width: int) -> None:
    pattern = digits_at_most(bound, width)
    for number in [*range(0, 2100), *range(max(0, bound - 1100), bound + 1100), 10**width - 1]:
        for text in {str(number), str(number).zfill(width)}:
            fits = len(text) <= width and number <= bound
            assert matches(pattern, text) is fits, text


@given(st.text(max_size=14))
def test_digits_at_most_refuses_anything_but_ascii_digits(text: str) -> None:
    fits = text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT32_MAX
    assert matches(INT32_DIGITS, text) is fits


@given(st.text(max_size=20))
def test_not_blank_is_what_strip_and_the_nul_check_say(text: str) -> None:
    assert matches(NOT_BLANK_NUL_FREE, text) is (bool(text.strip()) and "\x00" not in text)


@settings(max_examples=300)
@given(st.from_regex(HTTP_URL, fullmatch=True).filter(lambda url: len(url) <= MAX_URL_CHARS))
def test_every_url_the_pattern_matches_is_one_urllib_and_the_guard_read(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert parts.port is None or 0 <= parts.port <= 65535
    assert not any(c.isspace() for c in url)
    # The guard finds nothing wrong with its form; only where it points remains to judge.
    assert refusal(url, allow_private=True) is None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/a.jpg",
        "ftp://example.com/a.jpg",
        "http://",
        "http://exa mple.com/",
        "http://example.com/a b",
        "http://user:pw@example.com/",
        "http://[::1]/",
        "http://example.com:65536/",
        "http://-example.com/",
        'http://example.com/"',
        "http://example.com/\\",
        "http://example.com/\n",
        "https://example.com/" + "a" * MAX_URL_CHARS,
    ],
)
def test_urls_the_api_does_not_take(url: str) -> None:
    assert not is_http_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8000/hook", "HTTPS://Example.COM/a.jpg?x=1#f", "http://10.0.0.1:080/%20"],
)
def test_urls_the_api_takes(url: str) -> None:
    assert is_http_url(url)
