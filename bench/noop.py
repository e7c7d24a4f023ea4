"""The workers' baseline: a Celery task that does nothing, on the same broker and pools.

Workers load it with `--include bench.noop`, so it runs in the very processes that run
submit_job and poll_job.
"""

from __future__ import annotations

from workers.celery_app import app


@app.task(name="bench.noop")
def noop(job_id: int) -> None:
    """Nothing: what a task costs the broker and the pool, and no more."""
    del job_id
