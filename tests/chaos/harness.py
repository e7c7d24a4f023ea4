"""The chaos run: thousands of jobs through the whole stack while it is being broken.

Faults: worker processes SIGKILLed, the broker restarted (Redis empty; or, with
BROKER=amqp, a RabbitMQ node stopped cleanly once and killed once), Postgres stopped hard
and restarted, and the sandbox answering a share of calls with 500, 429 + Retry-After, a
hang past the client timeout, or an answer cut off halfway (after it created the task,
for a create), and failing a share of tasks. PiAPI's webhooks are on and polling is the
default adaptive policy.
At the end every job must have ended, in the state the sandbox says is true, with no
job created at PiAPI twice and no task PiAPI completed (paid for) left undelivered.
Run it with `make chaos` (or `make chaos BROKER=amqp`).
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
from tests.chaos.services import (
    PrivatePostgres,
    PrivateRabbitMQ,
    Proc,
    redis_proc,
    wait_redis,
)
from tests.stack import ROOT, free_port, wait_http, wait_until

# Issue 13's rates on both endpoints: 8% 500s, 5% 429s, 1% hangs past the read timeout
# and 2% answers cut off halfway ("malformed"). On a create, a hang or a cut-off answer
# comes after the sandbox created the task: the create is in doubt.
_RATES = {"500": 0.08, "429": 0.05, "hang": 0.01, "malformed": 0.02}
FAULTS = {"create": _RATES, "get": _RATES, "hang_s": 4, "retry_after_s": 2}
WEBHOOK_SECRET = "chaos-piapi-webhook-secret"
BROKERS = ("redis", "amqp")
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
    broker: str = "redis"  # or "amqp": a private RabbitMQ node
    # Every job's deadline_seconds: long enough for any task (WanX 14b at the sandbox's
    # time scale takes 48 s) through the faults, short enough that a job whose create is
    # in doubt and never reached PiAPI ends (submission_unknown) within the run.
    deadline_s: int = 180


class Chaos:
    """Owns the private services and the stack processes for one run."""

    def __init__(self, config: ChaosConfig, work_dir: Path) -> None:
        self.config = config
        self.work_dir = work_dir
        self.rng = random.Random(config.seed)
        self.events: list[dict[str, Any]] = []
        # Stack processes that exited on their own (and were started again), by name.
        self.exits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._running = True
        self.pg = PrivatePostgres()
        if config.broker not in BROKERS:
            raise ValueError(f"BROKER must be one of {BROKERS}, not {config.broker!r}")
        logs = work_dir
        self.redis_port = free_port()
        self.redis = redis_proc(self.redis_port, logs)
        self.rabbitmq = PrivateRabbitMQ(logs)
        broker_url = (
            self.rabbitmq.url
            if config.broker == "amqp"
            else f"redis://127.0.0.1:{self.redis_port}/0"
        )
        self.api_port, self.sandbox_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        env = {
            "PYTHONPATH": str(ROOT),  # this checkout's code, whatever the venv points at
            "DATABASE_URL": self.pg.url,
            "BROKER_URL": broker_url,
            # PiAPI's webhooks on: the sandbox calls the API back at creation and at the end.
            "PUBLIC_BASE_URL": self.api,
            "PIAPI_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PIAPI_API_KEY": "",
            "PIAPI_BASE_URL": self.sandbox,
            "SANDBOX_URL": self.sandbox,
            "SANDBOX_TIME_SCALE": "0.1",
            "SANDBOX_FAIL_RATE": "0.1",
            "SANDBOX_FAULTS": json.dumps(FAULTS),
            "PIAPI_CONNECT_TIMEOUT_SECONDS": "2",
            "PIAPI_READ_TIMEOUT_SECONDS": "2",
            # POLL_POLICY is left to its default, adaptive.
            "SWEEP_INTERVAL_SECONDS": "5",
            "SWEEP_QUEUED_GRACE_SECONDS": "20",
            # Far longer than a create call can take here (2 s connect + 2 s read).
            "SWEEP_SUBMITTING_GRACE_SECONDS": "30",
            "SWEEP_POLL_GRACE_SECONDS": "20",
            "DATA_DIR": str(work_dir),
        }
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
                    # SUBMIT_CONCURRENCY: the pool waits on PiAPI, Postgres and the broker.
                    # Two processes, then four, fell behind the load (11 jobs/s plus
                    # retries and re-sends) on RabbitMQ, where every publish waits for its
                    # confirm and a retry's countdown rejoins the queue at its tail: the
                    # submit queue grew to 70 s and jobs ran out of their 180 s.
                    "-c",
                    "8",
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
        if self.config.broker == "amqp":
            self.rabbitmq.init()
            self.rabbitmq.start()
        else:
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
        self.rabbitmq.destroy()
        self.pg.destroy()

    # -- the run ------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        accepted: list[tuple[int, str]] = []
        load = threading.Thread(target=self._load, args=(accepted,), daemon=True)
        load.start()
        supervisor = threading.Thread(target=self._supervise, daemon=True)
        supervisor.start()
        self._break_things(started)
        load.join()
        drained = self._drain()
        self._running = False
        supervisor.join()
        return self._report(accepted, drained, time.monotonic() - started)

    def _supervise(self) -> None:
        """Start again any stack process that exited on its own.

        As `restart: unless-stopped` does in docker-compose.yml: a Celery worker can exit
        after losing its broker (kombu's Redis transport raised AttributeError while
        restoring unacknowledged messages on a restart; the worker stopped).
        """
        while self._running:
            with self._lock:  # never while _event is killing and starting one on purpose
                for name, proc in self.procs.items():
                    if proc.popen is not None and (code := proc.popen.poll()) is not None:
                        self.exits[name] += 1
                        print(f"chaos: {name} exited ({code}); started again")  # noqa: T201
                        proc.start()
            time.sleep(1)

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
        body = {**self.rng.choice(_BODIES), "deadline_seconds": self.config.deadline_s}
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
        broker = "rabbitmq" if self.config.broker == "amqp" else "redis"
        plan = [
            (20, "kill", "submit"),
            (40, "kill", "poll"),
            (60, "restart", broker),
            (90, "restart", "postgres"),
            (110, "kill", "poll"),
            (130, "kill", "submit"),
            (150, "kill" if broker == "rabbitmq" else "restart", broker),
            (165, "kill", "poll"),
        ]
        for at, action, target in plan:
            delay = started + at * scale - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._event(action, target)

    def _event(self, action: str, target: str) -> None:
        with self._lock:
            self._break(action, target)

    def _break(self, action: str, target: str) -> None:
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
        elif target == "rabbitmq":
            # restart: a clean stop; kill: SIGKILL. Either way the node is down a while.
            if action == "restart":
                self.rabbitmq.stop()
            else:
                self.rabbitmq.kill()
            time.sleep(3)
            self.rabbitmq.start()
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
        mismatches, not_ended, doubles, unknown, unpaid = [], [], [], [], []
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
            if paid := _paid_but_not_delivered(job, tasks):
                unpaid.append(paid)
            if job.error_code == "submission_unknown":
                unknown.append(
                    {"job": job.id, "why": job.error_message, "piapi_created_it": bool(tasks)}
                )
            verdict = _verdict(job, tasks)
            if verdict:
                mismatches.append({"job": job.id, "problem": verdict})

        attempts = [attempts_by_marker[MARKER.search(j.script).group()] for j in rows]
        return {
            "broker": self.config.broker,
            "jobs_accepted": len(accepted),
            "jobs_in_database": len(rows),
            "ended_by_state": dict(by_state),
            "mismatches_with_sandbox": mismatches,
            "not_ended": not_ended,
            "created_at_piapi_more_than_once": doubles,
            "paid_but_not_delivered": unpaid,
            "in_doubt": _doubts(rows, tasks_by_marker),
            "adopted": {
                "total": sum(j.adopted_at is not None for j in rows),
                # the rest: PiAPI's creation callback beat the worker's record of the answer
                "after_doubt": sum(
                    j.adopted_at is not None and j.doubted_at is not None for j in rows
                ),
            },
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
                "deadline_seconds": self.config.deadline_s,
                "faults": FAULTS,
                "sandbox_fail_rate": 0.1,
                "piapi_webhooks": True,
                "poll_policy": "adaptive",
            },
            "exited_on_their_own": dict(self.exits),
            "restarts": {
                **{name: proc.starts - 1 for name, proc in self.procs.items()},
                "broker": sum(e["target"] in ("redis", "rabbitmq") for e in self.events),
                "postgres": sum(e["target"] == "postgres" for e in self.events),
            },
        }


def _doubts(rows: Any, tasks_by_marker: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Jobs whose create was in doubt at any time, and how each ended."""
    jobs = []
    for job in rows:
        if job.doubted_at is None:
            continue
        tasks = tasks_by_marker.get(MARKER.search(job.script).group(), [])
        jobs.append(
            {
                "job": job.id,
                "adopted": job.adopted_at is not None,
                "ended": f"{job.status} {job.error_code or ''}".strip(),
                "piapi_created_it": bool(tasks),
            }
        )
    return {
        "total": len(jobs),
        "adopted": sum(j["adopted"] for j in jobs),
        "never_reached_piapi": sum(not j["piapi_created_it"] for j in jobs),
        "jobs": jobs,
    }


