"""Readiness: do the database and the broker answer within a bound? (/healthz only says the
process is up.) Public, like /healthz: a load balancer or orchestrator calls it without a key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import redis
from flask import Flask
from kombu import Connection
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from infra.settings import Settings

log = logging.getLogger(__name__)

Check = Callable[[], None]


def database_check(url: str, factory: sessionmaker[Session], timeout_s: float) -> Check:
    """SELECT 1 on a fresh connection with a connect timeout (Postgres), else the app's pool."""
    if url.startswith("postgresql"):
        # A connection of its own each time: a stopped server is found out by connecting,
        # and a server that hangs holds no connection of the API's pool.
        probe: Engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "connect_timeout": max(2, math.ceil(timeout_s)),  # libpq's floor is 2 s
                "options": f"-c statement_timeout={int(timeout_s * 1000)}",
            },
        )

        def check() -> None:
            with probe.connect() as conn:
                conn.execute(text("SELECT 1"))

        return check

    def check_pooled() -> None:
        with factory() as session:
            session.execute(text("SELECT 1"))

    return check_pooled


def broker_check(url: str, timeout_s: float) -> Check:
    """A Redis PING, or a connection through kombu for any other broker."""
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

        def ping() -> None:
            client.ping()

        return ping

    def connect() -> None:
        with Connection(url, connect_timeout=timeout_s) as conn:
            # One try. kombu takes the timeout in seconds as a float; its stubs say int.
            conn.ensure_connection(max_retries=0, timeout=timeout_s)  # type: ignore[arg-type]

    return connect


def _outcome(future: Future[None]) -> str:
    if not future.done():
        return "timeout"
    exc = future.exception()
    if exc is None:
        return "ok"
    if isinstance(exc, TimeoutError | redis.TimeoutError):
        return "timeout"  # its socket gave up at the bound, just before we did
    # The exception's type only: its text may hold a URL with a password in it.
    return f"error: {type(exc).__name__}"


def install_readiness(app: Flask, settings: Settings, factory: sessionmaker[Session]) -> None:
    """GET /readyz: 200 when every check passed within READY_TIMEOUT_SECONDS, else 503."""
    timeout_s = settings.ready_timeout_s
    checks = {
        "database": database_check(settings.database_url, factory, timeout_s),
        "broker": broker_check(settings.broker_url, timeout_s),
    }
    # Checks run at once, each in a thread, so the answer never waits longer than the
    # bound even if a backend accepts connections and then says nothing.
    pool = ThreadPoolExecutor(max_workers=4 * len(checks), thread_name_prefix="readyz")

    was_ready = [True]  # probes come every few seconds: log changes, not every answer

    @app.get("/readyz")
    def readyz() -> Any:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        wait(futures.values(), timeout=timeout_s)
        body = {name: _outcome(future) for name, future in futures.items()}
        ready = all(v == "ok" for v in body.values())
        if ready != was_ready[0]:
            was_ready[0] = ready
            log.log(logging.INFO if ready else logging.WARNING, "readiness: %s", body)
        return body, 200 if ready else 503
