"""Workers phase: jobs through submit and polls, against no-op tasks on the same pools.

Both sides are measured the same way: messages are published while the workers are
stopped, then the submit and poll workers start together, and the clock runs from the
first message taken off the submit queue until the last job ended (ours) or both queues
and the unacknowledged set are empty (no-op). One task is counted per submit or poll.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select

from bench import seed
from bench.common import BenchConfig, publish, say, service_env, wait_for
from bench.profile import PY_SPY, record, saved
from bench.report import Figure, Target
from bench.stack import Stack, cpu_seconds
from models.db import make_engine
from models.jobs import Job, Phase

# BENCH_PROFILE_WORKERS=1: py-spy samples the submit and poll workers during our side
# (it costs CPU, so the figure of a profiled run is not the one to report).
PROFILE = os.environ.get("BENCH_PROFILE_WORKERS") == "1" and PY_SPY is not None
INCLUDE_NOOP = {"-A workers worker": "-A workers worker --include bench.noop"}


def run(
    stack: Stack, cfg: BenchConfig, sandbox_url: str, out_dir: Path
) -> tuple[list[Figure], dict[str, Any]]:
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
    cpu0 = _cpu(stack)
    spies = _profilers(stack, workers, out_dir) if PROFILE else []
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
    ours_cpu = _cpu_since(stack, cpu0)
    profiles = _stop_profilers(spies)
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
    cpu0 = _cpu(stack)
    wait_for(
        lambda: (
            broker.llen("submit") == 0 and broker.llen("poll") == 0 and not broker.hlen("unacked")
        ),
        timeout_s=600,
        every_s=0.01,
        what="the no-op tasks to drain",
    )
    noop_s = (dt.datetime.now(dt.UTC) - started).total_seconds()
    noop_cpu = _cpu_since(stack, cpu0)
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
        # Where the 2 cores went while each side ran (CPU seconds per process).
        "cpu_s_ours": ours_cpu,
        "cpu_s_noop": noop_cpu,
        "profile": profiles,
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


def _cpu(stack: Stack) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in stack.pids().items()}


def _cpu_since(stack: Stack, before: dict[str, float]) -> dict[str, float]:
    now = _cpu(stack)
    return {name: round(now[name] - before.get(name, 0.0), 2) for name in now if name in before}


def _profilers(stack: Stack, workers: list[Any], out_dir: Path) -> list[tuple[Any, Path]]:
    spies = []
    for proc in workers:
        path = out_dir / f"profile-{proc.name}.txt"
        spies.append(
            (record(proc.popen.pid, path, rate=100, duration_s=600, subprocesses=True), path)
        )
    return spies


def _stop_profilers(spies: list[tuple[Any, Path]]) -> dict[str, Any]:
    found = {}
    for spy, path in spies:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        spy.wait(timeout=60)
        found[path.stem] = saved(path)
    return found