def _paid_but_not_delivered(job: Job, tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A task the sandbox completed (we pay for it) that this finished job does not deliver."""
    if job.status == "completed":
        return None  # delivered; a second task, if any, is counted as created twice
    paid = [t["task_id"] for t in tasks if t["outcome"] == "completed"]
    if not paid:
        return None
    return {"job": job.id, "ended": str(job.status), "error_code": job.error_code, "tasks": paid}


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
    if job.status == "failed" and job.error_code == "submission_unknown" and not tasks:
        return None  # true: PiAPI created nothing, and nothing was charged
    return f"ended {job.status} with {job.error_code}: {job.error_message}"


def summary_line(report: dict[str, Any]) -> str:
    """One line for the terminal."""
    states = ", ".join(f"{n} {s}" for s, n in sorted(report["ended_by_state"].items()))
    doubt, adopted = report["in_doubt"], report["adopted"]
    return (
        f"chaos ({report['broker']}): {report['jobs_in_database']} jobs ({states}); "
        f"{len(report['mismatches_with_sandbox'])} differ from the sandbox; "
        f"{len(report['not_ended'])} not ended; "
        f"{len(report['created_at_piapi_more_than_once'])} created at PiAPI twice; "
        f"{len(report['paid_but_not_delivered'])} paid but not delivered; "
        f"{doubt['total']} in doubt ({doubt['adopted']} adopted, "
        f"{doubt['never_reached_piapi']} never reached PiAPI); "
        f"{adopted['total']} adopted in all; "
        f"{len(report['unknown_outcome'])} unknown-outcome; "
        f"create calls per job max {report['create_calls_per_job']['max']} "
        f"mean {report['create_calls_per_job']['mean']}; {report['seconds']} s"
    )
