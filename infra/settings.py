"""Every knob the service has, read from the environment in one place.

Only composition roots (wsgi.py, api/app.py, workers/celery_app.py, celeryconfig.py,
migrations/env.py) call get_settings(); everything else receives values as arguments.
Every default is written here and nowhere else: the poll and sweep policies, the docs and
the tests take theirs from `Settings.from_env({})`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

SANDBOX_BASE_URL = "http://127.0.0.1:8090"
PIAPI_BASE_URL = "https://api.piapi.ai"


class _Env:
    """Reads one environment mapping; unset or empty variables take their defaults."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        return self._environ.get(name) or None

    def __call__(self, name: str, default: str) -> str:
        return self._environ.get(name) or default

    def positive_int(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        return number

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self(name, default)
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return value


@dataclass(frozen=True, slots=True)
class Settings:
    """The service's configuration. Defaults run on a laptop with local servers."""

    database_url: str
    broker_url: str
    piapi_base_url: str
    piapi_api_key: str | None  # None: talk to the built-in sandbox
    poll_policy: str  # "adaptive" or "fixed" (every poll_interval_s, the spec's policy)
    poll_interval_s: float
    poll_min_interval_s: float
    poll_max_interval_s: float
    poll_runtime_scale: float  # multiplies the models' typical runtimes the policy plans by
    piapi_connect_timeout_s: float
    piapi_read_timeout_s: float
    # PiAPI tasks pending or processing at once, across every worker (the plan's limit);
    # None: no limit. Set it on every process (API, workers, beat).
    piapi_max_concurrent_tasks: int | None
    public_base_url: str | None  # set: PiAPI is asked to call /api/webhooks/piapi
    piapi_webhook_secret: str | None
    webhook_allow_private: bool  # let webhook_url reach loopback/private hosts (local dev)
    storage_url: str  # file:///dir or s3://bucket/prefix
    storage_public_url: str  # base of local files' URLs (the API serves /media)
    storage_url_ttl_s: int
    storage_max_bytes: int
    storage_max_attempts: int
    max_request_bytes: int
    upload_max_bytes: int  # POST /api/uploads takes images up to this (MAX_REQUEST_BYTES elsewhere)
    upload_ttl_s: int  # an upload no job uses is removed after this
    db_pool_size: int  # connections kept open per process; cover the pool's threads
    auth_cache_s: float  # a revoked key stops working within this
    sandbox_time_scale: float
    sandbox_fail_rate: float
    sandbox_runtime_spread: float  # each task's runtime is drawn within +/- this share
    sandbox_public_url: str
    sandbox_faults: str | None  # JSON, see providers/sandbox/faults.py
    sandbox_fetch_images: bool  # the sandbox downloads and checks input images, as PiAPI does
    sandbox_max_concurrent_tasks: int | None  # the sandbox's plan limit: past it, creates get 429
    data_dir: str
    sweep_interval_s: float
    sweep_queued_grace_s: float
    sweep_submitting_grace_s: float
    sweep_poll_grace_s: float  # a poll this overdue gets a new chain
    library_media_sources: str  # extra CSP sources for /library's videos and thumbnails
    # prometheus_client reads PROMETHEUS_MULTIPROC_DIR itself, at import; it is here so
    # the composition roots can create the folder and the metrics views can read it.
    metrics_dir: str | None
    worker_metrics_port: int | None  # a Celery worker serves its /metrics here
    worker_metrics_host: str  # ... on this address (compose: 0.0.0.0, inside the container)
    log_format: str = "json"  # json (one object per line) or text
    ready_timeout_s: float = 2.0  # /readyz: how long the database and the broker may take

    @property
    def uses_sandbox(self) -> bool:
        """True when no PiAPI key is configured, so jobs go to the sandbox."""
        return self.piapi_api_key is None

    @property
    def piapi_webhooks(self) -> bool:
        """True when PiAPI is asked to call us back (PUBLIC_BASE_URL and PIAPI_WEBHOOK_SECRET)."""
        return bool(self.public_base_url and self.piapi_webhook_secret)

    @property
    def log_secrets(self) -> tuple[str | None, ...]:
        """Values that must never appear in a log line, whatever the code logs."""
        return (self.piapi_api_key, self.piapi_webhook_secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment (or `environ`: `{}` gives every default) once."""
        env = _Env(os.environ if environ is None else environ)
        api_key = env.get("PIAPI_API_KEY")
        sandbox_url = env("SANDBOX_URL", SANDBOX_BASE_URL)
        public_base_url = env.get("PUBLIC_BASE_URL")
        data_dir = env("DATA_DIR", "var")
        poll_interval_s = float(env("POLL_INTERVAL_SECONDS", "30"))
        return cls(
            database_url=env(
                "DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/videogen"
            ),
            broker_url=env("BROKER_URL", "redis://127.0.0.1:6379/0"),
            piapi_base_url=env("PIAPI_BASE_URL", PIAPI_BASE_URL if api_key else sandbox_url),
            piapi_api_key=api_key,
            poll_policy=env.choice("POLL_POLICY", "adaptive", ("adaptive", "fixed")),
            poll_interval_s=poll_interval_s,
            poll_min_interval_s=float(env("POLL_MIN_INTERVAL_SECONDS", "1")),
            poll_max_interval_s=float(env("POLL_MAX_INTERVAL_SECONDS", "300")),
            # The sandbox runs tasks SANDBOX_TIME_SCALE times as long as PiAPI does.
            poll_runtime_scale=float(
                env("POLL_RUNTIME_SCALE", "1" if api_key else env("SANDBOX_TIME_SCALE", "0.25"))
            ),
            piapi_connect_timeout_s=float(env("PIAPI_CONNECT_TIMEOUT_SECONDS", "5")),
            piapi_read_timeout_s=float(env("PIAPI_READ_TIMEOUT_SECONDS", "30")),
            piapi_max_concurrent_tasks=env.positive_int("PIAPI_MAX_CONCURRENT_TASKS"),
            public_base_url=public_base_url,
            piapi_webhook_secret=env.get("PIAPI_WEBHOOK_SECRET"),
            webhook_allow_private=env("WEBHOOK_ALLOW_PRIVATE", "0") == "1",
            storage_url=env(
                "STORAGE_URL", "file://" + os.path.abspath(os.path.join(data_dir, "media"))
            ),
            storage_public_url=env(
                "STORAGE_PUBLIC_URL",
                (public_base_url or "http://127.0.0.1:8000").rstrip("/") + "/media",
            ),
            storage_url_ttl_s=int(env("STORAGE_URL_TTL_SECONDS", "3600")),
            storage_max_bytes=int(env("STORAGE_MAX_BYTES", str(2 * 1024**3))),
            storage_max_attempts=int(env("STORAGE_MAX_ATTEMPTS", "5")),
            max_request_bytes=int(env("MAX_REQUEST_BYTES", str(128 * 1024))),
            upload_max_bytes=int(env("UPLOAD_MAX_BYTES", str(20 * 1024 * 1024))),
            upload_ttl_s=int(env("UPLOAD_TTL_SECONDS", "86400")),
            db_pool_size=int(env("DB_POOL_SIZE", "20")),
            auth_cache_s=float(env("AUTH_CACHE_SECONDS", "10")),
            sandbox_time_scale=float(env("SANDBOX_TIME_SCALE", "0.25")),
            sandbox_fail_rate=float(env("SANDBOX_FAIL_RATE", "0")),
            sandbox_runtime_spread=float(env("SANDBOX_RUNTIME_SPREAD", "0")),
            sandbox_public_url=env("SANDBOX_PUBLIC_URL", sandbox_url),
            sandbox_faults=env.get("SANDBOX_FAULTS"),
            sandbox_fetch_images=env("SANDBOX_FETCH_IMAGES", "0") == "1",
            sandbox_max_concurrent_tasks=env.positive_int("SANDBOX_MAX_CONCURRENT_TASKS"),
            data_dir=data_dir,
            sweep_interval_s=float(env("SWEEP_INTERVAL_SECONDS", "30")),
            sweep_queued_grace_s=float(env("SWEEP_QUEUED_GRACE_SECONDS", "60")),
            sweep_submitting_grace_s=float(env("SWEEP_SUBMITTING_GRACE_SECONDS", "300")),
            # Four poll intervals, at least two minutes: a chain is never rescued early.
            sweep_poll_grace_s=float(
                env("SWEEP_POLL_GRACE_SECONDS", str(max(120.0, 4 * poll_interval_s)))
            ),
            # PiAPI's result hosts vary by model (img.theapi.app, storage.cdn-luma.com, ...).
            library_media_sources=env("LIBRARY_MEDIA_SOURCES", "https:" if api_key else ""),
            metrics_dir=env.get("PROMETHEUS_MULTIPROC_DIR"),
            worker_metrics_port=(
                int(port) if (port := env.get("WORKER_METRICS_PORT")) is not None else None
            ),
            worker_metrics_host=env("WORKER_METRICS_HOST", "127.0.0.1"),
            log_format=env("LOG_FORMAT", "json").lower(),
            ready_timeout_s=float(env("READY_TIMEOUT_SECONDS", "2")),
        )


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
