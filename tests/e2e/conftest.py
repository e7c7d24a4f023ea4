"""The stack started by bin/up (what `make up` runs), once per backend for the session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from tests.stack import ROOT, free_port, fresh_database, process, wait_http


@dataclass
class Stack:
    api: str
    sandbox: str
    log: Path
    database_url: str
    key: str  # the development key bin/up created

    def http(self) -> requests.Session:
        """A requests session that sends the API key."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.key}"
        return session


@pytest.fixture(scope="session", params=["postgres-redis", "embedded"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp(request.param)
    api_port, sandbox_port, flower_port = free_port(), free_port(), free_port()
    env = {
        "API_PORT": str(api_port),
        "SANDBOX_PORT": str(sandbox_port),
        "FLOWER_PORT": str(flower_port),
        "DATA_DIR": str(data_dir),
        "PIAPI_API_KEY": "",
        "PIAPI_BASE_URL": "",
        "SANDBOX_URL": "",
        "POLL_INTERVAL_SECONDS": "0.5",
        "SANDBOX_TIME_SCALE": "0.02",
        "API_WORKERS": "1",
        "POLL_CONCURRENCY": "4",
        "WEBHOOK_ALLOW_PRIVATE": "1",  # the webhook test's receiver is on 127.0.0.1
    }
    if request.param == "embedded":
        env |= {"EMBEDDED": "1", "DATABASE_URL": "", "BROKER_URL": ""}
        database_url = f"sqlite:///{data_dir}/videogen.sqlite3"  # where bin/up puts it
    else:
        redis.Redis.from_url("redis://127.0.0.1:6379/14").flushdb()
        env |= {
            "DATABASE_URL": (database_url := fresh_database("videogen_e2e")),
            "BROKER_URL": "redis://127.0.0.1:6379/14",
        }
    log = data_dir / "stack.log"
    with process([str(ROOT / "bin" / "up")], env=env, log_path=log) as proc:
        api = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api}/healthz", proc=proc, log_path=log)
        wait_http(f"http://127.0.0.1:{sandbox_port}/healthz", proc=proc, log_path=log)
        key = (data_dir / "dev-api-key").read_text().strip()
        yield Stack(api, f"http://127.0.0.1:{sandbox_port}", log, database_url, key)
