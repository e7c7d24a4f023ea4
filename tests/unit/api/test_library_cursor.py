"""The library's cursor: a round trip, its binding to the query, and every malformed form."""

from __future__ import annotations

import base64
import datetime as dt
import json

import marshmallow as ma
import pytest

from api.library_cursor import (
    MAX_CHARS,
    Cursor,
    CursorError,
    decode,
    encode,
    fingerprint,
    resume,
)
from api.schemas import LibraryQuery

WHEN = dt.datetime(2026, 11, 27, 9, 30, 1, 123456, tzinfo=dt.UTC)
QUERY = {"per_page": 20, "status": "completed"}


def _raw(fields: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def test_a_cursor_round_trips_to_the_microsecond_and_is_url_safe() -> None:
    cursor = Cursor(WHEN, 4242, 7, fingerprint(QUERY))

    text = encode(cursor)

    assert decode(text) == cursor
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(text) <= MAX_CHARS


def test_the_fingerprint_changes_with_each_bound_parameter_and_nothing_else() -> None:
    base = {"per_page": 20, "status": None, "campaign_id": 5}
    others = [
        {**base, "per_page": 21},
        {**base, "status": "failed"},
        {**base, "generation_mode": "text_to_video"},
        {**base, "provider": "piapi_luma"},
        {**base, "campaign_id": 6},
        {**base, "campaign_id": None},
    ]

    assert fingerprint({**base, "page": 3, "cursor": "x"}) == fingerprint(base)
    assert len({fingerprint(base), *(fingerprint(q) for q in others)}) == len(others) + 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a cursor",  # spaces are outside the alphabet
        "abc=",
        "A" * (MAX_CHARS + 1),
        "%%%",
        "YWJj",  # base64 of "abc": not JSON
        "_w",  # base64 of a byte that is not UTF-8
        _raw({"v": 1}),
        _raw([1, 0, 1, 2]),  # too short
        _raw([2, 0, 1, 2, "q"]),  # another version
        _raw([1, "0", 1, 2, "q"]),
        _raw([1, 0, True, 2, "q"]),  # JSON true is not an id
        _raw([1, 0, 1, 2.0, "q"]),
        _raw([1, 0, 1, 2, 5]),
        _raw([1, -1, 1, 2, "q"]),
        _raw([1, 10**20, 1, 2, "q"]),  # past year 9999
        _raw([1, 0, 2**31, 2, "q"]),  # past the ids' 32 bits
        _raw([1, 0, 0, 2, "q"]),
        _raw([1, 0, 1, 1, "q"]),  # page 1 has no cursor
    ],
)
def test_anything_encode_did_not_make_is_a_cursor_error(text: str) -> None:
    with pytest.raises(CursorError):
        decode(text)


def _load(**params: object) -> dict[str, object]:
    return LibraryQuery().load({k: str(v) for k, v in params.items()})  # type: ignore[no-any-return]


def _errors(**params: object) -> dict[str, object]:
    with pytest.raises(ma.ValidationError) as failed:
        _load(**params)
    return failed.value.messages  # type: ignore[return-value]


def _resume(text: str, **params: object) -> Cursor:
    query = _load(**params)
    return resume(text, query, query.get("page"))  # type: ignore[arg-type]


def test_the_query_resumes_a_cursor_made_for_the_same_filters_and_page_size() -> None:
    cursor = Cursor(WHEN, 9, 2, fingerprint({"per_page": 20, "status": "completed"}))

    assert _resume(encode(cursor), status="completed") == cursor
    # The page it reads may be named beside it.
    assert _resume(encode(cursor), status="completed", page=2) == cursor


@pytest.mark.parametrize(
    "params",
    [
        {},  # the cursor was made with status=completed
        {"status": "failed"},
        {"status": "completed", "per_page": 21},
        {"status": "completed", "campaign_id": 3},
        {"status": "completed", "page": 3},
        {"status": "completed", "page": 1},
    ],
)
def test_a_cursor_with_other_filters_or_another_page_reads_no_page(params) -> None:
    cursor = encode(Cursor(WHEN, 9, 2, fingerprint({"per_page": 20, "status": "completed"})))

    with pytest.raises(CursorError):
        _resume(cursor, **params)


def test_text_outside_the_cursor_alphabet_is_refused_on_cursor() -> None:
    assert list(_errors(cursor="garbage!")) == ["cursor"]
    assert list(_errors(cursor="A" * (MAX_CHARS + 1))) == ["cursor"]
    assert list(_errors(cursor="abc\n")) == ["cursor"]


def test_a_truncated_or_tampered_cursor_reads_no_page() -> None:
    good = encode(Cursor(WHEN, 9, 2, fingerprint({"per_page": 20})))
    tampered = _raw([1, 0, 9, 2, fingerprint({"per_page": 21})])

    for text in (good[:-3], tampered):
        assert _load(cursor=text)["cursor"] == text  # in the documented form
        with pytest.raises(CursorError):
            _resume(text)
