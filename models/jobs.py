"""The video_generations table and the only code that changes a job's status.

Each transition is one conditional UPDATE ... RETURNING: its result says whether the
transition happened, so a duplicated, late or stale task can run it and change nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    and_,
    func,
    insert,
    not_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.schema import ColumnDefault

from infra.metrics import note_job_ended
from models import in_flight
from models.db import Base, own_transaction, take_rows, utcnow


class Status(enum.StrEnum):
    """What a client sees."""

    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


class Phase(enum.StrEnum):
    """Where a processing job is inside the backend."""

    QUEUED = "queued"  # accepted and committed; no PiAPI call made yet
    SUBMITTING = "submitting"  # claimed: a worker is creating the PiAPI task
    # The create may have reached PiAPI but its answer was lost: never sent again, it waits
    # for PiAPI's callback to name the task (models/create_outcome.py), or for the deadline.
    IN_DOUBT = "in_doubt"
    POLLING = "polling"  # PiAPI has the task; a poll chain follows it
    DONE = "done"  # terminal; status says how it ended


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELED})


def _str_enum(cls: type[enum.StrEnum]) -> Enum:
    # Stored as the value in a VARCHAR, so adding a member is not an ALTER TYPE.
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


_JSON = JSON().with_variant(JSONB(), "postgresql")


# The library's indexes: each ends in its order, so a page is a range of one index.
LIBRARY_INDEXES: dict[str, tuple[str, ...]] = {
    "ix_video_generations_library": (),
    "ix_video_generations_library_status": ("status",),
    "ix_video_generations_library_mode": ("generation_mode",),
    "ix_video_generations_library_provider": ("provider",),
    "ix_video_generations_library_campaign": ("campaign_id",),
}


class Job(Base):
    """One requested video: the spec's video_generations row plus its life-cycle fields."""

    __tablename__ = "video_generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    # NULL until PiAPI accepts the task: the row is written before the submission.
    task_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider: Mapped[str] = mapped_column(String(100))
    model_name: Mapped[str] = mapped_column(String(100))
    task_type: Mapped[str] = mapped_column(String(64))
    generation_mode: Mapped[str] = mapped_column(String(50))
    prompt: Mapped[str] = mapped_column(Text)
    script: Mapped[str] = mapped_column(Text)
    style: Mapped[str] = mapped_column(String(50))
    aspect_ratio: Mapped[str] = mapped_column(String(10))
    image_url: Mapped[str | None] = mapped_column(Text)
    requested_duration: Mapped[int] = mapped_column(Integer)
    actual_duration: Mapped[int] = mapped_column(Integer)
    video_url: Mapped[str | None] = mapped_column(Text)
    video_raw_url: Mapped[str | None] = mapped_column(Text)
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    last_frame_url: Mapped[str | None] = mapped_column(Text)
    video_width: Mapped[int | None] = mapped_column(Integer)
    video_height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[Status] = mapped_column(_str_enum(Status), default=Status.PROCESSING)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))  # None: no published price
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(50))

    # Life-cycle bookkeeping, beyond the spec's columns.
    phase: Mapped[Phase] = mapped_column(_str_enum(Phase), default=Phase.QUEUED)
    notice: Mapped[str | None] = mapped_column(Text)  # e.g. a documented model swap
    poll_token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # When a worker is next due to act: the next poll, or a retried submission.
    next_poll_at: Mapped[dt.datetime | None]
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    submit_attempts: Mapped[int] = mapped_column(Integer, default=0)
    submitting_since: Mapped[dt.datetime | None]
    # Set, in its own commit, right before the create call leaves: a claim without it
    # provably created nothing. Kept after the call, for reconciliation.
    create_sent_at: Mapped[dt.datetime | None]
    # Names the job in the webhook endpoint given to PiAPI with every create, so PiAPI's
    # callback identifies the job even when we never learned the task id. Unguessable.
    hook_token: Mapped[str | None] = mapped_column(String(64))
    # When the create's outcome was first in doubt, and when a callback adopted its task.
    doubted_at: Mapped[dt.datetime | None]
    adopted_at: Mapped[dt.datetime | None]
    deadline_at: Mapped[dt.datetime]
    # The model's run time allowance, when the request gave no deadline_seconds: the
    # deadline then counts from the job's first claim, so waiting for a PiAPI slot (under
    # PIAPI_MAX_CONCURRENT_TASKS) does not use it up. Null: deadline_at bounds the whole job.
    run_deadline_s: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    provider_response: Mapped[dict[str, Any] | None] = mapped_column(_JSON)
    # Idempotency-Key of the request that created the job, and a hash of its body.
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_events: Mapped[list[str] | None] = mapped_column(_JSON)
    # Our copy of the result (the columns above keep PiAPI's own URLs).
    storage_state: Mapped[str | None] = mapped_column(String(20))  # pending, stored, failed
    storage_error: Mapped[str | None] = mapped_column(Text)
    storage_attempts: Mapped[int] = mapped_column(Integer, default=0)
    storage_due_at: Mapped[dt.datetime | None]
    stored_files: Mapped[dict[str, Any] | None] = mapped_column(_JSON)
    # The quote: whether `cost` is an estimate, and the model's options, defaults filled in.
    cost_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[dict[str, Any] | None] = mapped_column(_JSON)
    # What PiAPI charged (meta.usage.consume), recorded when the task ends.
    charged_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    # Images from POST /api/uploads (migration 0008): the upload (a foreign key to uploads
    # on Postgres) and its storage key. The URL PiAPI gets is made from the key when the
    # task is created, so it is fresh.
    image_upload_id: Mapped[str | None] = mapped_column(String(28))
    image_key: Mapped[str | None] = mapped_column(Text)
    end_image_upload_id: Mapped[str | None] = mapped_column(String(28))
    end_image_key: Mapped[str | None] = mapped_column(Text)
    # Which of the user's in-flight counters counts this job while it is processing
    # (models/in_flight.py); set by the API when it accepts the job.
    in_flight_shard: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")

    __table_args__ = (
        # The library's order, alone and after each of its filters (migration 0006).
        *(
            Index(name, "user_id", *columns, text("created_at DESC"), text("id DESC"))
            for name, columns in LIBRARY_INDEXES.items()
        ),
        Index("ix_video_generations_phase_next_poll", "phase", "next_poll_at"),
        # The sweeper's deadline pass reads only unfinished jobs (migration 0011).
        Index(
            "ix_video_generations_open_deadline",
            "deadline_at",
            postgresql_where=text("phase <> 'done'"),
            sqlite_where=text("phase <> 'done'"),
        ),
        Index("ix_video_generations_storage_due", "storage_state", "storage_due_at"),
        # The sweeper asks, per upload, whether a job still uses it.
        *(
            Index(
                f"ix_video_generations_{column}",
                column,
                postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("image_upload_id", "end_image_upload_id")
        ),
        Index("uq_video_generations_hook_token", "hook_token", unique=True),
        Index(
            "uq_video_generations_user_idempotency",
            "user_id",
            "idempotency_key",
            unique=True,
        ),
    )


_JOBS = cast(Table, Job.__table__)  # declared with a Table: typed as any FromClause
# What only the database can say about a new row: its id, its shard (insert_counted
# chooses it), and its cost as stored (Numeric(10, 4) rounds what the quote computed).
_DECIDED = (_JOBS.c.id, _JOBS.c.in_flight_shard, _JOBS.c.cost)
_INSERT = insert(_JOBS).returning(*_DECIDED)
# What an INSERT that leaves a column out writes there: its scalar default, else NULL.
_DEFAULTS = [(c.key, c.default) for c in _JOBS.c if isinstance(c.default, ColumnDefault)]
_UNSET = {c.key: None for c in _JOBS.c} | {k: d.arg for k, d in _DEFAULTS if d.is_scalar}
_COMPUTED_DEFAULTS = tuple((k, d.arg) for k, d in _DEFAULTS if d.is_callable)


class InsertedJob(SimpleNamespace):
    """A new job's row as its INSERT wrote it: every column, read like a Job.

    Built from the values sent and the few columns the INSERT returns (_DECIDED), not
    from the row read back: a RETURNING of every column was a tenth of generate's CPU
    (the result's metadata for 61 columns, built on every execution, and their parsing).
    """


def _with_computed_defaults(values: dict[str, Any]) -> dict[str, Any]:
    # A default computed at insert time (a clock) is computed here instead, so the
    # InsertedJob shows the value the row holds.
    missing = [(key, make) for key, make in _COMPUTED_DEFAULTS if key not in values]
    return values | {key: make(None) for key, make in missing} if missing else values


def _inserted(values: dict[str, Any], decided: Row[Any]) -> InsertedJob:
    return InsertedJob(**(_UNSET | values | decided._asdict()))


def insert_new(session: Session, values: dict[str, Any]) -> InsertedJob:
    """Insert a job's columns (api.submissions.new_job_values) in one INSERT: the row it wrote.

    The unit of work costs a quarter of generate's CPU for a single new object (identity
    map, flush plan, a fresh instance state). Columns left unset get their defaults, as
    a flush would give them. Nothing is added to the session.
    """
    values = _with_computed_defaults(values)
    return _inserted(values, session.connection().execute(_INSERT, values).one())


def insert_counted(
    session: Session, values: dict[str, Any], *, user_id: int, limit: int
) -> InsertedJob | None:
    """insert_new, counted in one of the user's in-flight shards with room; None at limit.

    Usually one statement that takes a free shard and inserts (Postgres); otherwise, after
    a rollback, in_flight.reserve's careful way and then the insert. Call it first in a
    transaction that has written nothing yet: it may roll back.
    """
    values = _with_computed_defaults(values)
    decided = in_flight.insert_in_a_free_shard(
        session.connection(), _JOBS, values, returning=_DECIDED, user_id=user_id, limit=limit
    )
    if decided is not None:
        return _inserted(values, decided)
    if session.get_bind().dialect.name == "postgresql":
        # A row that changed under the query stays locked: release it before waiting.
        session.rollback()
    shard = in_flight.reserve(session, user_id, limit)
    if shard is None:
        return None
    return insert_new(session, values | {"in_flight_shard": shard})


class _NoFreeShard(Exception):
    """The one-statement insert found no free shard: its transaction is rolled back."""


def insert_counted_committed(
    session: Session, values: dict[str, Any], *, user_id: int, limit: int
) -> InsertedJob | None:
    """insert_counted, committed: the row as written, or None at the limit (nothing written).

    When the session holds nothing yet (no replay read, no upload locked), the usual case
    runs in a transaction of its own (db.own_transaction): the one statement and its
    commit, without the session's bookkeeping. Otherwise, or when that statement finds no
    free shard, insert_counted on the session, which is then committed. At the limit the
    session is left to roll back.
    """
    # The one statement is Postgres' (in_flight.insert_in_a_free_shard): elsewhere a
    # transaction apart would only be opened to be rolled back.
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        values = _with_computed_defaults(values)
        try:
            with own_transaction(session) as conn:
                decided = in_flight.insert_in_a_free_shard(
                    conn, _JOBS, values, returning=_DECIDED, user_id=user_id, limit=limit
                )
                if decided is None:
                    raise _NoFreeShard  # the block rolls back what the statement locked
                return _inserted(values, decided)
        except _NoFreeShard:
            pass
    row = insert_counted(session, values, user_id=user_id, limit=limit)
    if row is not None:
        session.commit()
    return row


def _transition(session: Session, job_id: int, *where: Any, **values: Any) -> bool:
    values.setdefault("updated_at", utcnow())
    changed = session.execute(
        update(Job)
        .where(Job.id == job_id, *where)
        .values(**values)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return changed is not None


# Prefixed, so log redaction knows it (infra/log_format.py).
HOOK_TOKEN_PREFIX = "pwh_"


def new_hook_token() -> str:
    """A fresh unguessable token naming one job in PiAPI's webhook endpoint."""
    return HOOK_TOKEN_PREFIX + secrets.token_urlsafe(24)


def claim_for_submit(session: Session, job_id: int) -> int | None:
    """queued -> submitting, at most once: the claim's attempt number, or None if not claimed.

    The job keeps its hook token from its first claim on; the create is not marked sent.
    At a job's first claim, a model's run allowance (run_deadline_s) starts: the deadline
    moves to now plus it, if that is later.
    """
    now = utcnow()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.phase == Phase.QUEUED)
        .values(
            phase=Phase.SUBMITTING,
            submitting_since=now,
            submit_attempts=Job.submit_attempts + 1,
            create_sent_at=None,
            hook_token=func.coalesce(Job.hook_token, new_hook_token()),
            updated_at=now,
        )
        .returning(Job.submit_attempts, Job.run_deadline_s, Job.deadline_at)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if claimed is None:
        return None
    attempt, run_s, deadline_at = claimed
    if attempt == 1 and run_s is not None:
        starts_at = now + dt.timedelta(seconds=run_s)
        if starts_at > deadline_at:
            _transition(session, job_id, Job.phase == Phase.SUBMITTING, deadline_at=starts_at)
    return int(attempt)


def release_claim(session: Session, job_id: int, *, retry_at: dt.datetime) -> bool:
    """submitting -> queued, only after PiAPI provably refused the create call.

    retry_at tells the sweeper when the retry is due, so a long backoff is not
    mistaken for a lost message.
    """
    return _transition(
        session,
        job_id,
        Job.phase == Phase.SUBMITTING,
        phase=Phase.QUEUED,
        submitting_since=None,
        next_poll_at=retry_at,
    )


def postpone_poll(
    session: Session, job_id: int, *, token: uuid.UUID, next_poll_at: dt.datetime
) -> bool:
    """Record that this chain's next poll is a retry due at next_poll_at."""
    return _transition(
        session,
        job_id,
        Job.phase == Phase.POLLING,
        Job.poll_token == token,
        next_poll_at=next_poll_at,
    )


def mark_submitted(
    session: Session,
    job_id: int,
    *,
    task_id: str,
    token: uuid.UUID,
    next_poll_at: dt.datetime,
    response: dict[str, Any] | None,
) -> bool:
    """submitting (or in doubt) -> polling with PiAPI's task id and a fresh poll-chain token.

    False when the job ended, or a callback adopted its task first.
    """
    return _transition(
        session,
        job_id,
        Job.phase.in_((Phase.SUBMITTING, Phase.IN_DOUBT)),
        Job.task_id.is_(None),
        phase=Phase.POLLING,
        task_id=task_id,
        poll_token=token,
        next_poll_at=next_poll_at,
        started_at=utcnow(),
        submitting_since=None,
        provider_response=response,
    )


def record_poll(
    session: Session,
    job_id: int,
    *,
    token: uuid.UUID,
    progress: int | None,
    next_poll_at: dt.datetime,
    response: dict[str, Any] | None,
) -> bool:
    """Note one non-final poll. A stale chain (wrong token) or a finished job changes nothing."""
    values: dict[str, Any] = {
        "poll_count": Job.poll_count + 1,
        "next_poll_at": next_poll_at,
        "provider_response": response,
    }
    if progress is not None:
        values["progress"] = progress
    return _transition(
        session,
        job_id,
        Job.phase == Phase.POLLING,
        Job.poll_token == token,
        **values,
    )


def finish(
    session: Session,
    job_id: int,
    *,
    status: Status,
    token: uuid.UUID | None = None,
    counts_poll: bool = False,
    remote_ended_at: dt.datetime | None = None,
    **fields: Any,
) -> bool:
    """Record a final verdict once. Terminal is final; with a token, only that chain may.

    remote_ended_at is when PiAPI says the task ended, for the detection-lag metric.
    """
    if status not in TERMINAL:
        raise ValueError(f"{status} is not terminal")
    where = [Job.phase != Phase.DONE]
    if token is not None:
        where.append(Job.poll_token == token)
    if counts_poll:
        fields["poll_count"] = Job.poll_count + 1
    if status is Status.COMPLETED:
        fields.setdefault("progress", 100)
    now = utcnow()
    ended = session.execute(
        update(Job)
        .where(Job.id == job_id, *where)
        .values(
            status=status,
            phase=Phase.DONE,
            next_poll_at=None,
            submitting_since=None,
            completed_at=now,
            updated_at=now,
            **fields,
        )
        .returning(Job.provider, Job.created_at)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if ended is None:
        return False
    note_job_ended(
        session,
        state=status.value,
        provider=ended.provider,
        created_at=ended.created_at,
        ended_at=now,
        remote_ended_at=remote_ended_at,
    )
    return True


def _note_failed(session: Session, rows: Any, now: dt.datetime) -> None:
    for row in rows:
        note_job_ended(
            session,
            state=Status.FAILED.value,
            provider=row.provider,
            created_at=row.created_at,
            ended_at=now,
        )


def expire_overdue(session: Session, *, now: dt.datetime) -> list[tuple[int, str | None]]:
    """Fail every unfinished job past its deadline with `timeout`: (id, PiAPI task id).

    A job that has never been claimed and whose deadline is its model's run allowance
    (run_deadline_s) is waiting for a PiAPI slot: its allowance has not started yet.
    """
    waiting = and_(
        Job.phase == Phase.QUEUED, Job.submit_attempts == 0, Job.run_deadline_s.is_not(None)
    )
    rows = session.execute(
        update(Job)
        .where(Job.phase != Phase.DONE, Job.deadline_at < now, not_(waiting))
        .values(
            status=Status.FAILED,
            phase=Phase.DONE,
            error_code="timeout",
            error_message="The job did not finish before its deadline.",
            next_poll_at=None,
            submitting_since=None,
            completed_at=now,
            updated_at=now,
        )
        .returning(Job.id, Job.task_id, Job.provider, Job.created_at)
        .execution_options(synchronize_session=False)
    ).all()
    _note_failed(session, rows, now)
    return [(row.id, row.task_id) for row in rows]


def touch_stale_queued(
    session: Session, *, older_than: dt.datetime, now: dt.datetime, limit: int
) -> list[int]:
    """Queued jobs nobody claimed since older_than; touching them hides them from other sweeps.

    A queued job's next_poll_at, when set, is a retry's due time (see release_claim).
    """
    due = func.coalesce(Job.next_poll_at, Job.updated_at)
    rows = take_rows(
        session,
        Job,
        [Job.phase == Phase.QUEUED, due < older_than],
        values={"updated_at": now, "next_poll_at": None},
        returning=[Job.id],
        limit=limit,
    )
    return [job_id for (job_id,) in rows]


def fail_stuck_submissions(
    session: Session, *, older_than: dt.datetime, now: dt.datetime
) -> list[int]:
    """Fail jobs whose create call left before older_than and never recorded an answer.

    PiAPI may have accepted such a task (the worker died mid-call), so the job is
    not resubmitted: paying twice is worse than a clear failure. With PiAPI's webhooks
    on, the sweeper puts them in doubt instead (models/create_outcome.py).
    """
    rows = session.execute(
        update(Job)
        .where(Job.phase == Phase.SUBMITTING, Job.create_sent_at < older_than)
        .values(
            status=Status.FAILED,
            phase=Phase.DONE,
            error_code="submission_unknown",
            error_message=(
                "The submission to PiAPI was interrupted and its outcome is unknown; "
                "it was not resubmitted."
            ),
            submitting_since=None,
            doubted_at=func.coalesce(Job.doubted_at, now),
            completed_at=now,
            updated_at=now,
        )
        .returning(Job.id, Job.provider, Job.created_at)
        .execution_options(synchronize_session=False)
    ).all()
    _note_failed(session, rows, now)
    return [row.id for row in rows]


def restart_overdue_polls(
    session: Session, *, older_than: dt.datetime, next_poll_at: dt.datetime, limit: int
) -> list[tuple[int, uuid.UUID]]:
    """Give each job whose poll is overdue a new chain token; the old chain, if alive, ends."""
    overdue = session.execute(
        select(Job.id, Job.poll_token)
        .where(Job.phase == Phase.POLLING, Job.next_poll_at < older_than)
        .order_by(Job.next_poll_at)
        .limit(limit)
    ).all()
    restarted = []
    for job_id, old_token in overdue:
        token = uuid.uuid4()
        if _transition(
            session,
            job_id,
            Job.phase == Phase.POLLING,
            Job.poll_token == old_token,
            Job.next_poll_at < older_than,
            poll_token=token,
            next_poll_at=next_poll_at,
        ):
            restarted.append((job_id, token))
    return restarted


def cancel(session: Session, job_id: int) -> bool:
    """Mark an unfinished job canceled; any poll chain or submission in flight sees it and stops."""
    return finish(session, job_id, status=Status.CANCELED)


class StorageState(enum.StrEnum):
    """Where our copy of a completed job's files is."""

    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"


def record_stored(session: Session, job_id: int, files: dict[str, Any]) -> bool:
    """pending -> stored with where each file lives; False if not pending (e.g. deleted)."""
    return _transition(
        session,
        job_id,
        Job.storage_state == StorageState.PENDING,
        storage_state=StorageState.STORED,
        stored_files=files,
        storage_error=None,
        storage_due_at=None,
    )


def record_store_failure(
    session: Session, job_id: int, *, reason: str, retry_at: dt.datetime | None
) -> bool:
    """Count a failed attempt; with no retry_at the storage is failed for good."""
    values: dict[str, Any] = {
        "storage_attempts": Job.storage_attempts + 1,
        "storage_error": reason,
        "storage_due_at": retry_at,
    }
    if retry_at is None:
        values["storage_state"] = StorageState.FAILED
    return _transition(session, job_id, Job.storage_state == StorageState.PENDING, **values)


def take_overdue_stores(
    session: Session, *, older_than: dt.datetime, now: dt.datetime, limit: int
) -> list[int]:
    """Jobs whose storing is overdue (a lost message); taking them hides them from other sweeps."""
    rows = take_rows(
        session,
        Job,
        [Job.storage_state == StorageState.PENDING, Job.storage_due_at < older_than],
        values={"storage_due_at": now},
        returning=[Job.id],
        limit=limit,
    )
    return [job_id for (job_id,) in rows]
