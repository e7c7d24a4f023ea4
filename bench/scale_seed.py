"""One user's history of jobs, made in set-based SQL: a million rows in seconds, not minutes.

The rows look like the API's and the workers' own: the catalogue's providers, modes, models
and prices in a weighted mix, mostly completed (with our stored copy), some failed or
canceled, created over months with ids rising with created_at, and the newest ones still
in flight (phase polling, a PiAPI task id and a poll token, the next poll due within the
next minutes). Migration 0010's triggers keep the in-flight shards by row; seeding bypasses
them (one counter update per row would queue 100,000 versions of one row) and recounts
the user's in-flight jobs afterwards, so the counter matches the rows as the triggers keep it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from providers.catalogue import BY_KEY, IMAGE_TO_VIDEO, TEXT_TO_VIDEO

# Share of jobs (percent) per (provider, mode); sums to 100, one slot each.
MIX: Mapping[tuple[str, str], int] = {
    ("piapi_hunyuan_fast", TEXT_TO_VIDEO): 40,
    ("piapi_hunyuan_fast", IMAGE_TO_VIDEO): 10,
    ("piapi_wanx_1.3b", TEXT_TO_VIDEO): 15,
    ("piapi_wanx_1.3b", IMAGE_TO_VIDEO): 5,
    ("piapi_wanx_14b", TEXT_TO_VIDEO): 5,
    ("piapi_wanx_14b", IMAGE_TO_VIDEO): 5,
    ("piapi_luma", TEXT_TO_VIDEO): 12,
    ("piapi_luma", IMAGE_TO_VIDEO): 8,
}
# Finished jobs' endings (percent): the rest completed.
FAILED_PCT, CANCELED_PCT = 7, 3
CAMPAIGNS = 12  # campaign ids 1..12; one job in four has none
HISTORY_DAYS = 180
IN_FLIGHT_SHARE = 0.1  # at 1M rows, 100,000 in flight


@dataclass(frozen=True, slots=True)
class Variant:
    """One (provider, mode) the mix draws, with what the API would store for it."""

    slot: int
    provider: str
    mode: str
    model_name: str
    task_type: str
    cost: Decimal
    runtime_s: int


def variants(mix: Mapping[tuple[str, str], int] = MIX) -> list[Variant]:
    """One Variant per percentage point of the mix (slots 0..99), from the real catalogue."""
    if sum(mix.values()) != 100:
        raise ValueError(f"the mix must sum to 100, not {sum(mix.values())}")
    found: list[Variant] = []
    for (key, mode), weight in mix.items():
        model = BY_KEY[key]
        spec = model.modes[mode]
        clip = model.clip_lengths_s[0]
        for _ in range(weight):
            found.append(
                Variant(
                    len(found),
                    key,
                    mode,
                    spec.model_name,
                    spec.task_type,
                    model.cost_for(mode, clip),
                    model.runtime_for(mode),
                )
            )
    return found


def in_flight_for(rows: int) -> int:
    """How many of a history of `rows` jobs are in flight (the newest ones)."""
    return int(rows * IN_FLIGHT_SHARE)


# Columns both kinds of row set; the SELECTs below give them in this order.
_COLUMNS = """
    id, user_id, campaign_id, task_id, provider, model_name, task_type, generation_mode,
    prompt, script, style, aspect_ratio, image_url, requested_duration, actual_duration,
    video_url, thumbnail_url, video_width, video_height, status, progress, cost,
    created_at, started_at, completed_at, error_message, error_code, phase, poll_token,
    next_poll_at, poll_count, submit_attempts, deadline_at, updated_at, provider_response,
    storage_state, stored_files
"""

# Ids are given, rising with created_at as the API's would, so rows need not be inserted
# in order (no sort of a million wide rows); the id sequence is moved past them after.
# Each row draws its random numbers once (OFFSET 0 keeps the subquery from being
# flattened, so the volatile random() is evaluated once per row, not once per use).
_DRAWS = """
    SELECT n, floor(random() * 100)::int AS slot, random() AS ending, random() AS r,
           floor(random() * 1000)::int AS spread
    FROM generate_series(1, :count) AS n OFFSET 0
"""

_COMMON = """
    :first_id + d.n - 1, :user_id,
    CASE WHEN d.n % 4 = 0 THEN NULL ELSE 1 + d.spread % :campaigns END,
    :prefix || d.n,
    v.provider, v.model_name, v.task_type, v.mode,
    'social. Duration: 5s. Script: scene ' || d.n || ', a product shot at golden hour',
    'scene ' || d.n || ', a product shot at golden hour',
    'social', '16:9',
    CASE WHEN v.mode = 'image_to_video'
         THEN 'https://images.example.com/campaign/' || d.spread || '.png' END,
    5, 5
