"""The stack started by bin/up (what `make up` runs), once per backend for the session."""

from __future__ import annotations

import subprocess
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests

from tests.stack import ROOT, free_port, fresh_database, process, wait_http, wait_until


@dataclass
class Stack:
    api: str
    sandbox: str
    log: Path
    database_url: str
    key: str  # the development key bin/up created
    proc: subprocess.Popen[bytes] | None = None  # bin/up (honcho): it ends when any process does
    flower: str = ""  # Flower's base URL (its login: FLOWER_BASIC_AUTH, or DATA_DIR/flower-auth)
    # Each worker's metrics endpoint by process name (submit, poll, callbacks, store).
    worker_metrics: dict[str, str] = field(default_factory=dict)
    # Every session handed out, closed with the stack: a pooled connection left to the
    # garbage collector is a ResourceWarning, and warnings fail tests.
    sessions: list[requests.Session] = field(default_factory=list)

    def http(self) -> requests.Session:
        """A requests session that sends the API key; closed when the stack stops."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.key}"
        self.sessions.append(session)
        return session

    def close_sessions(self) -> None:
        """Close every session http() handed out."""
        for session in self.sessions:
            session.close()
        self.sessions.clear()


def storing_settled(stack: Stack, video_id: str) -> dict:
    """The job's status body once storing its files has ended (stored or failed)."""
    http = stack.http()

    def settled() -> dict | None:
        body = http.get(f"{stack.api}/api/video/status/{video_id}", timeout=10).json()
        return body if body["storage"]["state"] in ("stored", "failed") else None

    return wait_until(settled, timeout_s=60, what=f"job {video_id}'s files stored", every_s=0.3)


@contextmanager
def run_stack(
    data_dir: Path,
    backend: str,
    *,
    database: str = "videogen_e2e",
    redis_db: int = 14,
    **env_overrides: str,
) -> Iterator[Stack]:
    """Start bin/up (what `make up` runs) on free ports; stop it afterwards."""
    api_port, sandbox_port, flower_port = free_port(), free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    # Free ports for the workers' metrics too: a `make up` elsewhere holds the defaults.
    metrics_ports = {name: free_port() for name in ("submit", "poll", "callbacks", "store")}
    env = {
        "API_PORT": str(api_port),
        "SANDBOX_PORT": str(sandbox_port),
        "FLOWER_PORT": str(flower_port),
        "DATA_DIR": str(data_dir),
        "PIAPI_API_KEY": "",
        "PIAPI_BASE_URL": "",
        "SANDBOX_URL": "",
        "PUBLIC_BASE_URL": "",
        "PIAPI_WEBHOOK_SECRET": "",
        "POLL_MIN_INTERVAL_SECONDS": "0.2",  # the adaptive policy, on the sandbox's runtimes
        "SANDBOX_TIME_SCALE": "0.02",
        "API_WORKERS": "1",
        "POLL_CONCURRENCY": "4",
        "WEBHOOK_ALLOW_PRIVATE": "1",  # the webhook tests' receivers are on 127.0.0.1
    } | {f"{name.upper()}_METRICS_PORT": str(port) for name, port in metrics_ports.items()}
    if backend == "embedded":
        env |= {"EMBEDDED": "1", "DATABASE_URL": "", "BROKER_URL": ""}
        database_url = f"sqlite:///{data_dir}/videogen.sqlite3"  # where bin/up puts it
    else:
        broker = f"redis://127.0.0.1:6379/{redis_db}"
        redis.Redis.from_url(broker).flushdb()
        database_url = fresh_database(database)
        env |= {"DATABASE_URL": database_url, "BROKER_URL": broker}
    env |= {k: v.replace("{api}", api) for k, v in env_overrides.items()}
    log = data_dir / "stack.log"
    with process([str(ROOT / "bin" / "up")], env=env, log_path=log) as proc:
        wait_http(f"{api}/healthz", proc=proc, log_path=log)
        if not env.get("PIAPI_API_KEY"):  # with a key, bin/up starts no sandbox
            wait_http(f"http://127.0.0.1:{sandbox_port}/healthz", proc=proc, log_path=log)
        key = (data_dir / "dev-api-key").read_text().strip()
        worker_metrics = {
            name: f"http://127.0.0.1:{port}/metrics" for name, port in metrics_ports.items()
        }
        stack = Stack(
            api,
            f"http://127.0.0.1:{sandbox_port}",
            log,
            database_url,
            key,
            flower=f"http://127.0.0.1:{flower_port}",
            worker_metrics=worker_metrics,
            proc=proc,
        )
        try:
            yield stack
        finally:
            stack.close_sessions()


@pytest.fixture(scope="session", params=["postgres-redis", "embedded"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp(request.param), request.param) as running:
        yield running


def _why_it_stopped(log: Path) -> str:
    """honcho's lines about processes ending, and any line a process died with."""
    lines = log.read_text(errors="replace").splitlines()
    telling = [
        line[:300]
        for line in lines
        if ("system " in line and "stopped" in line) or "CRITICAL" in line or "Traceback" in line
    ]
    return " | ".join(telling[:6])


@pytest.fixture(autouse=True)
def _stack_still_running(request: pytest.FixtureRequest) -> None:
    """A test on a stack that has stopped fails at once, saying which process ended.

    The first test to meet a dead stack fails on "connection refused"; every later one
    says why here, where a CI summary shows it.
    """
    if "stack" not in request.fixturenames:
        return
    stack = request.getfixturevalue("stack")
    if stack.proc is not None and stack.proc.poll() is not None:
        pytest.fail(f"bin/up exited ({stack.proc.returncode}): {_why_it_stopped(stack.log)}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failure on a stack that has stopped carries the stack's log.

    honcho stops every process when one exits, so the tests after such an exit fail
    with "connection refused"; the log says which process ended and why.
    """
    report = yield
    if not report.failed:
        return report
    for stack in getattr(item, "funcargs", {}).values():
        if isinstance(stack, Stack) and stack.proc is not None and stack.proc.poll() is not None:
            tail = stack.log.read_text(errors="replace")[-8000:]
            title = f"bin/up exited with {stack.proc.returncode}: {stack.log}"
            report.sections.append((title, tail))
    return report
