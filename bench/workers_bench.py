"""Workers phase: jobs through submit and polls, against no-op tasks on the same pools.

Both sides are measured the same way: messages are published while the workers are
stopped, then the submit and poll workers start together, and the clock runs from the
first message taken off the submit queue until the last job ended (ours) or both queues
and the unacknowledged set are empty (no-op). One task is counted per submit or poll.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import redis
from sqlalchemy import func, select

from bench import seed
from bench.common import BenchConfig, publish, say, service_env, wait_for
from bench.report import Figure, Target
from bench.stack import Stack
from models.db import make_engine
from models.jobs import Job, Phase

INCLUDE_NOOP = {"-A workers worker": "-A workers worker --include bench.noop"}


def run(stack: Stack, cfg: BenchConfig, sandbox_url: str) -> tuple[list[Figure], dict[str, Any]]:
    database_url = stack.database("bench_workers")
    broker_url = stack.redis_url(2)
    env = service_env(
        stack, database_url=database_url, broker_url=broker_url, sandbox_url=sandbox_url
    )
    env |= {"POLL_POLICY": "fixed", "POLL_INTERVAL_SECONDS": str(cfg.worker_poll_interval_s)}
    broker = redis.Redis.from_url(broker_url)
    engine = make_engine(database_url)

    ids = seed.queued_jobs(engine, cfg.worker_jobs)
    publish(env, "workers.tasks.submit_job", "submit", [[i] for i in ids])
    workers = _start_workers(stack, env)
    started = _first_taken(broker, "submit", len(ids))
    with engine.connect() as conn:

        def ended() -> bool:
            left = conn.execute(select(func.count()).where(Job.phase != Phase.DONE)).scalar_one()
            conn.rollback()
            return left == 0

        wait_for(ended, timeout_s=600, every_s=0.2, what="every bench job to end")
        last, polls, failed = conn.execute(
            select(
                func.max(Job.completed_at),
                func.sum(Job.poll_count),
                func.count().filter(Job.status != "completed"),
            )
        ).one()
    ours_s = (last - started).total_seconds()
    ours_tasks = len(ids) + int(polls)
    for proc in workers:
        stack.stop(proc)
    broker.flushdb()
    say(f"workers: ours {ours_tasks} tasks ({len(ids)} jobs, {failed} failed) in {ours_s:.1f}s")

    publish(env, "bench.noop", "submit", [[i] for i in ids])
    publish(env, "bench.noop", "poll", [[0]] * int(polls), processes=2)
    workers = _start_workers(stack, env)
    started = _first_taken(broker, "submit", len(ids))
    wait_for(
        lambda: (
            broker.llen("submit") == 0 and broker.llen("poll") == 0 and not broker.hlen("unacked")
        ),
        timeout_s=600,
        every_s=0.01,
        what="the no-op tasks to drain",
    )
    noop_s = (dt.datetime.now(dt.UTC) - started).total_seconds()
    for proc in workers:
        stack.stop(proc)
    broker.flushdb()
    say(f"workers: no-op {ours_tasks} tasks in {noop_s:.1f}s")

    figure = Figure(
        "worker_tasks_per_s",
        "worker tasks/s (submit + polls)",
        ours_tasks / ours_s,
        ours_tasks / noop_s,
        "tasks/s",
        Target("ratio>=", 0.5),
    )
    details = {
        "jobs": len(ids),
        "tasks": ours_tasks,
        "polls_per_job": round(int(polls) / len(ids), 2),
        "jobs_failed": failed,
        "jobs_per_s": round(len(ids) / ours_s, 1),
        "ours_s": round(ours_s, 2),
        "noop_s": round(noop_s, 2),
        "poll_policy": f"fixed every {cfg.worker_poll_interval_s} s",
        "sandbox_time_scale": cfg.worker_time_scale,
    }
    engine.dispose()
    return [figure], details


def _start_workers(stack: Stack, env: dict[str, str]) -> list[Any]:
    return [stack.start(name, name, env, replace=INCLUDE_NOOP) for name in ("submit", "poll")]


def _first_taken(broker: redis.Redis, queue: str, published: int) -> dt.datetime:
    """The moment a worker first takes a message off queue (checked every few ms)."""
    deadline = time.monotonic() + 120
    while broker.llen(queue) >= published:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no worker took from {queue}")
        time.sleep(0.002)
    return dt.datetime.now(dt.UTC)
