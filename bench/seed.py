"""Jobs made in bulk, straight in the database, for phases that do not measure the API."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import Engine

# Every column the real API sets for a Hunyuan fast text-to-video request.
_COLUMNS = """
    user_id, provider, model_name, task_type, generation_mode, prompt, script, style,
    aspect_ratio, requested_duration, actual_duration, cost, status, phase, progress,
    created_at, updated_at, deadline_at
"""
_VALUES = """
    1, 'piapi_hunyuan_fast', 'hunyuan-fast', 'fast-txt2video', 'text_to_video',
    'bench job ' || n, 'bench job ' || n, 'social', '16:9', 5, 5, 0.03, 'processing',
    'queued', 0, now(), now(), now() + interval '1 day'
"""


def queued_jobs(engine: Engine, count: int) -> list[int]:
    """count jobs just accepted (phase queued), as POST /generate leaves them; their ids."""
    with engine.begin() as conn:
        return list(
            conn.execute(
                text(
                    f"INSERT INTO video_generations ({_COLUMNS}) "
                    f"SELECT {_VALUES} FROM generate_series(1, :count) AS n RETURNING id"
                ),
                {"count": count},
            ).scalars()
        )


def polling_jobs(engine: Engine, count: int) -> list[tuple[int, str]]:
    """count jobs PiAPI has (phase polling, a task id and a poll token); (id, token) pairs."""
    values = _VALUES.replace("'queued'", "'polling'")
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                f"INSERT INTO video_generations ({_COLUMNS}, task_id, poll_token, started_at) "
                f"SELECT {values}, 'bench-' || n || '-' || :salt, gen_random_uuid(), now() "
                "FROM generate_series(1, :count) AS n RETURNING id, poll_token"
            ),
            {"count": count, "salt": uuid.uuid4().hex[:8]},
        ).all()
    return [(job_id, str(token)) for job_id, token in rows]
