"""POST /api/uploads and its resources through the Flask test client, on real Postgres.

Local storage in a temporary folder: every refusal is checked for what it left behind
(no row, no file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from models.db import utcnow
from models.jobs import Job
from models.uploads import Upload
from tests.images import HTML, image_bytes, noise_png
from tests.integration.conftest import SPEC_I2V

MB = 1024 * 1024
PUBLIC = "http://localhost/media"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def uploader(make_client, media):  # type: ignore[no-untyped-def]
    """A test client whose storage is a temporary folder the app serves at /media."""

    def _client(user_id: int = 1, tier: str = "pro", **overrides: object):  # type: ignore[no-untyped-def]
        settings = {"storage_url": f"file://{media}", "storage_public_url": PUBLIC}
        return make_client(user_id, tier, **(settings | overrides))

    return _client


@pytest.fixture
def client(uploader):  # type: ignore[no-untyped-def]
    return uploader()


def _files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def _rows(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).select_from(Upload))


def _multipart(client, data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):  # type: ignore[no-untyped-def]
    # Encoded in memory: the test client spools a large body to a file it never closes.
    part = FileStorage(io.BytesIO(data), filename=name, content_type=content_type)
    boundary, body = encode_multipart({"file": part})
    return client.post(
        "/api/uploads", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def _raw(client, data: bytes, content_type: str):  # type: ignore[no-untyped-def]
    return client.post("/api/uploads", data=data, content_type=content_type)


def _upload(client, fmt: str = "png", width: int = 640, height: int = 480) -> dict:  # type: ignore[no-untyped-def]
    resp = _raw(client, image_bytes(fmt, width, height), f"image/{fmt}")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _fetch(client, url: str) -> tuple[bytes, str]:  # type: ignore[no-untyped-def]
    """The bytes and content type the app serves at url (ours, under /media)."""
    assert url.startswith(PUBLIC + "/uploads/")
    with client.get(urlsplit(url).path) as resp:  # closes the served file
        assert resp.status_code == 200
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        return resp.data, resp.headers["Content-Type"]


def _refused(resp, status: int, code: str, field: str) -> str:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code
    assert field in error["fields"], error
    return " ".join(error["fields"][field])


# -- Storing and serving ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("how", ["multipart", "raw"])
def test_an_image_comes_back_byte_identical_from_its_url(client, db, media, fmt, how) -> None:
    data = image_bytes(fmt, 641, 359)
    # The name and the header say JPEG whatever it is: the bytes decide.
    resp = _multipart(client, data) if how == "multipart" else _raw(client, data, "image/jpeg")

    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert re.fullmatch(r"upl_[0-9a-f]{24}", body["upload_id"])
    assert body["content_type"] == f"image/{fmt}"
    assert (body["size"], body["width"], body["height"]) == (len(data), 641, 359)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - utcnow()).total_seconds() - 86400) < 60  # UPLOAD_TTL_SECONDS
    assert _fetch(client, body["url"]) == (data, f"image/{fmt}")
    (stored,) = _files(media)
    assert stored.read_bytes() == data
    assert _rows(db) == 1


@pytest.mark.parametrize("how", ["multipart", "raw"])
def test_an_image_far_over_max_request_bytes_is_taken(client, how) -> None:
    data = noise_png(1600, 1200)  # about 5.8 MB; MAX_REQUEST_BYTES is 64 KB
    assert len(data) > 5 * MB

    resp = _multipart(client, data) if how == "multipart" else _raw(client, data, "image/png")

    assert resp.status_code == 201, resp.get_json()
    assert _fetch(client, resp.get_json()["url"]) == (data, "image/png")


def test_get_answers_the_same_body(client) -> None:
    made = _upload(client)

    got = client.get(f"/api/uploads/{made['upload_id']}")

    assert got.status_code == 200
    assert got.get_json() == made


def test_an_upload_needs_a_key(client, db, media) -> None:
    resp = client.post(
        "/api/uploads",
        data=image_bytes("png"),
        content_type="image/png",
        headers={"Authorization": "Bearer nope"},
    )

    assert resp.status_code == 401
    assert (_rows(db), _files(media)) == (0, [])


# -- Refusals: nothing is written ------------------------------------------------------


@pytest.mark.parametrize("how", ["multipart", "raw"])
def test_html_named_jpg_and_sent_as_jpeg_is_refused(client, db, media, how) -> None:
    resp = _multipart(client, HTML) if how == "multipart" else _raw(client, HTML, "image/jpeg")

    message = _refused(resp, 415, "unsupported_media_type", "file")
    assert "not a JPEG, PNG or WebP" in message
    assert (_rows(db), _files(media)) == (0, [])


@pytest.mark.parametrize("how", ["multipart", "raw"])
def test_an_empty_file_is_refused(client, db, media, how) -> None:
    resp = _multipart(client, b"") if how == "multipart" else _raw(client, b"", "image/png")

    assert _refused(resp, 422, "validation_error", "file") == "The file is empty."
    assert (_rows(db), _files(media)) == (0, [])


@pytest.mark.parametrize("how", ["multipart", "raw"])
def test_a_40_mb_body_is_413_and_nothing_is_stored(client, db, media, how) -> None:
    data = image_bytes("jpeg") + b"\0" * (40 * MB)
    resp = _multipart(client, data) if how == "multipart" else _raw(client, data, "image/jpeg")

    message = _refused(resp, 413, "payload_too_large", "file")
    assert f"UPLOAD_MAX_BYTES ({20 * MB} bytes)" in message
    assert (_rows(db), _files(media)) == (0, [])


def test_a_file_over_the_limit_is_refused_as_it_is_read(uploader, db, media) -> None:
    # Under the route's body limit (UPLOAD_MAX_BYTES plus multipart's room), over the file's.
    client = uploader(upload_max_bytes=100)

    resp = _multipart(client, image_bytes("png", 300, 300))

    _refused(resp, 413, "payload_too_large", "file")
    assert (_rows(db), _files(media)) == (0, [])


def test_other_routes_keep_max_request_bytes(client) -> None:
    resp = client.post(
        "/api/video/generate",
        data='{"script": "' + "x" * 140_000 + '"}',
        content_type="application/json",
    )

    assert resp.status_code == 413


@pytest.mark.parametrize(
    ("content_type", "data"),
    [("text/plain", b"hello"), ("application/octet-stream", image_bytes("png"))],
)
def test_a_raw_body_without_an_image_content_type_is_415(client, db, content_type, data) -> None:
    resp = _raw(client, data, content_type)

    assert "multipart/form-data" in _refused(resp, 415, "unsupported_media_type", "file")
    assert _rows(db) == 0


def test_json_is_not_an_upload(client, db) -> None:
    resp = client.post("/api/uploads", json={"url": "https://example.com/a.jpg"})

    _refused(resp, 415, "unsupported_media_type", "file")


@pytest.mark.parametrize(
    "files",
    [
        {"image": (io.BytesIO(b"x"), "a.png")},  # the wrong field
        {"file": [(io.BytesIO(b"x"), "a.png"), (io.BytesIO(b"y"), "b.png")]},  # two
    ],
)
def test_multipart_needs_exactly_one_file_field(client, db, files) -> None:
    resp = client.post("/api/uploads", data=files, content_type="multipart/form-data")

    assert "exactly one file" in _refused(resp, 422, "validation_error", "file")
    assert _rows(db) == 0


def test_with_a_real_key_local_storage_needs_a_public_url(uploader, db, media) -> None:
    client = uploader(piapi_api_key="pk-real", public_base_url=None)

    resp = _raw(client, image_bytes("png"), "image/png")

    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "conflict"
    assert "PiAPI could not fetch the file from this machine" in error["message"]
    assert "PUBLIC_BASE_URL" in error["message"] and "s3://" in error["message"]
    assert (_rows(db), _files(media)) == (0, [])


def test_with_a_real_key_and_a_public_url_uploads_are_taken(uploader) -> None:
    client = uploader(piapi_api_key="pk-real", public_base_url="https://videos.example.com")

    assert _raw(client, image_bytes("png"), "image/png").status_code == 201


# -- Ownership, expiry, deletion -------------------------------------------------------


def test_another_users_upload_is_404_everywhere(uploader, db) -> None:
    mine = _upload(uploader(1))["upload_id"]
    other = uploader(2)

    assert other.get(f"/api/uploads/{mine}").status_code == 404
    assert other.delete(f"/api/uploads/{mine}").status_code == 404
    for route in ("generate", "quote"):
        resp = other.post(
            f"/api/video/{route}",
            json={**SPEC_I2V, "image_url": None, "image_upload_id": mine},
        )
        assert "No upload" in _refused(resp, 404, "not_found", "image_upload_id")
    assert db.scalar(select(func.count()).select_from(Job)) == 0


@pytest.mark.parametrize(
    "upload_id",
    ["upl_" + "0" * 24, "upl_nope", "x" * 64, "upl_" + "0" * 23 + "%00", "UPL_" + "a" * 24],
)
def test_an_unknown_upload_is_404(client, upload_id) -> None:
    assert client.get(f"/api/uploads/{upload_id}").status_code == 404
    resp = client.post(
        "/api/video/generate", json={**SPEC_I2V, "image_url": None, "image_upload_id": upload_id}
    )
    _refused(resp, 404, "not_found", "image_upload_id")


def test_an_expired_upload_is_gone(client, db) -> None:
    upload_id = _upload(client)["upload_id"]
    db.execute(
        update(Upload)
        .where(Upload.id == upload_id)
        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.commit()

    assert client.get(f"/api/uploads/{upload_id}").status_code == 404
    resp = client.post(
        "/api/video/generate", json={**SPEC_I2V, "image_url": None, "image_upload_id": upload_id}
    )
    _refused(resp, 404, "not_found", "image_upload_id")


def test_delete_removes_an_unused_upload_and_its_file(client, db, media) -> None:
    made = _upload(client)

    assert client.delete(f"/api/uploads/{made['upload_id']}").status_code == 204

    assert client.get(f"/api/uploads/{made['upload_id']}").status_code == 404
    with client.get(urlsplit(made["url"]).path) as gone:
        assert gone.status_code == 404
    assert (_rows(db), _files(media)) == (0, [])


def test_delete_refuses_an_upload_a_job_uses(client, db, media) -> None:
    made = _upload(client)
    job = client.post(
        "/api/video/generate",
        json={**SPEC_I2V, "image_url": None, "image_upload_id": made["upload_id"]},
    )
    assert job.status_code == 202

    resp = client.delete(f"/api/uploads/{made['upload_id']}")

    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "conflict"
    assert client.get(f"/api/uploads/{made['upload_id']}").status_code == 200
    assert len(_files(media)) == 1
