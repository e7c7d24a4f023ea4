"""Generate against its baseline on a private DURABLE Postgres, one key, 16 connections.

`python -m bench.generate_quick [--seconds 5] [--rounds 8] [--side NAME=CHECKOUT ...]`
starts its own Postgres (fsync and synchronous_commit on, checked with SHOW) and Redis,
bench/baseline_app.py and this checkout's API under the Procfile's gunicorn command
(and the API of each other CHECKOUT, e.g. an older commit's `git archive`, on its own
migrated database), loads each in turn for short alternating rounds, so a burst of
load from elsewhere on the machine falls on every side, and prints each side's
throughput and its ratio to the baseline. A quick check, not a `make bench` phase.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import api_bench, load
from bench.common import say, service_env
from bench.stack import Stack, cpu_seconds, free_port, procfile, wait_http
from models.db import make_engine
from tests.chaos.services import PG_BIN, PrivatePostgres, Proc, _as_postgres
from tests.stack import VENV_BIN

NO_SANDBOX = "http://127.0.0.1:9"  # workers are not started: generate only queues


class DurablePostgres(PrivatePostgres):
    """PrivatePostgres with durable commits: fsync and synchronous_commit on."""

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=200 -c fsync=on -c synchronous_commit=on"
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    *("-D", str(self.root / "data"), "-o", options),
                    *("-l", str(self.root / "server.log"), "-w", "start"),
                ]
            ),
            check=True,
            capture_output=True,
        )


def _start_checkout(stack: Stack, name: str, checkout: Path, broker_db: int) -> dict[str, Any]:
    """Another checkout's API, on a database migrated by that checkout's migrations."""
    url = stack.database(f"bench_api_{name}")  # this checkout's schema: replaced below
    with make_engine(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    subprocess.run(
        [str(VENV_BIN / "alembic"), "upgrade", "head"],
        cwd=checkout,
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(checkout)},
        check=True,
        capture_output=True,
    )
    engine = make_engine(url)
    key = _issue_key(checkout, url)
    env = service_env(
        stack, database_url=url, broker_url=stack.redis_url(broker_db), sandbox_url=NO_SANDBOX
    )
    port = free_port()
    env |= {"API_PORT": str(port), "DATA_DIR": str(stack.work_dir / "data" / name)}
    command = procfile()["api"]
    proc = Proc(name, ["sh", "-c", f"cd {checkout} && exec env {command}"], env, stack.work_dir)
    proc.start()
    stack.procs.append(proc)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz", timeout_s=60, proc=proc.popen)
    return {"url": base, "key": key, "engine": engine, "proc": proc}


def _issue_key(checkout: Path, url: str) -> str:
    # The checkout's own code, so its users and keys are written as it expects.
    script = (
        "from models.accounts import ensure_user, issue_key\n"
        "from models.db import make_engine, make_session_factory\n"
        f"with make_session_factory(make_engine({url!r})).begin() as s:\n"
        "    print(issue_key(s, ensure_user(s, 1, 'enterprise'), name='bench').secret)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def _cpu(stack: Stack, side: dict[str, Any]) -> dict[str, float]:
    """CPU seconds so far of the side's API, the servers, and this process's children
    (wrk): per-round deltas say where each side's requests spend the machine's 2 cores."""
    pids = stack.pids()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "api": cpu_seconds(side["proc"].popen.pid),
        "postgres": cpu_seconds(pids["postgres"]),
        "redis": cpu_seconds(pids["redis"]),
        "load": children.ru_utime + children.ru_stime,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--side", action="append", default=[], metavar="NAME=CHECKOUT")
    args = parser.parse_args()

    stack = Stack(Path(tempfile.mkdtemp(prefix="bench-generate-")))
    stack.pg = DurablePostgres()
    try:
        stack.start_servers()
        sides = {
            name: api_bench._start(stack, name, app, NO_SANDBOX)
            for name, app in api_bench.APPS.items()
        }
        for i, spec in enumerate(args.side):
            name, _, checkout = spec.partition("=")
            sides[name] = _start_checkout(stack, name, Path(checkout).resolve(), 2 + i)
        with make_engine(stack.pg.url).connect() as conn:
            shown = {
                s: conn.execute(text(f"SHOW {s}")).scalar() for s in ("fsync", "synchronous_commit")
            }
        say(f"postgres: {shown}")
        assert shown == {"fsync": "on", "synchronous_commit": "on"}, shown
        results: dict[str, list[load.LoadResult]] = {name: [] for name in sides}
        cpu: dict[str, dict[str, float]] = {name: {} for name in sides}
        for side in sides.values():
            side["load"] = api_bench._load(side, "generate")
            load.run(side["url"], side["load"], seconds=2)
        for _ in range(args.rounds):
            for name, side in sides.items():
                before = _cpu(stack, side)
                got = load.run(side["url"], side["load"], seconds=args.seconds)
                for part, used in _cpu(stack, side).items():
                    cpu[name][part] = cpu[name].get(part, 0.0) + used - before[part]
                cpu[name]["requests"] = cpu[name].get("requests", 0.0) + got.requests
                results[name].append(got)
                say(
                    f"{name:9} {got.rps:7.0f} req/s  p50 {got.p50_ms:6.1f} ms  "
                    f"p99 {got.p99_ms:6.1f} ms  errors {got.errors}"
                )
        combined = {name: api_bench.combine(rs) for name, rs in results.items()}
        base = combined["baseline"]
        for name, got in combined.items():
            say(
                f"generate {name}: {got['rps']:.0f} req/s, p50 {got['p50_ms']:.1f} ms, "
                f"p99 {got['p99_ms']:.1f} ms, errors {got['errors']}, "
                f"ratio {got['rps'] / base['rps']:.2f}"
            )
        for name, used in cpu.items():
            per = {k: 1000 * v / used["requests"] for k, v in used.items() if k != "requests"}
            say(f"CPU ms per request, {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
    finally:
        stack.teardown()


if __name__ == "__main__":
    main()