"""

_TERMINAL = f"""
INSERT INTO video_generations ({_COLUMNS})
SELECT {_COMMON},
    CASE WHEN e.status = 'completed' THEN 'https://img.theapi.app/' || d.n || '.mp4' END,
    CASE WHEN e.status = 'completed' THEN 'https://img.theapi.app/' || d.n || '.jpg' END,
    CASE WHEN e.status = 'completed' THEN 1280 END,
    CASE WHEN e.status = 'completed' THEN 720 END,
    e.status,
    CASE WHEN e.status = 'completed' THEN 100 ELSE (d.spread % 90) END,
    v.cost,
    t.created, t.created + interval '2 seconds',
    t.created + make_interval(secs => v.runtime_s * (0.5 + d.r)),
    CASE WHEN e.status = 'failed' THEN 'The provider reported the task failed.' END,
    CASE WHEN e.status = 'failed'
         THEN CASE WHEN d.spread % 5 = 0 THEN 'timeout' ELSE 'provider_failed' END END,
    'done', NULL, NULL, 1 + d.spread % 8, 1,
    t.created + interval '20 minutes',
    t.created + make_interval(secs => v.runtime_s * (0.5 + d.r)),
    jsonb_build_object(
        'task_id', :prefix || d.n, 'model', v.model_name, 'task_type', v.task_type,
        'status', e.status,
        'output', jsonb_build_object('video_url', 'https://img.theapi.app/' || d.n || '.mp4'),
        'meta', jsonb_build_object('usage', jsonb_build_object('type', 'point', 'frozen',
            (v.cost * 10000000)::bigint, 'consume', (v.cost * 10000000)::bigint))),
    CASE WHEN e.status = 'completed' THEN 'stored' END,
    CASE WHEN e.status = 'completed' THEN jsonb_build_object(
        'video', jsonb_build_object('key', 'videos/' || d.n || '/video.mp4',
            'size', 2000000 + d.spread * 1000, 'sha256', md5(d.n::text) || md5(d.slot::text),
            'content_type', 'video/mp4', 'made_by_us', false),
        'thumbnail', jsonb_build_object('key', 'videos/' || d.n || '/thumbnail.jpg',
            'size', 40000 + d.spread, 'sha256', md5(d.spread::text) || md5(d.n::text),
            'content_type', 'image/jpeg', 'made_by_us', false)) END
FROM ({_DRAWS}) AS d
JOIN scale_variants AS v ON v.slot = d.slot
CROSS JOIN LATERAL (SELECT CASE
    WHEN d.ending * 100 < :failed THEN 'failed'
    WHEN d.ending * 100 < :failed + :canceled THEN 'canceled'
    ELSE 'completed' END AS status) AS e
CROSS JOIN LATERAL (SELECT :oldest + (:newest - :oldest) * (d.n::float8 / :count)
    AS created) AS t
"""

_IN_FLIGHT = f"""
INSERT INTO video_generations ({_COLUMNS})
SELECT {_COMMON},
    NULL, NULL, NULL, NULL, 'processing', d.spread % 90, v.cost,
    t.created, t.created + interval '2 seconds', NULL, NULL, NULL,
    'polling', gen_random_uuid(), :now + make_interval(secs => :poll_from + :poll_span * d.r),
    1 + d.spread % 8, 1,
    t.created + interval '1 hour', t.created, NULL, NULL, NULL
FROM ({_DRAWS}) AS d
JOIN scale_variants AS v ON v.slot = d.slot
CROSS JOIN LATERAL (SELECT :oldest + (:newest - :oldest) * (d.n::float8 / :count)
    AS created) AS t
