"""Scale phase: generate, status, the library and a sweep pass at 10k, 100k and 1M rows.

Each history size gets its own database (the migrations' schema) holding that many jobs
of one enterprise user, made in set-based SQL (bench/scale_seed.py), then VACUUM ANALYZE
and a CHECKPOINT. Sweep passes are timed in-process; then one API per size, each started
from the Procfile's own line (workers stopped), is loaded with the user's key: status,
library page 1, a deep page by `page` and, when the library answers a `next_cursor`, the
same page reached by cursor; generate last, since it adds rows. The sizes are measured
in alternating rounds, as the api phase measures its two sides, so load from elsewhere
on the machine falls on every size rather than on one. Each figure at 100k and 1M is set
against the same figure at 10k (bench/scale_report.py).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench import load
from bench.api_bench import combine
from bench.common import GENERATE_BODY, BenchConfig, say, service_env
from bench.profile import PY_SPY, record, saved
from bench.report import Figure
from bench.scale_probe import (
    DEEP_PAGE,
    CountingMessages,
    cursor_for_page,
    explain,
    headroom_to_make,
    library_path,
    sweep_once,
    table_mb,
)
from bench.scale_report import figures
from bench.scale_seed import finish_oldest_in_flight, in_flight_for, seed_history
from bench.stack import Stack, free_port, wait_http
from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory, utcnow
from models.in_flight import count_in_flight
from models.jobs import Job
from models.tiers import TIERS
from tests.chaos.services import Proc

USER_ID = 1
TIER = "enterprise"
READ_CONNECTIONS = 8
GENERATE_CONNECTIONS = 16
WARMUP_S = 1
SWEEP_PASSES = 3
# Generate needs room under the tier's in-flight cap for every request it sends.
GENERATE_HEADROOM = 20_000


@dataclass
class Side:
    """One history size: its database, its API, and what was measured on it."""

    rows: int
    name: str
    engine: Engine
    key: str
    broker: str
    got: dict[str, Any]
    base: str = ""
    proc: Proc | None = None
    rounds: dict[str, list[load.LoadResult]] = field(default_factory=dict)


def run(
    stack: Stack, cfg: BenchConfig, sandbox_url: str, out_dir: Path
) -> tuple[list[Figure], dict[str, Any]]:
    sides: list[Side] = []
    rounds = 2 if cfg.quick else 3
    try:
        for i, rows in enumerate(cfg.scale_sizes):
            sides.append(_prepare(stack, rows, stack.redis_url(2 + i)))
        _sweeps(sides)
        for side in sides:
            _start_api(stack, side, sandbox_url)
        for side in sides:
            side.got["cursor"] = cursor_for_page(side.base, _headers(side), DEEP_PAGE)
        reads = ["status", "library_page1", "library_deep_page"]
        if all(side.got["cursor"]["cursor"] is not None for side in sides):
            reads.append("library_deep_cursor")
        for what in reads:
            _alternate(sides, what, rounds, cfg.scale_seconds / rounds, READ_CONNECTIONS)
        if PY_SPY:
            sides[-1].got["profile_library_page1"] = _profile(sides[-1], out_dir)
        for side in sides:
            _make_room(side)
        _alternate(sides, "generate", rounds, cfg.scale_seconds / rounds, GENERATE_CONNECTIONS)
    finally:
        for side in sides:
            if side.proc is not None:
                stack.stop(side.proc)
            side.engine.dispose()
            redis.Redis.from_url(side.broker).flushdb()
            stack.drop_database(side.name)
    by_size = {side.rows: side.got for side in sides}
    details = {
        "sizes": list(cfg.scale_sizes),
        "note": "" if 1_000_000 in cfg.scale_sizes else "Quick run: 10k and 100k rows, no 1M.",
        "connections": {"reads": READ_CONNECTIONS, "generate": GENERATE_CONNECTIONS},
        "rounds": rounds,
        "seconds_per_round": cfg.scale_seconds / rounds,
        "by_size": {str(k): v for k, v in by_size.items()},
    }
    return figures(by_size), details


def _headers(side: Side) -> dict[str, str]:
    return {"Authorization": f"Bearer {side.key}"}


def _prepare(stack: Stack, rows: int, broker: str) -> Side:
    """A database with `rows` jobs of the user, vacuumed, analysed and checkpointed."""
    name = f"bench_scale_{rows}"
    engine = make_engine(stack.database(name))
    with make_session_factory(engine).begin() as session:
        key = issue_key(session, ensure_user(session, USER_ID, TIER), name="scale").secret
    say(f"scale: seeding {rows:,} rows ({in_flight_for(rows):,} in flight)")
    t0 = time.monotonic()
    statuses = seed_history(engine, USER_ID, rows, now=utcnow())
    seed_s = time.monotonic() - t0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t0 = time.monotonic()
        conn.execute(text("VACUUM ANALYZE"))
        vacuum_s = time.monotonic() - t0
        # The seed's WAL would otherwise be checkpointed (spread over minutes) while
        # the figures are measured, its writes competing with every commit's flush.
        t0 = time.monotonic()
        conn.execute(text("CHECKPOINT"))
        checkpoint_s = time.monotonic() - t0
    say(
        f"scale: {rows:,} rows seeded in {seed_s:.1f} s, VACUUM ANALYZE {vacuum_s:.1f} s, "
        f"CHECKPOINT {checkpoint_s:.1f} s"
    )
    got = {
        "statuses": statuses,
        "seed_s": round(seed_s, 1),
        "vacuum_analyze_s": round(vacuum_s, 1),
        "checkpoint_s": round(checkpoint_s, 1),
        "table_mb": table_mb(engine),
        "explain": explain(engine, USER_ID),
    }
    return Side(rows, name, engine, key, broker, got)


def _sweeps(sides: list[Side]) -> None:
    """A warm-up pass on each size, then SWEEP_PASSES rounds across the sizes."""
    nudges = {side.rows: CountingMessages() for side in sides}
    first = {side.rows: sweep_once(side.engine, nudges[side.rows])[0] for side in sides}
    took: dict[int, list[float]] = {side.rows: [] for side in sides}
    did: dict[int, Counter[str]] = {side.rows: Counter() for side in sides}
    for _ in range(SWEEP_PASSES):
        for side in sides:
            seconds, counts = sweep_once(side.engine, nudges[side.rows])
            took[side.rows].append(seconds)
            did[side.rows].update(counts)
    for side in sides:
        side.got["sweep"] = {
            "median_s": round(statistics.median(took[side.rows]), 4),
            "passes_s": [round(t, 4) for t in took[side.rows]],
            "first_pass_s": round(first[side.rows], 4),
            "did": dict(did[side.rows]),
            "nudges": dict(nudges[side.rows].sent),
        }
        say(f"scale: {side.rows:,} rows, sweep pass {side.got['sweep']['median_s'] * 1000:.0f} ms")


def _start_api(stack: Stack, side: Side, sandbox_url: str) -> None:
    env = service_env(
        stack,
        database_url=side.engine.url.render_as_string(hide_password=False),
        broker_url=side.broker,
        sandbox_url=sandbox_url,
    )
    port = free_port()
    env["API_PORT"] = str(port)
    side.proc = stack.start(f"api-scale-{side.rows}", "api", env)
    side.base = f"http://127.0.0.1:{port}"
    wait_http(f"{side.base}/healthz", timeout_s=60, proc=side.proc.popen)


def _load(side: Side, what: str) -> load.Load:
    headers = _headers(side)
    if what == "status":
        with side.engine.connect() as conn:
            lo, hi = conn.execute(select(func.min(Job.id), func.max(Job.id))).one()
        return load.Load("/api/video/status/", headers, id_range=(lo, hi))
    if what == "generate":
        return load.Load("/api/video/generate", headers, body=GENERATE_BODY)
    paths = {
        "library_page1": library_path(page=1),
        "library_deep_page": library_path(page=DEEP_PAGE),
        "library_deep_cursor": library_path(cursor=side.got["cursor"]["cursor"]),
    }
    return load.Load(paths[what], headers)


def _alternate(sides: list[Side], what: str, rounds: int, seconds: float, connections: int) -> None:
    """Warm each size up, then `rounds` rounds of `seconds` on each size in turn."""
    loads = {side.rows: _load(side, what) for side in sides}
    for side in sides:
        load.run(side.base, loads[side.rows], seconds=WARMUP_S, connections=connections)
    results: dict[int, list[load.LoadResult]] = {side.rows: [] for side in sides}
    for _ in range(rounds):
        for side in sides:
            got = load.run(side.base, loads[side.rows], seconds=seconds, connections=connections)
            results[side.rows].append(got)
    for side in sides:
        r = combine(results[side.rows])
        side.got[what] = side.got.get(what, {}) | {
            "rps": round(r["rps"], 1),
            "p50_ms": round(r["p50_ms"], 1),
            "p99_ms": round(r["p99_ms"], 1),
            "requests": r["requests"],
            "errors": r["errors"],
            "connections": connections,
            "tool": results[side.rows][0].tool,
        }
        say(
            f"scale: {side.rows:,} rows, {what}: {r['rps']:.1f} req/s, p50 {r['p50_ms']:.1f} ms,"
            f" p99 {r['p99_ms']:.1f} ms, {r['errors']} errors"
        )


def _make_room(side: Side) -> None:
    """Room under the tier's in-flight cap for generate: the oldest in-flight jobs finished."""
    with Session(side.engine) as session:
        in_flight = count_in_flight(session, USER_ID)
    finish = headroom_to_make(TIERS[TIER].max_in_flight, in_flight, GENERATE_HEADROOM)
    if finish:
        in_flight = finish_oldest_in_flight(side.engine, USER_ID, finish)
        say(f"scale: {side.rows:,} rows, {finish:,} in-flight jobs finished for generate's room")
    side.got["generate"] = {"in_flight_before": in_flight, "finished_for_room": finish}


def _profile(side: Side, out_dir: Path) -> dict[str, Any] | None:
    """py-spy over one API worker while library page 1 is loaded again."""
    assert side.proc is not None and side.proc.popen is not None
    master = side.proc.popen.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    path = out_dir / "profile-scale-library.txt"
    spy = record(children[0], path, rate=100, duration_s=6)
    load.run(side.base, _load(side, "library_page1"), seconds=6, connections=READ_CONNECTIONS)
    spy.wait(timeout=60)
    return saved(path)
