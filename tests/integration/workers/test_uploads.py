"""Uploads in the workers: the URL PiAPI is sent, made at submission, and the sweeper's expiry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from models import uploads
from models.db import utcnow
from models.jobs import Job
from models.uploads import Upload
from providers.piapi import PiAPIClient
from providers.storage.local import LocalStorage
from providers.storage.s3 import S3Storage
from providers.upload_urls import UploadURLs
from tests.fakes import RecordingMessages
from tests.integration.conftest import SPEC_I2V
from workers.polling import every
from workers.submission import _image_urls, submit_once
from workers.sweeper import BATCH, SweepPolicy, sweep

POLICY = SweepPolicy(queued_grace_s=60, submitting_grace_s=300, poll_grace_s=120)
KLING_I2V = {**SPEC_I2V, "provider": "piapi_kling_3"}


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(str(tmp_path / "media"), public_base="http://127.0.0.1:8000/media")


def _add_upload(session_factory, storage, *, user_id=1, expires_in_s=3600.0) -> Upload:  # type: ignore[no-untyped-def]
    expires_at = utcnow() + dt.timedelta(seconds=expires_in_s)
    upload = Upload(
        id=uploads.new_id(),
        user_id=user_id,
        key=f"uploads/{uploads.new_id()}.png",
        content_type="image/png",
        size=3,
        sha256="0" * 64,
        width=640,
        height=480,
        expires_at=expires_at,
        sweep_at=expires_at,
    )
    (storage.root / "uploads").mkdir(parents=True, exist_ok=True)
    storage.path(upload.key).write_bytes(b"png")
    with session_factory.begin() as session:
        session.add(upload)
    return upload


def _job_from(make_job, first: Upload, last: Upload | None = None) -> int:  # type: ignore[no-untyped-def]
    return make_job(
        KLING_I2V,
        image_url=None,
        image_upload_id=first.id,
        image_key=first.key,
        end_image_upload_id=last.id if last else None,
        end_image_key=last.key if last else None,
    )


def _sweep(session_factory, storage, now=None):  # type: ignore[no-untyped-def]
    return sweep(
        session_factory, policy=POLICY, messages=RecordingMessages(), now=now, storage=storage
    )


def _ids(session_factory) -> set[str]:  # type: ignore[no-untyped-def]
    with session_factory() as session:
        return set(session.scalars(select(Upload.id)))


# -- The URL PiAPI gets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public_base_url", "uses_sandbox", "base"),
    [
        (None, True, "http://127.0.0.1:8000/media"),  # the sandbox runs beside us
        ("https://videos.example.com", False, "https://videos.example.com/media"),
    ],
)
def test_piapi_is_sent_urls_made_from_the_keys_at_submission(
    session_factory, make_job, sandbox, storage, public_base_url, uses_sandbox, base
) -> None:
    first, last = _add_upload(session_factory, storage), _add_upload(session_factory, storage)
    job_id = _job_from(make_job, first, last)
    urls = UploadURLs(storage, public_base_url=public_base_url, uses_sandbox=uses_sandbox)

    submitted = submit_once(
        session_factory,
        PiAPIClient(sandbox.url, "test-key"),
        job_id,
        plan_poll=every(7.0),
        retry_wait_s=lambda _: 3.0,
        upload_urls=urls,
    )

    assert submitted is not None
    (task,) = sandbox.sandbox._tasks.values()
    assert task.body["input"]["image_url"] == f"{base}/{first.key}"
    assert task.body["input"]["image_tail_url"] == f"{base}/{last.key}"


class _Presigner:
    """Signs like boto3 would, and records each URL's lifetime."""

    def __init__(self) -> None:
        self.lifetimes: list[int] = []

    def generate_presigned_url(self, _operation, *, Params, ExpiresIn):  # type: ignore[no-untyped-def]
        self.lifetimes.append(ExpiresIn)
        return f"https://s3.example/{Params['Key']}?sig"


def test_with_s3_piapi_gets_a_presigned_get_lasting_to_the_deadline(
    session_factory, make_job, storage
) -> None:
    presigner = _Presigner()
    s3 = S3Storage("videos", "", url_ttl_s=600, client=presigner)
    first = _add_upload(session_factory, storage)
    job_id = _job_from(make_job, first)

    with session_factory() as session:
        image_url, _ = _image_urls(
            session.get_one(Job, job_id), UploadURLs(s3, public_base_url=None, uses_sandbox=False)
        )

    assert image_url == f"https://s3.example/{first.key}?sig"
    # Kling 3.0's deadline is 30 minutes: the URL lasts that long (less the test's time).
    (lifetime,) = presigner.lifetimes
    assert 30 * 60 - 30 <= lifetime <= 30 * 60


# -- The sweeper ------------------------------------------------------------------------


def test_an_expired_upload_no_job_uses_is_removed_with_its_file(session_factory, storage) -> None:
    expired = _add_upload(session_factory, storage, expires_in_s=-1)
    live = _add_upload(session_factory, storage)

    report = _sweep(session_factory, storage)

    assert report.uploads_removed == 1
    assert _ids(session_factory) == {live.id}
    assert not storage.path(expired.key).exists()
    assert storage.path(live.key).exists()


def test_a_job_keeps_its_upload_until_the_job_is_deleted(
    session_factory, make_job, storage
) -> None:
    first = _add_upload(session_factory, storage, expires_in_s=-1)
    last = _add_upload(session_factory, storage, expires_in_s=-1)
    job_id = _job_from(make_job, first, last)

    assert _sweep(session_factory, storage).uploads_removed == 0
    assert _ids(session_factory) == {first.id, last.id}
    # Held: looked at again later, not on every pass.
    with session_factory() as session:
        assert all(u.sweep_at > utcnow() for u in session.scalars(select(Upload)))

    with session_factory.begin() as session:  # as DELETE /api/video/<id> does
        session.delete(session.get(Job, job_id))
        session.flush()
        uploads.look_again(session, [first.id, last.id])

    assert _sweep(session_factory, storage).uploads_removed == 2
    assert _ids(session_factory) == set()
    assert not storage.path(first.key).exists() and not storage.path(last.key).exists()


def test_a_held_upload_is_looked_at_less_and_less_often(session_factory, make_job, storage) -> None:
    upload = _add_upload(session_factory, storage, expires_in_s=-10 * 24 * 3600)
    _job_from(make_job, upload)

    _sweep(session_factory, storage)

    with session_factory() as session:
        sweep_at = session.get(Upload, upload.id).sweep_at
    # Expired ten days ago: the next look is ten days away, not an hour.
    assert sweep_at > utcnow() + dt.timedelta(days=9)


def test_a_pass_removes_at_most_a_batch(session_factory, storage) -> None:
    for _ in range(3):
        _add_upload(session_factory, storage, expires_in_s=-1)

    with session_factory.begin() as session:
        swept = uploads.sweep_due(session, now=utcnow(), limit=2)

    assert len(swept.removed_keys) == 2
    assert len(_ids(session_factory)) == 1
    assert BATCH >= 100  # the sweeper's own batch


def test_without_storage_the_sweeper_leaves_uploads_alone(session_factory, storage) -> None:
    _add_upload(session_factory, storage, expires_in_s=-1)

    report = sweep(session_factory, policy=POLICY, messages=RecordingMessages())

    assert report.uploads_removed == 0
    assert len(_ids(session_factory)) == 1
