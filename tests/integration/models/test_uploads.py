"""The uploads table on Postgres: who may use a row, and the foreign key that keeps it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from models import uploads
from models.db import utcnow
from models.uploads import Upload
from tests.integration.conftest import SPEC_I2V


def _upload(db, *, user_id: int = 1, expires_in_s: float = 3600) -> Upload:  # type: ignore[no-untyped-def]
    expires_at = utcnow() + dt.timedelta(seconds=expires_in_s)
    upload = Upload(
        id=uploads.new_id(),
        user_id=user_id,
        key=f"uploads/{uploads.new_id()}.jpg",
        content_type="image/jpeg",
        size=10,
        sha256="0" * 64,
        width=1,
        height=1,
        expires_at=expires_at,
        sweep_at=expires_at,
    )
    db.add(upload)
    db.commit()
    return upload


def test_only_the_owner_sees_a_live_upload(db) -> None:
    mine = _upload(db)
    expired = _upload(db, expires_in_s=-1)

    assert uploads.live(db, mine.id, 1) is mine
    assert uploads.live(db, mine.id, 2) is None
    assert uploads.live(db, expired.id, 1) is None
    assert uploads.live(db, "upl_" + "0" * 24, 1) is None
    assert uploads.live(db, mine.id + "0", 1) is None


def test_ids_are_upl_and_24_hex_digits() -> None:
    first, second = uploads.new_id(), uploads.new_id()

    assert first != second
    assert first.startswith("upl_") and len(first) == 28
    int(first[4:], 16)


def test_the_database_refuses_to_remove_an_upload_a_job_uses(db, make_job) -> None:
    upload = _upload(db)
    make_job(SPEC_I2V, image_url=None, image_upload_id=upload.id, image_key=upload.key)

    assert uploads.in_use(db, upload.id)
    with pytest.raises(IntegrityError):
        db.execute(delete(Upload).where(Upload.id == upload.id))
