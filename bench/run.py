"""`make bench`: start private servers, run each phase, write the report and print the table."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench import (
    api_bench,
    fairness_bench,
    inflight_bench,
    lag_bench,
    scale_bench,
    workers_bench,
)
from bench.common import BenchConfig, say, start_sandbox
from bench.report import Figure, table
from bench.stack import ROOT, Stack

OUT_DIR = ROOT / "artifacts" / "bench"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024**2, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit,
    }


def main() -> int:
    cfg = BenchConfig.from_env()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    started = time.monotonic()
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "mode": "quick" if cfg.quick else "full",
        "config": {k: v for k, v in vars(cfg).items() if k != "rabbit_url"},
        "logs": str(work_dir),
        "figures": [],
        "details": {},
        "errors": {},
    }
    figures: list[Figure] = []
    stack = Stack(work_dir)
    say(f"logs in {work_dir}")
    try:
        stack.start_servers()
        report["details"]["postgres"] = stack.pg_settings()
        say("postgres: " + ", ".join(f"{k} {v}" for k, v in report["details"]["postgres"].items()))
        sandbox_url = start_sandbox(stack, "sandbox-fast", cfg.worker_time_scale)
        phases = {
            "api": lambda: api_bench.run(stack, cfg, sandbox_url, OUT_DIR),
            "workers": lambda: workers_bench.run(stack, cfg, sandbox_url, OUT_DIR),
            "lag": lambda: lag_bench.run(stack, cfg),
            "inflight": lambda: inflight_bench.run(stack, cfg, sandbox_url),
            "scale": lambda: scale_bench.run(stack, cfg, sandbox_url, OUT_DIR),
            "fairness": lambda: fairness_bench.run(stack, cfg),
        }
        for name in cfg.phases:
            t0 = time.monotonic()
            say(f"phase {name}")
            try:
                got, details = phases[name]()
            except Exception as exc:  # noqa: BLE001 - one broken phase must not hide the others
                traceback.print_exc()
                report["errors"][name] = f"{type(exc).__name__}: {exc}"
                continue
            figures += got
            report["details"][name] = details | {"seconds": round(time.monotonic() - t0, 1)}
    finally:
        stack.teardown()
    report["figures"] = [f.as_dict() for f in figures]
    report["seconds"] = round(time.monotonic() - started, 1)
    path = OUT_DIR / "report.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    m = report["machine"]
    print(  # noqa: T201 - the table is the output of `make bench`
        f"\nbench ({report['mode']}) {report['date']}, {m['nproc']} cores, {m['ram_gib']} GiB, "
        f"{m['cpu']}, commit {m['commit']}, {report['seconds']} s\n\n{table(figures)}\n"
    )
    for name, error in report["errors"].items():
        say(f"phase {name} failed: {error}")
    say(f"report: {path}")
    return 1 if report["errors"] else 0
