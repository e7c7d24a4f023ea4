"""Helpers that start real pieces of the stack for integration and end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import requests
from psycopg2 import sql
from werkzeug.serving import make_server

from providers.sandbox.app import create_sandbox_app
from providers.sandbox.engine import Sandbox
from providers.sandbox.faults import FaultPlan

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(name: str) -> str:
    """Drop and create a Postgres database; return its SQLAlchemy URL.

    TEST_DB_SUFFIX keeps two checkouts' test runs on one server out of each other's way.
    """
    name += os.environ.get("TEST_DB_SUFFIX", "")
    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    parts = urlsplit(PG_ADMIN_URL)
    return f"postgresql+psycopg2://{parts.netloc}/{name}"


def wait_until(
    check: Callable[[], Any], *, timeout_s: float, what: str, every_s: float = 0.1
) -> Any:
    """Call check until it returns something truthy; fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last={last!r}")


@dataclass
class SandboxServer:
    """The PiAPI sandbox served over real HTTP from a thread of the test process."""

    sandbox: Sandbox
    url: str


@contextmanager
def sandbox_server(
    *, faults: FaultPlan | None = None, **sandbox_kwargs: Any
) -> Iterator[SandboxServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = Sandbox(public_url=url, **sandbox_kwargs)
    app = create_sandbox_app(sandbox, faults=faults)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SandboxServer(sandbox, url)
    finally:
        # Webhook posts timed to tasks' ends would otherwise run into the next tests.
        app.extensions["sandbox_announcer"].stop()
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def process(
    args: list[str], *, env: Mapping[str, str], log_path: Path, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a child in its own process group; stop the whole group afterwards."""
    full_env = {**os.environ, **env, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args,
            env=full_env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_http(
    url: str,
    *,
    timeout_s: float = 60,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Wait until url answers 200; fail early with the log if proc died."""

    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            log = log_path.read_text(errors="replace")[-4000:] if log_path else ""
            raise AssertionError(f"process exited with {proc.returncode}:\n{log}")
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout_s=timeout_s, what=url, every_s=0.2)
