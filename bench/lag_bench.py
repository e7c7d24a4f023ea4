"""Detection lag and PiAPI calls per job: the spec's fixed 30 s policy, ours, ours + webhooks.

The three run at once on one sandbox, each with its own database, broker db, API and
workers, and get the same workload (same models, same submission times). Task durations
are PiAPI's observed ones (providers/sandbox/rules.py RUNTIME_S) times lag_time_scale,
each drawn within +/- 25 %, so the run fits the budget. The fixed policy is not scaled;
the adaptive one plans with the scaled runtimes. Lag is reported in real seconds: from
the sandbox's end time of the task to our job's completed_at.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import func, select

from bench.common import GENERATE_BODY, BenchConfig, say, service_env, wait_for
from bench.report import Figure, Target, percentile
from bench.stack import Stack, free_port, wait_http
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory
from models.jobs import Job, Phase

# One request per model family, as the selection rule picks them (README: Providers).
WORKLOAD = {
    "hunyuan-fast": {"duration": 5},
    "wanx-1.3b": {"duration": 30},
    "luma": {"duration": 5, "provider": "piapi_luma"},
    "wanx-14b": {"duration": 90},
}
LONGEST_RUNTIME_S = 480  # WanX 14b
WEBHOOK_SECRET = "bench-webhook-secret"
# PiAPI's runtimes vary (REFERENCE.md: Kling took 1.5 to 8.5 minutes); with every task of
# a model taking exactly as long, a fixed policy's lag would depend only on how that
# runtime falls between its polls.
RUNTIME_SPREAD = 0.25


def _configs(cfg: BenchConfig) -> dict[str, dict[str, str]]:
    # The adaptive policy plans with the models' runtimes times POLL_RUNTIME_SCALE, which
    # follows SANDBOX_TIME_SCALE: it knows the scaled runtimes as it knows PiAPI's real ones.
    scale = {"SANDBOX_TIME_SCALE": str(cfg.lag_time_scale)}
    return {
        "fixed": {"POLL_POLICY": "fixed", "POLL_INTERVAL_SECONDS": str(cfg.lag_fixed_interval_s)},
        "adaptive": {"POLL_POLICY": "adaptive", **scale},
        "webhooks": {"POLL_POLICY": "adaptive", "PIAPI_WEBHOOK_SECRET": WEBHOOK_SECRET, **scale},
    }


def run(stack: Stack, cfg: BenchConfig) -> tuple[list[Figure], dict[str, Any]]:
    from bench.common import start_sandbox

    sandbox_url = start_sandbox(stack, "sandbox-lag", cfg.lag_time_scale, spread=RUNTIME_SPREAD)
    stacks = {}
    for n, (name, extra) in enumerate(_configs(cfg).items()):
        stacks[name] = _start(stack, name, extra, sandbox_url, broker_db=3 + n)
    spread_s = 3 if cfg.quick else 10
    rng = random.Random(5)
    plan = sorted(
        (rng.uniform(0, spread_s), model)
        for model in WORKLOAD
        for _ in range(cfg.lag_jobs_per_model)
    )
    say(f"lag: {len(plan)} jobs per policy over {spread_s}s, task durations x{cfg.lag_time_scale}")
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=12) as pool:
        for at, model in plan:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            for s in stacks.values():
                pool.submit(_submit, s, model)
    timeout = LONGEST_RUNTIME_S * cfg.lag_time_scale + 2 * cfg.lag_fixed_interval_s + 90
    for name, s in stacks.items():
        wait_for(
            lambda s=s: _all_ended(s), timeout_s=timeout, every_s=1, what=f"{name} jobs to end"
        )
    truth = {
        t["task_id"]: t
        for t in requests.get(f"{sandbox_url}/sandbox/tasks", timeout=60).json()["tasks"]
    }
    results = {name: _measure(s, truth) for name, s in stacks.items()}
    for s in stacks.values():
        for proc in s["procs"]:
            stack.stop(proc)
    return _figures(results), {
        "time_scale": cfg.lag_time_scale,
        "runtime_spread": RUNTIME_SPREAD,
        "spread_s": spread_s,
        **results,
    }


def _start(
    stack: Stack, name: str, extra: dict[str, str], sandbox_url: str, broker_db: int
) -> dict[str, Any]:
    database_url = stack.database(f"bench_lag_{name}")
    port = free_port()
    env = service_env(
        stack,
        database_url=database_url,
        broker_url=stack.redis_url(broker_db),
        sandbox_url=sandbox_url,
    )
    env |= {"API_PORT": str(port), "API_WORKERS": "1", **extra}
    if "PIAPI_WEBHOOK_SECRET" in extra:
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        key = issue_key(session, ensure_user(session, 1, "enterprise"), name="bench").secret
    procs = [stack.start(f"lag-{name}-{p}", p, env) for p in ("api", "submit", "poll")]
    api = f"http://127.0.0.1:{port}"
    wait_http(f"{api}/healthz", timeout_s=60, proc=procs[0].popen)
    return {"api": api, "key": key, "engine": engine, "procs": procs, "models": {}}


def _submit(s: dict[str, Any], model: str) -> None:
    body = {**GENERATE_BODY, **WORKLOAD[model], "script": f"bench lag {model}"}
    resp = requests.post(
        f"{s['api']}/api/video/generate",
        json=body,
        headers={"Authorization": f"Bearer {s['key']}"},
        timeout=30,
    )
    resp.raise_for_status()
    s["models"][int(resp.json()["video_id"])] = model


def _all_ended(s: dict[str, Any]) -> bool:
    with s["engine"].connect() as conn:
        return conn.execute(select(func.count()).where(Job.phase != Phase.DONE)).scalar_one() == 0


def _when(stamp: str) -> dt.datetime:
    # The sandbox writes PiAPI's nanoseconds; Python reads microseconds.
    return dt.datetime.fromisoformat(stamp[:26] + "+00:00")


def _measure(s: dict[str, Any], truth: dict[str, dict[str, Any]]) -> dict[str, Any]:
    with s["engine"].connect() as conn:
        rows = conn.execute(select(Job.id, Job.task_id, Job.status, Job.completed_at)).all()
    lags, calls, by_model = [], [], defaultdict(list)
    not_completed = 0
    for job_id, task_id, status, completed_at in rows:
        task = truth.get(task_id or "")
        if status != "completed" or task is None:
            not_completed += 1
            continue
        lag = (completed_at - _when(task["ends_at"])).total_seconds()
        lags.append(lag)
        calls.append(task["polls"])
        by_model[s["models"].get(job_id, "?")].append((lag, task["polls"]))
    return {
        "jobs": len(rows),
        "not_completed": not_completed,
        "lag_p50_s": round(percentile(lags, 50), 3),
        "lag_p95_s": round(percentile(lags, 95), 3),
        "lag_p99_s": round(percentile(lags, 99), 3),
        "lag_max_s": round(max(lags, default=float("nan")), 3),
        "calls_per_job_mean": round(sum(calls) / len(calls), 3) if calls else float("nan"),
        "calls_per_job_max": max(calls, default=0),
        "by_model": {
            m: {
                "jobs": len(v),
                "lag_p95_s": round(percentile([x for x, _ in v], 95), 3),
                "calls_mean": round(sum(c for _, c in v) / len(v), 2),
            }
            for m, v in sorted(by_model.items())
        },
    }


def _figures(r: dict[str, dict[str, Any]]) -> list[Figure]:
    fixed, ours, hooks = r["fixed"], r["adaptive"], r["webhooks"]
    return [
        Figure(
            "lag_p95_polling_s",
            "detection lag p95, polling only",
            ours["lag_p95_s"],
            fixed["lag_p95_s"],
            "s",
            Target("<=", 5),
        ),
        Figure(
            "lag_p50_polling_s",
            "detection lag p50, polling only",
            ours["lag_p50_s"],
            fixed["lag_p50_s"],
            "s",
        ),
        Figure(
            "calls_per_job_polling",
            "PiAPI calls per job, polling only (mean)",
            ours["calls_per_job_mean"],
            fixed["calls_per_job_mean"],
            "calls",
            Target("ratio<=", 2),
        ),
        Figure(
            "lag_p99_webhooks_s",
            "detection lag p99, with webhooks",
            hooks["lag_p99_s"],
            fixed["lag_p99_s"],
            "s",
            Target("<=", 1),
        ),
        Figure(
            "polls_per_job_webhooks",
            "PiAPI polls per job, with webhooks (max)",
            hooks["calls_per_job_max"],
            fixed["calls_per_job_max"],
            "calls",
            Target("<=", 2),
        ),
    ]
