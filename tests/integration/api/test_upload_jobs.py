"""Jobs (and quotes) from uploads: image_upload_id, end_image_upload_id, and each model's limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from models import in_flight
from models.jobs import Job
from models.uploads import Upload
from tests.images import image_bytes
from tests.integration.conftest import SPEC_I2V, SPEC_T2V

PUBLIC = "http://localhost/media"
I2V = {k: v for k, v in SPEC_I2V.items() if k not in ("image_url", "provider")}


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def client(make_client, media):  # type: ignore[no-untyped-def]
    return make_client(storage_url=f"file://{media}", storage_public_url=PUBLIC)


def _upload(client, fmt: str = "png", width: int = 640, height: int = 480) -> dict:  # type: ignore[no-untyped-def]
    resp = client.post(
        "/api/uploads", data=image_bytes(fmt, width, height), content_type="image/png"
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _jobs(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(Job))


def _refused(resp, field: str) -> str:  # type: ignore[no-untyped-def]
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    return " ".join(error["fields"][field])


def test_a_job_from_an_upload_shows_its_url_and_id(client, db, enqueued) -> None:
    upload = _upload(client)

    resp = client.post(
        "/api/video/generate",
        json={**I2V, "provider": "piapi_kling_3", "image_upload_id": upload["upload_id"]},
    )

    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["image_url"] == upload["url"]
    assert body["image_upload_id"] == upload["upload_id"]
    assert body["end_image_upload_id"] is None
    job = db.get(Job, int(body["video_id"]))
    # The URL as of the job's making, for bodies rendered without storage (webhooks);
    # PiAPI's is made at submission, from the key.
    assert job.image_url == upload["url"]
    assert job.image_upload_id == upload["upload_id"]
    assert job.image_key and upload["url"].endswith(job.image_key)
    assert enqueued == [job.id]
    status = client.get(f"/api/video/status/{job.id}").get_json()
    assert (status["image_url"], status["image_upload_id"]) == (upload["url"], upload["upload_id"])


def test_an_upload_swept_while_its_job_is_made_is_a_404_and_no_job(
    client, db, session_factory, monkeypatch, enqueued
) -> None:
    # When every shard with room is held by the user's other requests, generate goes
    # insert_counted's careful way, whose rollback lets go of the upload's lock. Here the
    # upload expires and is swept just then; the job's INSERT then broke its foreign key,
    # which was a 500.
    upload = _upload(client)
    reserve = in_flight.reserve
    monkeypatch.setattr(in_flight, "insert_in_a_free_shard", lambda *a, **k: None)

    def swept_first(session, user_id, limit):  # type: ignore[no-untyped-def]
        with session_factory.begin() as other:
            other.execute(delete(Upload).where(Upload.id == upload["upload_id"]))
        return reserve(session, user_id, limit)

    monkeypatch.setattr(in_flight, "reserve", swept_first)
    resp = client.post(
        "/api/video/generate",
        json={**I2V, "provider": "piapi_kling_3", "image_upload_id": upload["upload_id"]},
    )

    assert resp.status_code == 404, resp.get_json()
    assert list(resp.get_json()["error"]["fields"]) == ["image_upload_id"]
    assert _jobs(db) == 0 and enqueued == []


def test_a_job_from_an_image_url_is_as_before(client) -> None:
    body = client.post("/api/video/generate", json=SPEC_I2V).get_json()

    assert body["image_url"] == SPEC_I2V["image_url"]
    assert body["image_upload_id"] is None


@pytest.mark.parametrize("provider", ["piapi_kling_3", "piapi_luma"])
def test_a_last_frame_upload_becomes_end_image_url(client, db, provider) -> None:
    first, last = _upload(client), _upload(client, "jpeg")

    resp = client.post(
        "/api/video/generate",
        json={
            **I2V,
            "provider": provider,
            "image_upload_id": first["upload_id"],
            "end_image_upload_id": last["upload_id"],
        },
    )

    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["options"]["end_image_url"] == last["url"]
    assert body["end_image_upload_id"] == last["upload_id"]
    job = db.get(Job, int(body["video_id"]))
    # Recorded as of the job's making, for webhooks; PiAPI's comes from end_image_key.
    assert job.options["end_image_url"] == last["url"]
    assert job.end_image_key and last["url"].endswith(job.end_image_key)


@pytest.mark.parametrize("provider", ["piapi_kling_turbo", "piapi_wanx_14b"])
def test_a_last_frame_upload_on_a_model_without_one_is_422(client, db, provider) -> None:
    first, last = _upload(client), _upload(client)

    resp = client.post(
        "/api/video/generate",
        json={
            **I2V,
            "provider": provider,
            "image_upload_id": first["upload_id"],
            "end_image_upload_id": last["upload_id"],
        },
    )

    assert "takes no last frame" in _refused(resp, "end_image_upload_id")
    assert _jobs(db) == 0


def test_a_last_frame_as_upload_and_as_url_is_422(client, db) -> None:
    first, last = _upload(client), _upload(client)

    resp = client.post(
        "/api/video/generate",
        json={
            **I2V,
            "provider": "piapi_kling_3",
            "image_upload_id": first["upload_id"],
            "end_image_upload_id": last["upload_id"],
            "options": {"end_image_url": "https://example.com/end.jpg"},
        },
    )

    assert "not both" in _refused(resp, "end_image_upload_id")
    assert _jobs(db) == 0


@pytest.mark.parametrize(
    ("provider", "fmt", "size", "says"),
    [
        ("piapi_kling_3", "png", (200, 200), "at least 301 px"),
        ("piapi_kling_3", "webp", (640, 480), "must be JPEG or PNG"),
        ("piapi_wanx_14b", "png", (100, 100), "at least 128 px"),
        ("piapi_luma", "jpeg", (2000, 300), "width / height"),
    ],
)
@pytest.mark.parametrize("route", ["generate", "quote"])
def test_an_upload_the_model_cannot_take_is_422_with_the_reason(
    client, db, provider, fmt, size, says, route
) -> None:
    upload = _upload(client, fmt, *size)

    resp = client.post(
        f"/api/video/{route}",
        json={**I2V, "provider": provider, "image_upload_id": upload["upload_id"]},
    )

    message = _refused(resp, "image_upload_id")
    assert says in message
    assert f"{size[0]}x{size[1]} px" in message
    assert _jobs(db) == 0


def test_the_last_frame_is_checked_too(client, db) -> None:
    first, last = _upload(client), _upload(client, "png", 200, 200)

    resp = client.post(
        "/api/video/generate",
        json={
            **I2V,
            "provider": "piapi_kling_3",
            "image_upload_id": first["upload_id"],
            "end_image_upload_id": last["upload_id"],
        },
    )

    assert "at least 301 px" in _refused(resp, "end_image_upload_id")


def test_a_quote_from_an_upload(client) -> None:
    upload = _upload(client)

    resp = client.post(
        "/api/video/quote",
        json={**I2V, "provider": "piapi_kling_3", "image_upload_id": upload["upload_id"]},
    )

    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["provider"], resp.get_json()["cost"]) == ("piapi_kling_3", 0.5)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"image_url": "https://example.com/a.jpg"}, "image_upload_id"),  # both
        ({"generation_mode": "text_to_video"}, "image_upload_id"),
    ],
)
def test_image_upload_id_is_one_of_the_two_and_image_to_video_only(
    client, db, changes, field
) -> None:
    upload = _upload(client)

    resp = client.post(
        "/api/video/generate", json={**I2V, "image_upload_id": upload["upload_id"], **changes}
    )

    _refused(resp, field)
    assert _jobs(db) == 0


def test_end_image_upload_id_is_image_to_video_only(client, db) -> None:
    upload = _upload(client)

    resp = client.post(
        "/api/video/generate",
        json={**SPEC_T2V, "provider": "piapi_kling_3", "end_image_upload_id": upload["upload_id"]},
    )

    assert "image_to_video" in _refused(resp, "end_image_upload_id")


def test_image_to_video_needs_an_image_one_way_or_the_other(client) -> None:
    resp = client.post("/api/video/generate", json=I2V)

    assert "image_upload_id" in _refused(resp, "image_url")


def test_one_upload_serves_several_jobs(client) -> None:
    upload = _upload(client)
    body = {**I2V, "provider": "piapi_kling_3", "image_upload_id": upload["upload_id"]}

    first = client.post("/api/video/generate", json=body)
    second = client.post("/api/video/generate", json={**body, "duration": 10})

    assert (first.status_code, second.status_code) == (202, 202)
