"""The spec's endpoints through the Flask test client, on real Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models.jobs import Job
from tests.integration.conftest import SPEC_I2V, SPEC_T2V


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Job))


def test_spec_text_to_video_is_accepted_stored_and_enqueued(client, db, enqueued) -> None:
    resp = client.post("/api/video/generate", json=SPEC_T2V)

    assert resp.status_code == 202
    body = resp.get_json()
    assert body["status"] == "processing"
    assert body["duration"] == 5
    assert body["cost"] == 0.03
    assert body["progress"] == 0
    assert body["created_at"].endswith("Z")
    job = db.get(Job, int(body["video_id"]))
    assert job is not None  # the row exists before the answer
    assert enqueued == [job.id]
    assert (job.provider, job.task_type, job.campaign_id) == (
        "piapi_hunyuan_fast",
        "fast-txt2video",
        123,
    )
    assert job.prompt == (
        "Dynamic, eye-catching social media video optimized for mobile. "
        "Duration: 5s. Script: A cat playing with a ball"
    )


def test_spec_image_to_video_on_wanx_13b_runs_14b_and_says_so(client, db) -> None:
    body = client.post("/api/video/generate", json=SPEC_I2V).get_json()

    assert body["status"] == "processing"
    assert body["provider"] == "piapi_wanx_1.3b"
    assert body["model_name"] == "wanx-14b"
    assert body["cost"] == 0.28
    assert "14b" in body["notice"]
    job = db.get(Job, int(body["video_id"]))
    assert (job.task_type, job.image_url) == (
        "img2video-14b",
        "https://example.com/product.jpg",
    )


@pytest.mark.parametrize(
    ("payload", "failing"),
    [
        ({**SPEC_T2V, "generation_mode": "video_to_text"}, "generation_mode"),
        ({**SPEC_T2V, "duration": -5}, "duration"),
        ({**SPEC_T2V, "duration": "ten"}, "duration"),
        ({**SPEC_T2V, "style": "noir"}, "style"),
        ({**SPEC_T2V, "surprise": 1}, "surprise"),
        ({**SPEC_T2V, "campaign_id": "12a"}, "campaign_id"),
        ({**SPEC_T2V, "script": "x" * 5000}, "script"),
        ({**SPEC_I2V, "image_url": "not a url"}, "image_url"),
        ({k: v for k, v in SPEC_I2V.items() if k != "image_url"}, "image_url"),
        ({**SPEC_T2V, "provider": "piapi_sora"}, "provider"),
    ],
)
def test_bad_input_is_422_with_the_field_and_writes_nothing(
    client, db, enqueued, payload, failing
) -> None:
    before = _count(db)

    resp = client.post("/api/video/generate", json=payload)

    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error"
    assert failing in error["fields"]
    assert _count(db) == before
    assert enqueued == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"data": "{not json", "content_type": "application/json"},
            400,
            "invalid_json",
        ),
        (
            {
                "data": "campaign_id=1",
                "content_type": "application/x-www-form-urlencoded",
            },
            415,
            "unsupported_media_type",
        ),
        ({"data": "[]", "content_type": "application/json"}, 422, "validation_error"),
        (
            {
                "data": '{"script": "' + "x" * 140_000 + '"}',
                "content_type": "application/json",
            },
            413,
            "payload_too_large",
        ),
    ],
)
def test_unreadable_bodies_are_4xx_json(client, db, enqueued, kwargs, status, code) -> None:
    before = _count(db)
    resp = client.post("/api/video/generate", **kwargs)
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code
    assert _count(db) == before
    assert enqueued == []


def test_free_tier_cannot_force_a_premium_provider(make_client, db) -> None:
    free = make_client(user_id=5, tier="free")
    before = _count(db)

    resp = free.post("/api/video/generate", json={**SPEC_T2V, "provider": "piapi_wanx_14b"})

    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert error["code"] == "provider_not_allowed"
    assert "free" in error["message"] and "provider" in error["fields"]
    assert _count(db) == before


def test_free_tier_auto_selection_stays_under_its_cap(make_client) -> None:
    free = make_client(user_id=5, tier="free")
    body = free.post("/api/video/generate", json={**SPEC_T2V, "duration": 90}).get_json()
    assert body["provider"] == "piapi_wanx_1.3b"  # the spec would pick 14b at 0.28


def test_an_enqueue_failure_still_answers_with_the_durable_job(
    make_client, messages, monkeypatch, db
) -> None:
    def broker_down(_job_id: int) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(messages, "submit", broker_down)
    resp = make_client().post("/api/video/generate", json=SPEC_T2V)

    assert resp.status_code == 202
    assert db.get(Job, int(resp.get_json()["video_id"])) is not None


def test_status_shows_the_job_and_404s_unknown_ids(client) -> None:
    video_id = client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]

    body = client.get(f"/api/video/status/{video_id}").get_json()
    assert (body["video_id"], body["status"], body["progress"]) == (
        video_id,
        "processing",
        0,
    )

    for missing in ("999999999", "abc", "-1"):
        resp = client.get(f"/api/video/status/{missing}")
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == "not_found"


def test_status_makes_no_session_and_a_route_that_uses_one_has_it_closed(client) -> None:
    # g.db is made on first use (api/request_db.py): status reads on a pooled connection.
    app = client.application
    factory = app.extensions["session_factory"]
    made = []

    def counted():  # type: ignore[no-untyped-def]
        session = factory()
        made.append(session)
        return session

    app.extensions["session_factory"] = counted
    video_id = client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]
    assert len(made) == 1  # generate's own
    assert not made[0].in_transaction()  # closed at the request's end

    assert client.get(f"/api/video/status/{video_id}").status_code == 200
    assert client.get("/api/video/status/999999").status_code == 404
    assert len(made) == 1


def test_another_users_job_is_404(client, make_job) -> None:
    theirs = make_job(user_id=2)
    assert client.get(f"/api/video/status/{theirs}").status_code == 404
    assert all(
        v["video_id"] != str(theirs) for v in client.get("/api/video/library").get_json()["videos"]
    )


def test_library_is_newest_first_and_paginated(client) -> None:
    ids = [
        client.post("/api/video/generate", json={**SPEC_T2V, "script": f"clip {n}"}).get_json()[
            "video_id"
        ]
        for n in range(5)
    ]

    first = client.get("/api/video/library?page=1&per_page=2").get_json()
    second = client.get("/api/video/library?page=2&per_page=2").get_json()
    last = client.get("/api/video/library?page=3&per_page=2").get_json()

    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 5)
    assert [v["video_id"] for v in first["videos"] + second["videos"] + last["videos"]] == ids[::-1]
    assert client.get("/api/video/library?per_page=500").status_code == 422


def test_unknown_route_and_wrong_method_are_json(client) -> None:
    assert client.get("/api/nothing").get_json()["error"]["code"] == "not_found"
    resp = client.get("/api/video/generate")
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
