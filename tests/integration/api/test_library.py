"""GET /api/video/library: keyset cursors beside page numbers, their 422s, and total's bound."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from api.app import create_app
from models import library
from models.db import make_engine, make_session_factory
from models.migrate import upgrade_to_head
from tests.bodies import SPEC_T2V
from tests.fakes import RecordingMessages
from tests.integration.conftest import insert_job, new_key

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def _jobs(make_job, count: int, *, user_id: int = 1, **columns: Any) -> list[str]:
    """count jobs, oldest first; every second one shares its created_at with the one before."""
    return [
        str(
            make_job(
                SPEC_T2V,
                user_id=user_id,
                created_at=T0 + dt.timedelta(seconds=n // 2),
                **columns,
            )
        )
        for n in range(count)
    ]


def _get(client, **params: Any) -> dict[str, Any]:
    resp = client.get("/api/video/library", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()  # type: ignore[no-any-return]


def _walk(client, **params: Any) -> list[dict[str, Any]]:
    """Every page, following next_cursor from page 1 until it is null."""
    pages = [_get(client, **params)]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 50, "next_cursor never ends"
        pages.append(_get(client, cursor=pages[-1]["next_cursor"], **params))
    return pages


def _ids(pages: list[dict[str, Any]]) -> list[str]:
    return [v["video_id"] for page in pages for v in page["videos"]]


def _refused_on(resp, status: int = 422) -> list[str]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_json()
    return list(resp.get_json()["error"]["fields"])


def test_cursors_walk_every_video_once_newest_first_ties_by_id(client, make_job) -> None:
    ids = _jobs(make_job, 7)
    _jobs(make_job, 3, user_id=2)  # someone else's

    pages = _walk(client, per_page=3)

    assert _ids(pages) == ids[::-1]
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert [len(p["videos"]) for p in pages] == [3, 3, 1]
    assert all(p["total"] == 7 and p["total_is_estimate"] is False for p in pages)
    by_offset = [_get(client, per_page=3, page=n) for n in (1, 2, 3)]
    assert _ids(by_offset) == ids[::-1]
    assert [p["next_cursor"] is None for p in by_offset] == [False, False, True]


def test_a_page_number_answers_a_cursor_to_the_page_after_it(client, make_job) -> None:
    ids = _jobs(make_job, 6)

    second = _get(client, page=2, per_page=2)
    third = _get(client, cursor=second["next_cursor"], per_page=2)

    assert _ids([third]) == ids[::-1][4:6]
    assert (third["page"], third["next_cursor"]) == (3, None)


def test_a_cursor_does_not_shift_when_newer_videos_arrive(client, make_job) -> None:
    ids = _jobs(make_job, 4)
    first = _get(client, per_page=2)

    make_job(SPEC_T2V, created_at=T0 + dt.timedelta(days=1))  # newer than all of them
    second = _get(client, per_page=2, cursor=first["next_cursor"])

    assert _ids([first, second]) == ids[::-1]  # OFFSET would show ids[1] twice


def test_filters_page_by_cursor_too(client, make_job) -> None:
    failed = _jobs(make_job, 5, status="failed", campaign_id=0)
    _jobs(make_job, 2, status="failed", campaign_id=1)
    _jobs(make_job, 2, status="completed", campaign_id=0)

    pages = _walk(client, per_page=2, status="failed", campaign_id=0)

    assert _ids(pages) == failed[::-1]
    assert pages[0]["total"] == 5


def test_a_cursor_is_bound_to_its_filters_and_page_size(client, make_job) -> None:
    _jobs(make_job, 5, status="failed")
    cursor = _get(client, per_page=2, status="failed")["next_cursor"]

    for params in (
        {"per_page": 2},
        {"per_page": 3, "status": "failed"},
        {"per_page": 2, "status": "completed"},
        {"per_page": 2, "status": "failed", "provider": "piapi_luma"},
        {"per_page": 2, "status": "failed", "page": 3},
        {"per_page": 2, "status": "failed", "page": 1},
    ):
        resp = client.get("/api/video/library", query_string={"cursor": cursor, **params})
        # In the documented form, but it reads no page of this query: nothing is there.
        assert _refused_on(resp, 404) == ["cursor"]
        assert resp.get_json()["error"]["code"] == "not_found"
    # Beside the page it reads, a cursor is fine.
    same = {"per_page": 2, "status": "failed", "page": 2, "cursor": cursor}
    assert client.get("/api/video/library", query_string=same).status_code == 200


@pytest.mark.parametrize("cursor", ["!!", "A" * 5000, "%00", "\u00e9", "abc\n", ""])
def test_a_cursor_outside_its_documented_form_is_a_422_naming_cursor(client, cursor) -> None:
    resp = client.get("/api/video/library", query_string={"cursor": cursor})

    assert _refused_on(resp) == ["cursor"]


@pytest.mark.parametrize("cursor", ["x", "eyJ", "W10", "WzEsMCwxLDIsInEiXQ"])
def test_a_cursor_this_api_did_not_make_is_a_404_naming_cursor(client, cursor) -> None:
    resp = client.get("/api/video/library", query_string={"cursor": cursor})

    assert _refused_on(resp, 404) == ["cursor"]


def test_another_users_cursor_shows_only_your_own_videos(make_client, make_job) -> None:
    _jobs(make_job, 4, user_id=1)
    theirs = _jobs(make_job, 3, user_id=2)
    cursor = _get(make_client(user_id=1), per_page=1)["next_cursor"]

    seen = _get(make_client(user_id=2), per_page=1, cursor=cursor)

    assert seen["videos"] and set(_ids([seen])) <= set(theirs)


def test_above_the_bound_total_is_an_estimate_never_below_it(client, make_job, monkeypatch) -> None:
    _jobs(make_job, 5)
    monkeypatch.setattr(library, "COUNT_BOUND", 3)

    first, last = _get(client, per_page=2), _get(client, per_page=2, page=3)

    assert first["total_is_estimate"] is True and first["total"] >= 4
    # The last page by number knows its total without counting: offset + rows.
    assert (last["total"], last["total_is_estimate"]) == (5, False)


def test_an_empty_library_is_an_empty_page(client) -> None:
    body = _get(client)

    assert body == {
        "videos": [],
        "page": 1,
        "per_page": 20,
        "total": 0,
        "total_is_estimate": False,
        "next_cursor": None,
    }


def test_the_library_pages_by_cursor_on_sqlite(tmp_path, settings, monkeypatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/library.sqlite3")
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    app = create_app(
        dataclasses.replace(settings, database_url=str(engine.url)),
        session_factory=factory,
        messages=RecordingMessages(),
    )
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {new_key(factory, 1, 'pro')}"
    ids = _jobs(lambda *a, **kw: insert_job(factory, *a, **kw), 7)
    monkeypatch.setattr(library, "COUNT_BOUND", 4)

    pages = _walk(client, per_page=3)

    assert _ids(pages) == ids[::-1]
    # SQLite has no planner estimate: above the bound, the total is the bound plus one.
    assert (pages[0]["total"], pages[0]["total_is_estimate"]) == (5, True)
    engine.dispose()
