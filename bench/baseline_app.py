"""The API's baseline: the least a generate or status endpoint can do, served the same way.

POST /api/video/generate is one INSERT of a job row and one enqueue of the submit
message; GET /api/video/status/<id> is one SELECT by primary key. No authentication,
validation, pricing or serialisation schema: the bench divides the real API's figures
by these, so the ratio is what everything else costs. Run as `gunicorn bench.baseline_app:app`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import text

from infra.messages import sender_app
from infra.settings import get_settings
from models.db import make_engine

# The same row the real API writes for the bench's body (Hunyuan fast, 5 s, text-to-video).
INSERT_JOB = text(
    """
    INSERT INTO video_generations (
        user_id, provider, model_name, task_type, generation_mode, prompt, script, style,
        aspect_ratio, requested_duration, actual_duration, cost, status, phase, progress,
        created_at, updated_at, deadline_at
    ) VALUES (
        1, 'piapi_hunyuan_fast', 'hunyuan-fast', 'fast-txt2video', :mode, :script, :script,
        :style, :ratio, :duration, 5, 0.03, 'processing', 'queued', 0,
        now(), now(), now() + interval '15 minutes'
    ) RETURNING id
    """
)
SELECT_JOB = text("SELECT * FROM video_generations WHERE id = :id")

app = Flask(__name__)
engine = make_engine(get_settings().database_url)
# The same sending-only Celery app the API uses (infra/messages.py).
celery_app = sender_app()


@app.post("/api/video/generate")
def generate() -> Any:
    body = request.get_json()
    with engine.begin() as conn:
        job_id = conn.execute(
            INSERT_JOB,
            {
                "mode": body["generation_mode"],
                "script": body["script"],
                "style": body.get("style", "marketing"),
                "ratio": body.get("aspect_ratio", "16:9"),
                "duration": body.get("duration", 5),
            },
        ).scalar_one()
    celery_app.send_task("workers.tasks.submit_job", (job_id,), queue="submit")
    return jsonify({"video_id": str(job_id), "status": "processing"}), 202


@app.get("/api/video/status/<int:video_id>")
def status(video_id: int) -> Any:
    with engine.connect() as conn:
        row = conn.execute(SELECT_JOB, {"id": video_id}).mappings().first()
    if row is None:
        return jsonify({"error": {"code": "not_found"}}), 404
    return jsonify({k: v if isinstance(v, int | str | None) else str(v) for k, v in row.items()})


@app.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}
