"""API phase: generate and status against the minimal baseline app, workers stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select

from bench import load
from bench.common import GENERATE_BODY, BenchConfig, say, service_env
from bench.profile import summarise
from bench.report import Figure, Target
from bench.stack import Stack, free_port, wait_http
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory
from models.jobs import Job
from tests.stack import VENV_BIN

WARMUP_S = 2
# py-spy is optional (pip install py-spy): with it, the real API is profiled after it is measured.
PY_SPY = shutil.which("py-spy", path=f"{VENV_BIN}:{os.environ.get('PATH', '')}")


def run(
    stack: Stack, cfg: BenchConfig, sandbox_url: str, out_dir: Path
) -> tuple[list[Figure], dict[str, Any]]:
    """Measure both apps the same way, one after the other, each on a fresh database."""
    sides = {}
    for side, app in (("ours", "wsgi:app"), ("baseline", "bench.baseline_app:app")):
        say(f"api: {side} ({app})")
        sides[side] = _measure(stack, cfg, sandbox_url, side, app, out_dir)
    ours, base = sides["ours"], sides["baseline"]
    figures = [
        Figure(
            "generate_rps",
            "POST /generate throughput (16 conn.)",
            ours["generate"].rps,
            base["generate"].rps,
            "req/s",
            Target("ratio>=", 0.7),
        ),
        Figure(
            "generate_p99_ms",
            "POST /generate p99 latency",
            ours["generate"].p99_ms,
            base["generate"].p99_ms,
            "ms",
            Target("<", 50),
        ),
        Figure(
            "generate_p50_ms",
            "POST /generate p50 latency",
            ours["generate"].p50_ms,
            base["generate"].p50_ms,
            "ms",
        ),
        Figure(
            "status_rps",
            "GET /status throughput (16 conn.)",
            ours["status"].rps,
            base["status"].rps,
            "req/s",
            Target("ratio>=", 0.8),
        ),
        Figure(
            "status_p99_ms",
            "GET /status p99 latency",
            ours["status"].p99_ms,
            base["status"].p99_ms,
            "ms",
        ),
        Figure(
            "status_p50_ms",
            "GET /status p50 latency",
            ours["status"].p50_ms,
            base["status"].p50_ms,
            "ms",
        ),
    ]
    details = {
        side: {
            name: {**vars(r), "rps": round(r.rps, 1)}
            for name, r in runs.items()
            if name != "profile"
        }
        | {"profile": runs.get("profile")}
        for side, runs in sides.items()
    }
    return figures, details


def _measure(
    stack: Stack, cfg: BenchConfig, sandbox_url: str, side: str, app: str, out_dir: Path
) -> dict[str, Any]:
    database_url = stack.database(f"bench_api_{side}")
    broker_db = 0 if side == "ours" else 1
    env = service_env(
        stack,
        database_url=database_url,
        broker_url=stack.redis_url(broker_db),
        sandbox_url=sandbox_url,
    )
    engine = make_engine(database_url)
    with make_session_factory(engine).begin() as session:
        # Enterprise: the in-flight cap (100,000) never refuses the bench's requests.
        key = issue_key(session, ensure_user(session, 1, "enterprise"), name="bench").secret
    port = free_port()
    env["API_PORT"] = str(port)
    proc = stack.start(f"api-{side}", "api", env, replace={"wsgi:app": app})
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz", timeout_s=60, proc=proc.popen)
    headers = {"Authorization": f"Bearer {key}"}
    generate = load.Load("/api/video/generate", headers, body=GENERATE_BODY)
    results: dict[str, Any] = {}
    try:
        load.run(base, generate, seconds=WARMUP_S)
        results["generate"] = load.run(base, generate, seconds=cfg.api_seconds)
        with engine.connect() as conn:
            lo, hi = conn.execute(select(func.min(Job.id), func.max(Job.id))).one()
        status = load.Load("/api/video/status/", headers, id_range=(lo, hi))
        load.run(base, status, seconds=WARMUP_S)
        results["status"] = load.run(base, status, seconds=cfg.api_seconds)
        if side == "ours" and PY_SPY:
            results["profile"] = _profile(proc.popen.pid, base, generate, status, out_dir=out_dir)
    finally:
        stack.stop(proc)
        engine.dispose()
        redis.Redis.from_url(stack.redis_url(broker_db)).flushdb()
    for name in ("generate", "status"):
        r = results[name]
        say(
            f"api: {side} {name}: {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, "
            f"p99 {r.p99_ms:.1f} ms, {r.errors} errors ({r.tool})"
        )
        if r.errors:
            raise RuntimeError(f"{side} {name}: {r.errors} requests failed; see logs")
    return results


def _profile(master_pid: int, base: str, *loads: load.Load, out_dir: Path) -> dict[str, Any]:
    """py-spy over one gunicorn worker while each load runs again; raw stacks saved."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    saved = {}
    for which in loads:
        name = "generate" if which.body else "status"
        path = out_dir / f"profile-{name}.txt"
        spy = subprocess.Popen(
            [
                PY_SPY,
                "record",
                "--pid",
                children[0],
                "--duration",
                "8",
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(path),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        load.run(base, which, seconds=8)
        spy.wait(timeout=60)
        saved[name] = {"raw": str(path), **summarise(path)} if path.exists() else None
    return saved
