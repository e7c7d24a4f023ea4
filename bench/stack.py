"""The processes a bench phase runs: Procfile lines with the phase's environment, and servers.

Every server is private (own Postgres cluster, own Redis, own RabbitMQ vhost) so a bench
run never shares state with tests or `make up`, and can throw everything away at the end.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

import psycopg2
from psycopg2 import sql

from tests.chaos.services import PrivatePostgres, Proc, redis_proc, wait_redis
from tests.stack import ROOT, VENV_BIN, free_port, wait_http

__all__ = ["ROOT", "Stack", "free_port", "procfile", "rss_bytes", "wait_http", "wait_redis"]


METRICS_PORTS = ("SUBMIT", "POLL", "CALLBACKS", "STORE")
# Read back into the report: what a commit waits for, and how much the server caches.
PG_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "shared_buffers",
    "work_mem",
)


def procfile() -> dict[str, str]:
    """The Procfile's command lines by process name, exactly as `make up` runs them."""
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip()
    return entries


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (prefork children included)."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        with suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its live descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        with suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _descendants(pid: int) -> list[int]:
    found = []
    with suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


class Stack:
    """Private Postgres and Redis, and the processes started on them for one bench run."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        # Durable (fsync and synchronous commit on): a commit waits for the disk, as in
        # production, on both sides of every ratio.
        self.pg = PrivatePostgres(durable=True)
        self.redis_port = free_port()
        self.redis = redis_proc(self.redis_port, work_dir)
        self.procs: list[Proc] = []

    def start_servers(self) -> None:
        self.pg.init()
        self.redis.start()
        wait_redis(self.redis_port)

    @property
    def _admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg.port}/postgres"

    def pg_settings(self) -> dict[str, str]:
        """What the cluster runs with, read back from the server (SHOW), not from our flags."""
        conn = psycopg2.connect(self._admin_dsn)
        try:
            with conn.cursor() as cur:
                found = {}
                for name in PG_SETTINGS:
                    cur.execute(sql.SQL("SHOW {}").format(sql.Identifier(name)))
                    found[name] = str(cur.fetchone()[0])
                cur.execute("SELECT version()")
                found["version"] = str(cur.fetchone()[0]).split(" on ")[0]
                return found
        finally:
            conn.close()

    def database(self, name: str) -> str:
        """A new, migrated database on the private cluster; its SQLAlchemy URL."""
        self.drop_database(name)
        conn = psycopg2.connect(self._admin_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.close()
        url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.pg.port}/{name}"
        subprocess.run(
            [str(VENV_BIN / "alembic"), "upgrade", "head"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        return url

    def drop_database(self, name: str) -> None:
        """Remove a database made by database(), its connections closed."""
        conn = psycopg2.connect(self._admin_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        conn.close()

    def pids(self) -> dict[str, int]:
        """Main pids of the servers and of every running process, by name."""
        found = {p.name: p.popen.pid for p in self.procs if p.popen and p.popen.poll() is None}
        if self.redis.popen is not None:
            found["redis"] = self.redis.popen.pid
        with suppress(OSError, ValueError):
            found["postgres"] = int(
                (self.pg.root / "data" / "postmaster.pid").read_text().split()[0]
            )
        return found

    def redis_url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{db}"

    def start(
        self, name: str, process: str, env: Mapping[str, str], *, replace: Mapping[str, str] = {}
    ) -> Proc:
        """Start one Procfile process (with some words replaced) under env; its log in work_dir."""
        command = procfile()[process]
        for old, new in replace.items():
            command = command.replace(old, new)
        env = {
            # Each process its own folder (metrics, beat schedule) and its own metrics
            # port: the Procfile's defaults may be in use by `make up` or by tests.
            "DATA_DIR": str(self.work_dir / "data" / name),
            **{f"{kind}_METRICS_PORT": str(free_port()) for kind in METRICS_PORTS},
            **env,
        }
        # The Procfile's ${VAR:-default} are expanded by a shell, as honcho does; `env`
        # applies a line's leading VAR=value words, and exec keeps the pid the app's.
        proc = Proc(name, ["sh", "-c", f"exec env {command}"], env, self.work_dir)
        proc.start()
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        proc.stop()
        with suppress(ValueError):
            self.procs.remove(proc)

    def teardown(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.redis.kill()
        self.pg.destroy()


def worker_pid(proc: Proc) -> int:
    """The celery or gunicorn main process (sh -c exec'd into it, so the same pid)."""
    assert proc.popen is not None
    return proc.popen.pid


def wait_log(proc: Proc, pattern: str, *, timeout_s: float = 60) -> None:
    """Wait until a process's log shows pattern (e.g. a Celery worker's `ready.`)."""
    path = proc.log_dir / f"{proc.name}.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and re.search(pattern, path.read_text(errors="replace")):
            return
        if proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    raise TimeoutError(f"{proc.name}: no {pattern!r} in {timeout_s}s")
