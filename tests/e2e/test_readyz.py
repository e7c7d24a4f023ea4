"""/readyz follows the database and the broker: unready soon after either stops, ready again
after it returns, and never slower than its bound even when a backend hangs.

The API runs under gunicorn against a private Postgres and Redis (they are stopped here,
so never the machine's shared ones).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.chaos.services import PrivatePostgres, Proc, redis_proc, wait_redis
from tests.stack import VENV_BIN, free_port, process, wait_http, wait_until

log = logging.getLogger(__name__)

BOUND_S = 1.0  # READY_TIMEOUT_SECONDS for this API
# A /readyz that takes longer than this has hung: the client gives up and the test fails.
CLIENT_TIMEOUT_S = BOUND_S + 3


@dataclass
class Backends:
    api: str
    postgres: PrivatePostgres
    redis: Proc


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    tmp = tmp_path_factory.mktemp("readyz")
    postgres = PrivatePostgres()
    postgres.init()
    redis_port = free_port()
    redis = redis_proc(redis_port, tmp)
    redis.start()
    wait_redis(redis_port)
    port = free_port()
    env = {
        "DATABASE_URL": postgres.url,
        "BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "READY_TIMEOUT_SECONDS": str(BOUND_S),
        "DATA_DIR": str(tmp),
        "PIAPI_API_KEY": "",
    }
    args = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    log = Path(tmp, "api.log")
    try:
        with process([*args, "wsgi:app"], env=env, log_path=log) as proc:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc, log_path=log)
            yield Backends(f"http://127.0.0.1:{port}", postgres, redis)
    finally:
        redis.stop()
        postgres.destroy()


def _ready(api: str) -> tuple[int, dict[str, str]]:
    resp = requests.get(f"{api}/readyz", timeout=CLIENT_TIMEOUT_S)  # no key: it is public
    return resp.status_code, resp.json()


def _until(api: str, status: int, what: str) -> dict[str, str]:
    started = time.monotonic()
    body = wait_until(
        lambda: (answer := _ready(api))[0] == status and answer[1], timeout_s=15, what=what
    )
    log.info("%s: after %.2f s", what, time.monotonic() - started)  # --log-cli-level=INFO
    return body


def test_ready_when_both_answer(backends: Backends) -> None:
    assert _ready(backends.api) == (200, {"database": "ok", "broker": "ok"})


def test_unready_while_postgres_is_stopped_and_ready_once_it_is_back(backends: Backends) -> None:
    backends.postgres.stop("immediate")
    try:
        body = _until(backends.api, 503, "unready after Postgres stopped")
        assert body["broker"] == "ok"
        assert body["database"].startswith("error")
    finally:
        backends.postgres.start()
    assert _until(backends.api, 200, "ready after Postgres started") == {
        "database": "ok",
        "broker": "ok",
    }


def test_unready_while_redis_is_stopped_and_ready_once_it_is_back(backends: Backends) -> None:
    backends.redis.stop()
    try:
        body = _until(backends.api, 503, "unready after Redis stopped")
        assert body["database"] == "ok"
        assert body["broker"].startswith("error")
    finally:
        backends.redis.start()
    assert _until(backends.api, 200, "ready after Redis started") == {
        "database": "ok",
        "broker": "ok",
    }


def test_a_hanging_broker_is_a_timeout_not_a_hung_probe(backends: Backends) -> None:
    wait_redis(int(backends.redis.args[backends.redis.args.index("--port") + 1]))
    assert backends.redis.popen is not None
    os.kill(backends.redis.popen.pid, signal.SIGSTOP)  # accepts nothing, answers nothing
    try:
        # _ready's client timeout fails this test if /readyz waits past its bound.
        body = _until(backends.api, 503, "unready while Redis hangs")
        assert body == {"database": "ok", "broker": "timeout"}
    finally:
        os.kill(backends.redis.popen.pid, signal.SIGCONT)
    _until(backends.api, 200, "ready after Redis resumed")
