"""Fairness under PiAPI's plan limit: a second tenant behind 10,000 jobs of a first.

The sandbox allows PLAN_LIMIT tasks at once (SANDBOX_MAX_CONCURRENT_TASKS: a fifth create
is a 429) and a Hunyuan task lasts TASK_S; the stack runs with the same
PIAPI_MAX_CONCURRENT_TASKS. One tenant's 10,000 jobs are inserted waiting (as the API
leaves them) and nudged to start; once its first tasks are under way, another tenant sends
3 through the API. Measured: how long until the second tenant's first job starts and until
its 3 have completed, against one task length; the creates refused (429) meanwhile; and,
in this process, the fair pick and a waiting job's place in line at that backlog.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from sqlalchemy import select, text

from bench import seed
from bench.common import GENERATE_BODY, BenchConfig, publish, say, service_env, wait_for
from bench.report import Figure, Target, percentile
from bench.stack import Stack, free_port, wait_http
from models import budget, fair_share
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory, utcnow
from models.jobs import Job, Status

PLAN_LIMIT = 4
TIME_SCALE = 0.05  # Hunyuan's 60 s on PiAPI become 3 s
TASK_S = 60 * TIME_SCALE
BACKLOG, FEW = 10_000, 3
BROKER_DB = 8


def run(stack: Stack, cfg: BenchConfig) -> tuple[list[Figure], dict[str, Any]]:
    from bench.common import start_sandbox

    sandbox_url = start_sandbox(
        stack,
        "sandbox-fair",
        TIME_SCALE,
        env={"SANDBOX_MAX_CONCURRENT_TASKS": str(PLAN_LIMIT)},
    )
    database_url = stack.database("bench_fairness")
    port = free_port()
    env = service_env(
        stack,
        database_url=database_url,
        broker_url=stack.redis_url(BROKER_DB),
        sandbox_url=sandbox_url,
    )
    env |= {
        "PIAPI_MAX_CONCURRENT_TASKS": str(PLAN_LIMIT),
        "SANDBOX_TIME_SCALE": str(TIME_SCALE),  # the poll policy plans with these runtimes
        "POLL_MIN_INTERVAL_SECONDS": "0.3",
        "API_PORT": str(port),
        "API_WORKERS": "1",
    }
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        ensure_user(session, 1, "enterprise")
        key = issue_key(session, ensure_user(session, 2, "enterprise"), name="bench").secret
    seed.queued_jobs(engine, BACKLOG)  # user 1's backlog, waiting as the API leaves jobs
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        # What autovacuum does after that many inserts: statistics and the visibility map.
        conn.execute(text("VACUUM ANALYZE video_generations"))
    picks = _time_picks(sessions)
    procs = [stack.start(f"fair-{p}", p, env) for p in ("api", "submit", "poll")]
    try:
        api = f"http://127.0.0.1:{port}"
        wait_http(f"{api}/healthz", timeout_s=60, proc=procs[0].popen)
        publish(env, "workers.tasks.start_waiting", "submit", [[]] * PLAN_LIMIT)
        wait_for(
            lambda: _holding(sessions) == PLAN_LIMIT,
            timeout_s=120,
            what="the backlog's first tasks to start",
        )
        time.sleep(TASK_S / 3)  # the second tenant arrives while those run
        sent = utcnow()
        few = [_generate(api, key, n) for n in range(FEW)]
        wait_for(
            lambda: _all_completed(sessions, few),
            timeout_s=20 * TASK_S + 60,
            every_s=0.2,
            what="the second tenant's jobs",
        )
        refused = requests.get(f"{sandbox_url}/sandbox/tasks", timeout=30).json()[
            "refused_over_limit"
        ]
    finally:
        for proc in procs:
            stack.stop(proc)
    with sessions() as session:
        rows = session.execute(
            select(Job.started_at, Job.completed_at).where(Job.id.in_(few))
        ).all()
    engine.dispose()
    first_start_s = (min(r.started_at for r in rows) - sent).total_seconds()
    all_done_s = (max(r.completed_at for r in rows) - sent).total_seconds()
    say(
        f"fairness: behind {BACKLOG:,} waiting, the second tenant's first job started in "
        f"{first_start_s:.1f}s and its {FEW} completed in {all_done_s:.1f}s "
        f"(tasks {TASK_S:.0f}s, limit {PLAN_LIMIT}); {refused} creates refused"
    )
    details = {
        "plan_limit": PLAN_LIMIT,
        "task_s": TASK_S,
        "backlog": BACKLOG,
        "few": FEW,
        "first_start_s": round(first_start_s, 3),
        "all_done_s": round(all_done_s, 3),
        "refused_over_limit": refused,
        **picks,
    }
    return _figures(details), details


def _time_picks(sessions: Any) -> dict[str, float]:
    """The fair pick (read only) and the newest waiting job's place, at the full backlog."""
    with sessions() as session:
        session.execute(select(Job.id).limit(1))  # a warm connection
        took = []
        for _ in range(21):
            t0 = time.perf_counter()
            fair_share.next_job(session, limit=PLAN_LIMIT, now=utcnow())
            took.append((time.perf_counter() - t0) * 1000)
        newest = session.scalars(select(Job).order_by(Job.id.desc()).limit(1)).one()
        t0 = time.perf_counter()
        fair_share.place_in_line(session, newest, slots=PLAN_LIMIT)
        place_ms = (time.perf_counter() - t0) * 1000
    return {"pick_ms_p50": round(percentile(took, 50), 3), "place_newest_ms": round(place_ms, 3)}


def _holding(sessions: Any) -> int:
    with sessions() as session:
        return budget.slots_held(session, limit=PLAN_LIMIT)


def _generate(api: str, key: str, n: int) -> int:
    body = {**GENERATE_BODY, "script": f"bench fairness, the second tenant's job {n}"}
    resp = requests.post(
        f"{api}/api/video/generate",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    resp.raise_for_status()
    return int(resp.json()["video_id"])


def _all_completed(sessions: Any, ids: list[int]) -> bool:
    with sessions() as session:
        states = session.scalars(select(Job.status).where(Job.id.in_(ids))).all()
    if any(s not in (Status.PROCESSING, Status.COMPLETED) for s in states):
        raise RuntimeError(f"a second tenant's job did not complete: {states}")
    return all(s == Status.COMPLETED for s in states)


def _figures(d: dict[str, Any]) -> list[Figure]:
    behind = f"{d['backlog']:,} waiting ahead"
    return [
        Figure(
            "fair_first_start_s",
            f"second tenant's first job started, {behind}",
            d["first_start_s"],
            d["task_s"],
            "s",
            Target("ratio<=", 1.5),
            note="baseline: one task length",
        ),
        Figure(
            "fair_few_done_s",
            f"second tenant's {d['few']} jobs completed, {behind}",
            d["all_done_s"],
            d["task_s"],
            "s",
            Target("ratio<=", 2.5),
            note="baseline: one task length",
        ),
        Figure(
            "fair_refused_creates",
            f"creates refused by PiAPI's plan limit ({d['plan_limit']})",
            d["refused_over_limit"],
            0,
            "calls",
            Target("<=", 0),
        ),
        Figure(
            "fair_pick_ms",
            f"fair pick of the next job, {behind}",
            d["pick_ms_p50"],
            float("nan"),
            "ms",
            Target("measured"),
            note="median, read only; place in line of the newest: see details",
        ),
    ]
