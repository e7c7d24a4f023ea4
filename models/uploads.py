"""The uploads table: images a user sent us to animate, and when each may be removed.

An upload is usable (by id, by its owner) until expires_at. A job that uses it keeps
it: the job's image_upload_id / end_image_upload_id refer to it (a foreign key on
Postgres), and the sweeper removes only uploads no job refers to. sweep_at is when the
sweeper next looks at a row: its expiry at first, then later and later while a job
holds it, so every pass reads a bounded number of rows however many jobs hold uploads.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Index,
    Integer,
    String,
    Text,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.db import Base, utcnow
from models.jobs import Job

ID_PREFIX = "upl_"
ID_LENGTH = len(ID_PREFIX) + 24
_ID = re.compile(r"upl_[0-9a-f]{24}")
# A held upload is looked at again after at least this long, and after as long again as
# it has been expired: a long-held upload costs a few looks in all, not one per pass.
RECHECK_MIN_S = 3600


class Upload(Base):
    """One uploaded image: whose it is, where it is stored, and what it is."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    # The storage key: random and unguessable, since a local /media URL is a capability.
    key: Mapped[str] = mapped_column(Text, unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    sweep_at: Mapped[dt.datetime]

    __table_args__ = (Index("ix_uploads_sweep_at", "sweep_at"),)

    @property
    def fmt(self) -> str:
        """ "jpeg", "png" or "webp", from the content type decided by the file's bytes."""
        return self.content_type.removeprefix("image/")

    def expired(self, now: dt.datetime | None = None) -> bool:
        """True once the upload may no longer be used by a new job."""
        return self.expires_at <= (now or utcnow())


def new_id() -> str:
    """A fresh upload id: upl_ and 24 hex digits."""
    return ID_PREFIX + secrets.token_hex(12)


def _used(upload_id: Any) -> ColumnElement[bool]:
    return or_(
        exists().where(Job.image_upload_id == upload_id),
        exists().where(Job.end_image_upload_id == upload_id),
    )


def live(session: Session, upload_id: str, user_id: int, *, lock: bool = False) -> Upload | None:
    """The user's unexpired upload with this id, or None (unknown, another user's, expired).

    lock holds it (FOR KEY SHARE) until the transaction ends, so the sweeper passes it
    over while a job that uses it is being written.
    """
    if _ID.fullmatch(upload_id) is None:
        return None  # not one of ours (and nothing the database need be asked)
    query = select(Upload).where(
        Upload.id == upload_id, Upload.user_id == user_id, Upload.expires_at > utcnow()
    )
    if lock:
        query = query.with_for_update(read=True, key_share=True)
    return session.scalar(query)


def in_use(session: Session, upload_id: str) -> bool:
    """True when some job refers to the upload."""
    return bool(session.scalar(select(_used(upload_id))))


@dataclass(frozen=True, slots=True)
class Swept:
    """One sweep of uploads: the storage keys of the rows removed, and how many are held."""

    removed_keys: list[str]
    held: int


def sweep_due(session: Session, *, now: dt.datetime, limit: int) -> Swept:
    """Remove up to limit due uploads no job uses; look at the held ones again later.

    Rows are taken with FOR UPDATE SKIP LOCKED, so sweepers running at once, and a
    generate request holding an upload, are passed over. The caller deletes the files
    of removed_keys after committing.
    """
    due = session.execute(
        select(Upload.id, Upload.key, Upload.expires_at, _used(Upload.id).label("used"))
        .where(Upload.sweep_at <= now)
        .order_by(Upload.sweep_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Upload)
    ).all()
    free = [(row.id, row.key) for row in due if not row.used]
    held = [row for row in due if row.used]
    if free:
        session.execute(delete(Upload).where(Upload.id.in_([upload_id for upload_id, _ in free])))
    if held:
        session.execute(
            update(Upload),
            [{"id": row.id, "sweep_at": _next_look(row.expires_at, now)} for row in held],
        )
    return Swept([key for _, key in free], len(held))


def _next_look(expires_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    return now + max(dt.timedelta(seconds=RECHECK_MIN_S), now - expires_at)


def look_again(session: Session, upload_ids: Sequence[str | None]) -> None:
    """Have the sweeper look at these uploads on its next pass (a job using them is gone)."""
    wanted = [upload_id for upload_id in upload_ids if upload_id]
    if wanted:
        session.execute(
            update(Upload)
            .where(Upload.id.in_(wanted), Upload.expires_at < Upload.sweep_at)
            .values(sweep_at=Upload.expires_at)
        )