"""

# The table's indexes that back no constraint (the primary key and task_id's unique stay).
_PLAIN_INDEXES = text(
    "SELECT indexname, indexdef FROM pg_indexes AS i"
    " WHERE schemaname = current_schema() AND tablename = 'video_generations'"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)"
)

# The user's in-flight counts, as the API's requests would have left them (migration
# 0010's shards): the jobs spread over the shards, each shard counting its own.
_RECOUNT = (
    "UPDATE video_generations SET in_flight_shard = id % 16"
    " WHERE user_id = :user_id AND status = 'processing'",
    "INSERT INTO user_in_flight_shards (user_id, shard, count)"
    " SELECT :user_id, s, 0 FROM generate_series(0, 15) AS s ON CONFLICT DO NOTHING",
    "UPDATE user_in_flight_shards AS sh SET count = (SELECT count(*) FROM video_generations"
    " AS j WHERE j.user_id = sh.user_id AND j.status = 'processing'"
    " AND j.in_flight_shard = sh.shard) WHERE sh.user_id = :user_id",
)
_SUM = text("SELECT coalesce(sum(count), 0) FROM user_in_flight_shards WHERE user_id = :user_id")


def recount(conn: Connection, user_id: int) -> int:
    """Set the user's in-flight shards from the rows (seeding bypasses the triggers)."""
    for statement in _RECOUNT:
        conn.execute(text(statement), {"user_id": user_id})
    return int(conn.execute(_SUM, {"user_id": user_id}).scalar_one())


def seed_history(
    engine: Engine,
    user_id: int,
    rows: int,
    *,
    now: dt.datetime,
    poll_window_s: tuple[float, float] = (240, 840),
) -> dict[str, int]:
    """rows jobs of user_id (in_flight_for(rows) of them polling); counts by status."""
    in_flight = in_flight_for(rows)
    finished = rows - in_flight
    with engine.begin() as conn:
        # Set-based, without the per-row counter triggers; recounted below.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SELECT setseed(0.14)"))
        _variant_table(conn)
        first = conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM video_generations"))
        first_id = int(first.scalar_one())
        common = {"user_id": user_id, "campaigns": CAMPAIGNS}
        # Indexes are built once after the rows (a sort each), not row by row; the
        # definitions are read back from the catalogue, so the schema is the migrations'.
        indexes = conn.execute(_PLAIN_INDEXES).all()
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(
            text(_TERMINAL),
            common
            | {
                "count": finished,
                "first_id": first_id,
                "prefix": "scale-",
                "failed": FAILED_PCT,
                "canceled": CANCELED_PCT,
                "oldest": now - dt.timedelta(days=HISTORY_DAYS),
                "newest": now - dt.timedelta(minutes=30),
            },
        )
        conn.execute(
            text(_IN_FLIGHT),
            common
            | {
                "count": in_flight,
                "first_id": first_id + finished,
                "prefix": "scale-live-",
                "now": now,
                "poll_from": poll_window_s[0],
                "poll_span": poll_window_s[1] - poll_window_s[0],
                "oldest": now - dt.timedelta(minutes=20),
                "newest": now,
            },
        )
        for _, definition in indexes:
            conn.execute(text(definition))
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('video_generations', 'id'),"
                " (SELECT max(id) FROM video_generations))"
            )
        )
        counted = recount(conn, user_id)
        by_status = {
            str(status): int(count)
            for status, count in conn.execute(
                text("SELECT status, count(*) FROM video_generations GROUP BY status")
            )
        }
    if counted != in_flight:
        raise RuntimeError(f"in_flight counter {counted}, but {in_flight} rows are processing")
    return by_status


def finish_oldest_in_flight(engine: Engine, user_id: int, count: int) -> int:
    """Complete the user's `count` oldest in-flight jobs; their in-flight count after."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text(
                "UPDATE video_generations SET status = 'completed', phase = 'done',"
                " progress = 100, completed_at = now(), updated_at = now(),"
                " next_poll_at = NULL, poll_token = NULL"
                " WHERE id IN (SELECT id FROM video_generations"
                "  WHERE user_id = :user_id AND status = 'processing' ORDER BY id LIMIT :count)"
            ),
            {"user_id": user_id, "count": count},
        )
        return recount(conn, user_id)


def _variant_table(conn: Connection) -> None:
    conn.execute(
        text(
            "CREATE TEMP TABLE scale_variants (slot int PRIMARY KEY, provider text, mode text,"
            " model_name text, task_type text, cost numeric(10, 4), runtime_s int)"
            " ON COMMIT DROP"
        )
    )
    conn.execute(
        text(
            "INSERT INTO scale_variants VALUES"
            " (:slot, :provider, :mode, :model_name, :task_type, :cost, :runtime_s)"
        ),
        [
            {
                "slot": v.slot,
                "provider": v.provider,
                "mode": v.mode,
                "model_name": v.model_name,
                "task_type": v.task_type,
                "cost": v.cost,
                "runtime_s": v.runtime_s,
            }
            for v in variants()
        ],
    )
