"""In-flight scale: what each job waiting for its next poll costs the poll worker and the broker.

In-flight jobs are made cheaply: rows inserted in bulk already `polling` (a task id and a
poll token), and one poll_job message each published with a long countdown, exactly the
message submit_job sends after a create. Nothing is due during the phase, so what is
measured is only what waiting costs: the poll worker's resident memory (VmRSS) before and
after, and the broker's memory (Redis used_memory; RabbitMQ's per-queue memory).
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import redis

from bench import seed
from bench.common import BenchConfig, publish, say, service_env, wait_for
from bench.report import Figure, Target, percentile
from bench.stack import Stack, rss_bytes, wait_log
from models.accounts import ensure_user
from models.db import make_engine, make_session_factory

COUNTDOWN_S = 1800  # far beyond the phase: no poll comes due while it is measured
VHOST = "bench"
MB = 1024 * 1024


def run(stack: Stack, cfg: BenchConfig, sandbox_url: str) -> tuple[list[Figure], dict[str, Any]]:
    redis_part = _redis(stack, cfg, sandbox_url)
    rabbit_part = _rabbit(stack, cfg, sandbox_url)
    figures = [
        Figure(
            "redis_worker_bytes_per_job",
            "poll worker memory per in-flight job, Redis",
            redis_part["worker_growth_bytes"] / max(redis_part["held_by_worker"], 1) / 1024,
            redis_part["worker_rss_before_bytes"] / MB,
            "KiB",
            Target("measured"),
            note="baseline: the idle worker's RSS",
            baseline_unit="MiB",
        ),
        Figure(
            "redis_broker_bytes_per_job",
            "Redis memory per in-flight job",
            redis_part["broker_growth_bytes"] / redis_part["jobs"] / 1024,
            redis_part["broker_before_bytes"] / MB,
            "KiB",
            Target("measured"),
            note="baseline: Redis used_memory before",
            baseline_unit="MiB",
        ),
    ]
    if rabbit_part is not None:
        figures += [
            Figure(
                "rabbit_worker_growth_mb",
                f"poll worker memory growth, {rabbit_part['jobs']:,} in flight, RabbitMQ",
                rabbit_part["worker_growth_bytes"] / MB,
                rabbit_part["worker_rss_before_bytes"] / MB,
                "MiB",
                Target("<", 50),
                note="baseline: the idle worker's RSS",
            ),
            Figure(
                "rabbit_broker_bytes_per_job",
                "RabbitMQ queue memory per in-flight job",
                rabbit_part["broker_growth_bytes"] / rabbit_part["jobs"] / 1024,
                rabbit_part["broker_before_bytes"] / MB,
                "KiB",
                Target("measured"),
                note="baseline: the vhost's queue memory before",
                baseline_unit="MiB",
            ),
            Figure(
                "in_flight_check_ms",
                f"generate's in-flight check, {rabbit_part['jobs']:,} in flight",
                rabbit_part["in_flight_check_ms"]["all"],
                rabbit_part["in_flight_check_ms"]["none"],
                "ms",
                note="baseline: the same check with no job in flight",
            ),
        ]
    return figures, {"redis": redis_part, "rabbitmq": rabbit_part}


def _in_flight_check_ms(database_url: str) -> float:
    """Median time of generate's in-flight check (reserve one of the user's shards) for user 1."""
    from models.in_flight import reserve
    from models.tiers import TIERS

    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        ensure_user(session, 1, "enterprise")
    took = []
    for _ in range(7):
        with sessions() as session:
            t0 = time.perf_counter()
            reserve(session, 1, TIERS["enterprise"].max_in_flight)
            took.append((time.perf_counter() - t0) * 1000)
            session.rollback()
    engine.dispose()
    return percentile(took, 50)


def _settled_rss(pid: int) -> int:
    """RSS once it stops moving (two readings a second apart within 1%)."""
    last = rss_bytes(pid)
    for _ in range(30):
        time.sleep(1)
        now = rss_bytes(pid)
        if abs(now - last) <= 0.01 * last:
            return now
        last = now
    return last


def _redis(stack: Stack, cfg: BenchConfig, sandbox_url: str) -> dict[str, Any]:
    database_url = stack.database("bench_inflight_redis")
    broker_url = stack.redis_url(6)
    env = service_env(
        stack, database_url=database_url, broker_url=broker_url, sandbox_url=sandbox_url
    )
    broker = redis.Redis.from_url(broker_url)
    worker = stack.start("inflight-redis-poll", "poll", env)
    wait_log(worker, r"ready")
    pid = worker.popen.pid
    rss0, mem0 = _settled_rss(pid), broker.info("memory")["used_memory"]
    jobs = seed.polling_jobs(make_engine(database_url), cfg.redis_inflight)
    took = publish(
        env,
        "workers.tasks.poll_job",
        "poll",
        [list(j) for j in jobs],
        countdown_s=COUNTDOWN_S,
        processes=2,
    )
    limit = _eta_limit()
    wait_for(
        lambda: broker.llen("poll") == 0 or broker.hlen("unacked") >= limit,
        timeout_s=300,
        every_s=0.5,
        what="the poll worker to take its countdown messages",
    )
    rss1 = _settled_rss(pid)
    held = broker.hlen("unacked")
    mem1 = broker.info("memory")["used_memory"]
    stack.stop(worker)
    broker.flushdb()
    say(f"inflight: redis {len(jobs)} jobs, worker holds {held}, RSS +{(rss1 - rss0) / MB:.1f} MiB")
    return {
        "jobs": len(jobs),
        "held_by_worker": held,
        "left_in_broker_queue": len(jobs) - held,
        "worker_eta_task_limit": limit,
        "publish_s": round(took, 1),
        "worker_rss_before_bytes": rss0,
        "worker_rss_after_bytes": rss1,
        "worker_growth_bytes": rss1 - rss0,
        "broker_before_bytes": mem0,
        "broker_after_bytes": mem1,
        "broker_growth_bytes": mem1 - mem0,
    }


def _eta_limit() -> int:
    import celeryconfig

    return int(getattr(celeryconfig, "worker_eta_task_limit", 0) or 10**9)


def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def _queues() -> list[dict[str, Any]]:
    out = _rabbitmqctl(
        "list_queues", "-p", VHOST, "name", "messages", "memory", "type", "--formatter", "json"
    )
    return json.loads(out)


def _wait_unacked_settles() -> None:
    """Until the worker stops taking messages (the unacknowledged count holds for 3 s)."""
    last, steady_since = -1, time.monotonic()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        now = sum(q.get("messages_unacknowledged", 0) for q in _queues())
        if now != last:
            last, steady_since = now, time.monotonic()
        elif time.monotonic() - steady_since >= 3:
            return
        time.sleep(0.5)


def _rabbit(stack: Stack, cfg: BenchConfig, sandbox_url: str) -> dict[str, Any] | None:
    try:
        subprocess.run(["rabbitmqctl", "delete_vhost", VHOST], capture_output=True, timeout=120)
        _rabbitmqctl("add_vhost", VHOST)
        _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError) as exc:
        say(f"inflight: RabbitMQ skipped ({exc})")
        return None
    try:
        database_url = stack.database("bench_inflight_rabbit")
        env = service_env(
            stack,
            database_url=database_url,
            broker_url=f"{cfg.rabbit_url}/{VHOST}",
            sandbox_url=sandbox_url,
        )
        worker = stack.start("inflight-rabbit-poll", "poll", env)
        wait_log(worker, r"ready")
        pid = worker.popen.pid
        rss0 = _settled_rss(pid)
        mem0 = sum(q.get("memory", 0) for q in _queues())
        check0 = _in_flight_check_ms(database_url)
        jobs = seed.polling_jobs(make_engine(database_url), cfg.rabbit_inflight)
        check1 = _in_flight_check_ms(database_url)
        # Confirmed publishing waits on the quorum queue's log for each message: more
        # publishers at once let it confirm them in batches.
        took = publish(
            env,
            "workers.tasks.poll_job",
            "poll",
            [list(j) for j in jobs],
            countdown_s=COUNTDOWN_S,
            processes=8,
        )
        wait_for(
            lambda: sum(q.get("messages", 0) for q in _queues()) >= len(jobs),
            timeout_s=300,
            every_s=2,
            what="RabbitMQ to hold every countdown message",
        )
        _wait_unacked_settles()
        rss1 = _settled_rss(pid)
        queues = _queues()
        mem1 = sum(q.get("memory", 0) for q in queues)
        stack.stop(worker)
        say(f"inflight: rabbitmq {len(jobs)} jobs, worker RSS +{(rss1 - rss0) / MB:.1f} MiB")
        return {
            "jobs": len(jobs),
            "publish_s": round(took, 1),
            "worker_rss_before_bytes": rss0,
            "worker_rss_after_bytes": rss1,
            "worker_growth_bytes": rss1 - rss0,
            "in_flight_check_ms": {"none": round(check0, 2), "all": round(check1, 2)},
            "held_by_worker": sum(q.get("messages_unacknowledged", 0) for q in queues),
            "broker_before_bytes": mem0,
            "broker_after_bytes": mem1,
            "broker_growth_bytes": mem1 - mem0,
            "queues": [q for q in queues if q.get("messages")],
        }
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", VHOST], capture_output=True, timeout=120)
