"""Private Postgres, Redis and RabbitMQ servers, and restartable stack processes, for chaos.

The chaos run restarts its databases and brokers, so it never touches the machine's
shared ones: it starts its own on free ports and throws them away afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.stack import ROOT, VENV_BIN, free_port, wait_until

PG_BIN = Path("/usr/lib/postgresql") / sorted(os.listdir("/usr/lib/postgresql"))[-1] / "bin"


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PrivatePostgres:
    """A throw-away cluster that can be stopped hard and started again.

    Fast by default (fsync off: a commit does not wait for the disk), which is what the
    chaos run needs. durable=True runs it as Postgres is installed (fsync, synchronous
    commit and full-page writes on), so a commit costs what it costs in production.
    """

    port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chaos-pg-")))
    durable: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/videogen"

    def init(self) -> None:
        shutil.chown(self.root, "postgres") if os.geteuid() == 0 else None
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.root / "data"),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.start()
        subprocess.run(
            [
                str(PG_BIN / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "videogen",
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            + " ".join(f"-c {name}={value}" for name, value in self.durability().items())
        )
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-o",
                    options,
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def durability(self) -> dict[str, str]:
        """The settings start() passes: Postgres's defaults when durable, else fsync off."""
        if self.durable:
            return {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
        return {"fsync": "off"}

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "-w", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    def destroy(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Proc:
    """One stack process in its own process group, which can be killed and started again."""

    name: str
    args: list[str]
    env: Mapping[str, str]
    log_dir: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, **self.env, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
        # The child keeps its own copy of the descriptor; ours is closed at once.
        with (self.log_dir / f"{self.name}.log").open("ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean-up, no hand-back."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def redis_proc(port: int, log_dir: Path) -> Proc:
    """A private Redis that keeps nothing: a restart loses every queued message."""
    return Proc(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory-policy",
            "noeviction",
        ],
        {},
        log_dir,
    )


def wait_redis(port: int) -> None:
    import redis

    def ping() -> bool:
        try:
            return bool(redis.Redis(port=port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    wait_until(ping, timeout_s=20, what=f"redis on {port}")


# The server itself, not Debian's /usr/sbin wrapper (which switches to the rabbitmq user,
# the machine's node settings and its log files).
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node of our own: its name, ports, data, logs and Erlang cookie in a temp dir.

    The machine's node (rabbit@localhost on 5672) is never touched: this one reads none of
    its configuration (/etc/rabbitmq), and uses a cookie of its own, so it needs no
    credential of the machine's. Its data survives stop and start, as a real node's does.
    """

    log_dir: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chaos-rabbitmq-")))
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    @staticmethod
    def available() -> str | None:
        """None if a private node can be started here, else why not."""
        if not RABBITMQ_SERVER.exists():
            return f"RabbitMQ's server is not at {RABBITMQ_SERVER}"
        return None

    def init(self) -> None:
        home = self.root / "home"
        home.mkdir()
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(20).upper())
        cookie.chmod(0o400)
        (self.root / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.root / "enabled_plugins").write_text("[].\n")  # no management listener
        (self.root / "rabbitmq-env.conf").write_text("")  # not /etc's NODENAME and the rest
        env = {
            "HOME": str(home),
            "RABBITMQ_NODENAME": f"chaos{self.port}@localhost",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.root / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            # Beside the stack's logs, so they outlive the node's temp dir.
            "RABBITMQ_LOG_BASE": str(self.log_dir / "rabbitmq-node"),
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        self.proc = Proc("rabbitmq", [str(RABBITMQ_SERVER)], env, self.log_dir)

    def start(self) -> None:
        assert self.proc is not None
        self.proc.start()
        wait_until(self._answers, timeout_s=90, what=f"rabbitmq on {self.port}", every_s=0.5)

    def stop(self) -> None:
        """A clean stop (SIGTERM): the node syncs its queues and exits."""
        if self.proc is not None:
            self.proc.stop()

    def kill(self) -> None:
        """SIGKILL: the node goes away mid-write, as on a power cut."""
        if self.proc is not None:
            self.proc.kill()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"AMQP\x00\x00\x09\x01")  # the protocol header: it must answer
                conn.settimeout(5)
                return conn.recv(1) != b""
        except OSError:
            return False
