"""What every phase shares: the run's settings, process environments, publishing, waiting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stack import ROOT, Stack, free_port, wait_http
from tests.bodies import SPEC_T2V

# A Hunyuan fast text-to-video request, the spec's own example (the tests' body).
GENERATE_BODY = SPEC_T2V
# Every phase, in the order a full run takes them.
PHASES = ("api", "workers", "lag", "inflight", "scale", "fairness")


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of one run; BENCH_QUICK=1 shrinks them to iterate in about two minutes."""

    quick: bool
    api_seconds: float
    worker_jobs: int
    worker_poll_interval_s: float
    worker_time_scale: float
    lag_time_scale: float
    lag_jobs_per_model: int
    lag_fixed_interval_s: float
    redis_inflight: int
    rabbit_inflight: int
    rabbit_url: str
    scale_sizes: tuple[int, ...]
    scale_seconds: float
    phases: tuple[str, ...]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> BenchConfig:
        quick = env.get("BENCH_QUICK", "0") == "1"
        phases = env.get("BENCH_PHASES") or ",".join(PHASES)
        sizes = env.get("BENCH_SCALE_SIZES") or (
            "10000,100000" if quick else "10000,100000,1000000"
        )
        return cls(
            quick=quick,
            api_seconds=6 if quick else 30,
            worker_jobs=200 if quick else 2000,
            worker_poll_interval_s=0.5,
            worker_time_scale=0.02,
            lag_time_scale=float(env.get("BENCH_LAG_TIME_SCALE") or (0.05 if quick else 0.25)),
            lag_jobs_per_model=3 if quick else 10,
            lag_fixed_interval_s=30.0,
            redis_inflight=2000 if quick else 10_000,
            rabbit_inflight=5000 if quick else 100_000,
            rabbit_url=env.get("BENCH_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672"),
            scale_sizes=tuple(sorted(int(n) for n in sizes.split(",") if n.strip())),
            scale_seconds=4 if quick else 6,
            phases=tuple(p.strip() for p in phases.split(",") if p.strip()),
        )


def service_env(
    stack: Stack, *, database_url: str, broker_url: str, sandbox_url: str
) -> dict[str, str]:
    """The environment of API and worker processes for one phase."""
    data_dir = stack.work_dir / "data"
    data_dir.mkdir(exist_ok=True)
    # DATA_DIR itself is set per process by Stack.start.
    return {
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "PIAPI_API_KEY": "",
        "PIAPI_BASE_URL": sandbox_url,
        "SANDBOX_URL": sandbox_url,
        "STORAGE_URL": f"file://{data_dir / 'media'}",
    }


def start_sandbox(
    stack: Stack,
    name: str,
    time_scale: float,
    *,
    spread: float = 0.0,
    env: Mapping[str, str] | None = None,
) -> str:
    """A sandbox process (as the Procfile runs it) whose tasks last RUNTIME_S x time_scale,
    each drawn within +/- spread of that; env adds SANDBOX_* settings."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = stack.start(
        name,
        "sandbox",
        {
            "SANDBOX_PORT": str(port),
            "SANDBOX_TIME_SCALE": str(time_scale),
            "SANDBOX_RUNTIME_SPREAD": str(spread),
            "SANDBOX_URL": url,
            **(env or {}),
        },
    )
    wait_http(f"{url}/healthz", timeout_s=60, proc=proc.popen)
    return url


def publish(
    env: Mapping[str, str],
    task: str,
    queue: str,
    args_list: Sequence[Sequence[Any]],
    *,
    countdown_s: float = 0,
    processes: int = 1,
) -> float:
    """Send one message per args through Celery from child processes; seconds it took."""
    chunks = [args_list[i::processes] for i in range(processes)]
    started = time.monotonic()
    children = []
    for chunk in chunks:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(list(chunk), f)
        children.append(
            (
                subprocess.Popen(
                    [sys.executable, "-m", "bench.publish", task, queue, str(countdown_s), f.name],
                    cwd=ROOT,
                    env={**os.environ, **env},
                ),
                f.name,
            )
        )
    for child, path in children:
        if child.wait(timeout=600) != 0:
            raise RuntimeError(f"publishing {task} failed")
        Path(path).unlink()
    return time.monotonic() - started


def wait_for(check: Callable[[], Any], *, timeout_s: float, every_s: float = 0.1, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)  # noqa: T201 - progress of `make bench`
