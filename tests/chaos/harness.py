"""The chaos run: thousands of jobs through the whole stack while it is being broken.

Faults: worker processes SIGKILLed, Redis restarted empty, Postgres stopped hard and
restarted, and the sandbox answering a share of calls with 500, 429 + Retry-After, a
hang past the client timeout, or malformed JSON, and failing a share of tasks.
At the end every job must have ended, in the state the sandbox says is true, with no
job created at PiAPI twice. Run it with `make chaos`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import select

from models.accounts import ensure_user, issue_key
from models.db import make_engine, make_session_factory
from models.jobs import Job, Phase
from models.migrate import upgrade_to_head
from tests.chaos.services import PrivatePostgres, Proc, redis_proc, wait_redis
from tests.stack import free_port, wait_http, wait_until

FAULTS = {
    "create": {"500": 0.03, "429": 0.03, "hang": 0.002, "malformed": 0.002},
    "get": {"500": 0.03, "429": 0.03, "hang": 0.01, "malformed": 0.02},
    "hang_s": 4,
    "retry_after_s": 2,
}
MARKER = re.compile(r"\[chaos-\d+-\d+\]")

# What clients ask for: every provider and both modes.
_BODIES = [
    {"generation_mode": "text_to_video", "duration": 5},
    {"generation_mode": "text_to_video", "duration": 30},
    {"generation_mode": "text_to_video", "duration": 90},
    {"generation_mode": "text_to_video", "duration": 10, "provider": "piapi_luma"},
    {"generation_mode": "image_to_video", "duration": 5, "image_url": "https://example.com/a.jpg"},
    {
        "generation_mode": "image_to_video",
        "duration": 5,
        "provider": "piapi_wanx_1.3b",
        "image_url": "https://example.com/b.jpg",
    },
]


@dataclass(frozen=True)
class ChaosConfig:
    jobs: int = 2000
    seconds: float = 180.0
    drain_timeout_s: float = 600.0
    seed: int = 7


class Chaos:
    """Owns the private services and the stack processes for one run."""

    def __init__(self, config: ChaosConfig, work_dir: Path) -> None:
        self.config = config
        self.work_dir = work_dir
        self.rng = random.Random(config.seed)
        self.events: list[dict[str, Any]] = []
        self.pg = PrivatePostgres()
        self.redis_port = free_port()
        self.api_port, self.sandbox_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        env = {
            "DATABASE_URL": self.pg.url,
            "BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "PIAPI_API_KEY": "",
            "PIAPI_BASE_URL": self.sandbox,
            "SANDBOX_URL": self.sandbox,
            "SANDBOX_TIME_SCALE": "0.1",
            "SANDBOX_FAIL_RATE": "0.1",
            "SANDBOX_FAULTS": json.dumps(FAULTS),
            "PIAPI_CONNECT_TIMEOUT_SECONDS": "2",
            "PIAPI_READ_TIMEOUT_SECONDS": "2",
            "POLL_POLICY": "fixed",  # the policy the recorded chaos runs used
            "POLL_INTERVAL_SECONDS": "3",
            "SWEEP_INTERVAL_SECONDS": "5",
            "SWEEP_QUEUED_GRACE_SECONDS": "20",
            "SWEEP_SUBMITTING_GRACE_SECONDS": "90",
            "SWEEP_POLL_GRACE_SECONDS": "20",
            "DATA_DIR": str(work_dir),
        }
        logs = work_dir
        self.redis = redis_proc(self.redis_port, logs)
        self.procs = {
            "sandbox": Proc(
                "sandbox",
                [
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{self.sandbox_port}",
                    "--workers",
                    "1",
                    "--threads",
                    "48",
                    "wsgi:sandbox()",
                ],
                env,
                logs,
            ),
            "api": Proc(
                "api",
                ["gunicorn", "--bind", f"127.0.0.1:{self.api_port}", "--workers", "2", "wsgi:app"],
                env,
                logs,
            ),
            "submit": Proc(
                "submit",
                [
                    "celery",
                    "-A",
                    "workers",
                    "worker",
                    "-Q",
                    "submit",
                    "-n",
                    "submit@%h",
                    "-c",
                    "2",
                    "--loglevel",
                    "INFO",
                ],
                env,
                logs,
            ),
            "poll": Proc(
                "poll",
                [
                    "celery",
                    "-A",
                    "workers",
                    "worker",
                    "-Q",
                    "poll",
                    "-n",
                    "poll@%h",
                    "-P",
                    "threads",
                    "-c",
                    "16",
                    "--loglevel",
                    "INFO",
                ],
                env,
                logs,
            ),
            "beat": Proc(
                "beat",
                [
                    "celery",
                    "-A",
                    "workers",
                    "beat",
                    "--schedule",
                    str(work_dir / "beat-schedule"),
                    "--loglevel",
                    "INFO",
                ],
                env,
                logs,
            ),
        }
        self.sessions = None

    # -- life cycle -------------------------------------------------------------

    def start(self) -> None:
        self.pg.init()
        engine = make_engine(self.pg.url)
        upgrade_to_head(engine)
        self.sessions = make_session_factory(engine)
        with self.sessions.begin() as session:
            # The load is one client with thousands of jobs in flight.
            user = ensure_user(session, 1, "enterprise")
            self.key = issue_key(session, user, name="chaos").secret
        self.redis.start()
        wait_redis(self.redis_port)
        for proc in self.procs.values():
            proc.start()
        wait_http(f"{self.api}/healthz", timeout_s=60)
        wait_http(f"{self.sandbox}/healthz", timeout_s=60)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        self.redis.kill()
        self.pg.destroy()

    # -- the run ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        accepted: list[tuple[int, str]] = []
        load = threading.Thread(target=self._load, args=(accepted,), daemon=True)
        load.start()
        self._break_things(started)
        load.join()
        drained = self._drain()
        return self._report(accepted, drained, time.monotonic() - started)

    def _load(self, accepted: list[tuple[int, str]]) -> None:
        cfg = self.config
        gap = cfg.seconds / cfg.jobs
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=12) as pool:
            futures = []
            for n in range(cfg.jobs):
                delay = t0 + n * gap - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(self._submit_one, n, accepted))
        for future in futures:
            future.result()  # a refused request is a broken harness: fail loudly

    def _submit_one(self, n: int, accepted: list[tuple[int, str]]) -> None:
        body = dict(self.rng.choice(_BODIES))
        for attempt in range(60):
            # A fresh marker per attempt: an attempt whose answer was lost may still
            # have created its job, which must not be confused with the retry's.
            marker = f"[chaos-{n:06d}-{attempt}]"
            body["script"] = f"chaos job {marker}"
            try:
                resp = requests.post(
                    f"{self.api}/api/video/generate",
                    json=body,
                    headers={"Authorization": f"Bearer {self.key}"},
                    timeout=15,
                )
            except requests.RequestException:
                time.sleep(1)
                continue
            if resp.status_code == 202:
                accepted.append((int(resp.json()["video_id"]), marker))
                return
            if resp.status_code < 500:
                raise AssertionError(f"chaos body refused: {resp.status_code} {resp.text}")
            time.sleep(1)

    def _break_things(self, started: float) -> None:
        scale = self.config.seconds / 180
        plan = [
            (20, "kill", "submit"),
            (40, "kill", "poll"),
            (60, "restart", "redis"),
            (90, "restart", "postgres"),
            (110, "kill", "poll"),
            (130, "kill", "submit"),
            (150, "restart", "redis"),
            (165, "kill", "poll"),
        ]
        for at, action, target in plan:
            delay = started + at * scale - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._event(action, target)

    def _event(self, action: str, target: str) -> None:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if target == "postgres":
            self.pg.stop("immediate")
            time.sleep(3)
            self.pg.start()
        elif target == "redis":
            self.redis.kill()
            time.sleep(2)
            self.redis.start()
            wait_redis(self.redis_port)
        else:
            self.procs[target].kill()  # SIGKILL: no clean shutdown, nothing handed back
            time.sleep(2)
            self.procs[target].start()
        self.events.append({"at": at, "action": action, "target": target})
        print(f"chaos: {action} {target}")  # noqa: T201 - progress for `make chaos`

    def _drain(self) -> bool:
        def open_jobs() -> int:
            with self.sessions() as s:
                return len(s.scalars(select(Job.id).where(Job.phase != Phase.DONE)).all())

        try:
            wait_until(
                lambda: open_jobs() == 0,
                timeout_s=self.config.drain_timeout_s,
                what="every job to end",
                every_s=2,
            )
        except AssertionError:
            return False
        return True

    # -- the verdict ----------------------------------------------------------------

    def _report(
        self, accepted: list[tuple[int, str]], drained: bool, took_s: float
    ) -> dict[str, Any]:
        truth = requests.get(f"{self.sandbox}/sandbox/tasks", timeout=60).json()
        tasks_by_marker: dict[str, list[dict[str, Any]]] = {}
        for task in truth["tasks"]:
            if m := MARKER.search(task["prompt"]):
                tasks_by_marker.setdefault(m.group(), []).append(task)
        attempts_by_marker: Counter[str] = Counter()
        for prompt, count in truth["create_attempts"].items():
            if m := MARKER.search(prompt):
                attempts_by_marker[m.group()] += count

        with self.sessions() as s:
            rows = s.scalars(select(Job)).all()
        by_state: Counter[str] = Counter()
        mismatches, not_ended, doubles, unknown = [], [], [], []
        for job in rows:
            marker = MARKER.search(job.script).group()
            tasks = tasks_by_marker.get(marker, [])
            state = str(job.status)
            by_state[state] += 1
            if job.phase != Phase.DONE:
                not_ended.append(job.id)
                continue
            if len(tasks) > 1:
                doubles.append({"job": job.id, "tasks": [t["task_id"] for t in tasks]})
            if job.error_code == "submission_unknown":
                unknown.append(
                    {
                        "job": job.id,
                        "why": job.error_message,
                        "piapi_created_it": bool(tasks),
                    }
                )
                continue
            verdict = _verdict(job, tasks)
            if verdict:
                mismatches.append({"job": job.id, "problem": verdict})

        attempts = [attempts_by_marker[MARKER.search(j.script).group()] for j in rows]
        return {
            "jobs_accepted": len(accepted),
            "jobs_in_database": len(rows),
            "ended_by_state": dict(by_state),
            "mismatches_with_sandbox": mismatches,
            "not_ended": not_ended,
            "created_at_piapi_more_than_once": doubles,
            "piapi_tasks_created": truth["create_calls"],
            "create_calls_per_job": {
                "max": max(attempts, default=0),
                "mean": round(sum(attempts) / max(len(attempts), 1), 3),
                "histogram": dict(sorted(Counter(attempts).items())),
            },
            "unknown_outcome": unknown,
            "events": self.events,
            "drained": drained,
            "seconds": round(took_s, 1),
            "config": {
                "jobs": self.config.jobs,
                "load_seconds": self.config.seconds,
                "faults": FAULTS,
                "sandbox_fail_rate": 0.1,
            },
            "restarts": {name: proc.starts - 1 for name, proc in self.procs.items()},
        }


def _verdict(job: Job, tasks: list[dict[str, Any]]) -> str | None:
    """Why this finished job disagrees with the sandbox's truth, or None."""
    if job.status == "completed":
        if len(tasks) != 1 or tasks[0]["outcome"] != "completed":
            return f"completed, but the sandbox says {[t['outcome'] for t in tasks]}"
        if tasks[0]["task_id"] != job.task_id:
            return "completed with another task's id"
        return None
    if job.status == "failed" and job.error_code == "10000":
        if len(tasks) == 1 and tasks[0]["outcome"] == "failed":
            return None
        return f"failed as PiAPI's verdict, but the sandbox says {[t['outcome'] for t in tasks]}"
    return f"ended {job.status} with {job.error_code}: {job.error_message}"


def summary_line(report: dict[str, Any]) -> str:
    """One line for the terminal."""
    states = ", ".join(f"{n} {s}" for s, n in sorted(report["ended_by_state"].items()))
    return (
        f"chaos: {report['jobs_in_database']} jobs ({states}); "
        f"{len(report['mismatches_with_sandbox'])} differ from the sandbox; "
        f"{len(report['not_ended'])} not ended; "
        f"{len(report['created_at_piapi_more_than_once'])} created at PiAPI twice; "
        f"{len(report['unknown_outcome'])} unknown-outcome; "
        f"create calls per job max {report['create_calls_per_job']['max']} "
        f"mean {report['create_calls_per_job']['mean']}; {report['seconds']} s"
    )
