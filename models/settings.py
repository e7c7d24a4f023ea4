"""Every knob the service has, read from the environment in one place.

Only composition roots (wsgi.py, api/app.py, workers/celery_app.py, celeryconfig.py,
migrations/env.py) call get_settings(); everything else receives values as arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

SANDBOX_BASE_URL = "http://127.0.0.1:8090"
PIAPI_BASE_URL = "https://api.piapi.ai"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _env(name, default)
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
    poll_near_interval_s: float
    poll_safety_interval_s: float
    poll_runtime_scale: float  # multiplies the models' typical runtimes the policy plans by
    piapi_connect_timeout_s: float
    piapi_read_timeout_s: float
    public_base_url: str | None  # set: PiAPI is asked to call /api/webhooks/piapi
    piapi_webhook_secret: str | None
    webhook_allow_private: bool  # let webhook_url reach loopback/private hosts (local dev)
    storage_url: str  # file:///dir or s3://bucket/prefix
    storage_public_url: str  # base of local files' URLs (the API serves /media)
    storage_url_ttl_s: int
    storage_max_bytes: int
    storage_max_attempts: int
    storage_retry_base_s: float
    max_request_bytes: int
    db_pool_size: int  # connections kept open per process; cover the pool's threads
    auth_cache_s: float  # a revoked key stops working within this
    sandbox_time_scale: float
    sandbox_fail_rate: float
    sandbox_runtime_spread: float  # each task's runtime is drawn within +/- this share
    sandbox_public_url: str
    sandbox_faults: str | None  # JSON, see providers/sandbox/faults.py
    sandbox_fetch_images: bool  # the sandbox downloads and checks input images, as PiAPI does
    data_dir: str
    sweep_interval_s: float
    sweep_queued_grace_s: float
    sweep_submitting_grace_s: float
    sweep_poll_grace_s: float | None  # None: four poll intervals, at least 120 s
    library_media_sources: str  # extra CSP sources for /library's videos and thumbnails
    # prometheus_client reads PROMETHEUS_MULTIPROC_DIR itself, at import; it is here so
    # the composition roots can create the folder and the metrics views can read it.
    metrics_dir: str | None
    worker_metrics_port: int | None  # a Celery worker serves its /metrics here
    log_format: str = "json"  # json (one object per line) or text
    ready_timeout_s: float = 2.0  # /readyz: how long the database and the broker may take

    @property
    def uses_sandbox(self) -> bool:
        """True when no PiAPI key is configured, so jobs go to the sandbox."""
        return self.piapi_api_key is None

    @property
    def log_secrets(self) -> tuple[str | None, ...]:
        """Values that must never appear in a log line, whatever the code logs."""
        return (self.piapi_api_key, self.piapi_webhook_secret)

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment once; unset or empty variables take their defaults."""
        api_key = os.environ.get("PIAPI_API_KEY") or None
        sandbox_url = _env("SANDBOX_URL", SANDBOX_BASE_URL)
        return cls(
            database_url=_env(
                "DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/videogen"
            ),
            broker_url=_env("BROKER_URL", "redis://127.0.0.1:6379/0"),
            piapi_base_url=_env("PIAPI_BASE_URL", PIAPI_BASE_URL if api_key else sandbox_url),
            piapi_api_key=api_key,
            poll_policy=_choice("POLL_POLICY", "adaptive", ("adaptive", "fixed")),
            poll_interval_s=float(_env("POLL_INTERVAL_SECONDS", "30")),
            poll_min_interval_s=float(_env("POLL_MIN_INTERVAL_SECONDS", "1")),
            poll_max_interval_s=float(_env("POLL_MAX_INTERVAL_SECONDS", "120")),
            poll_near_interval_s=float(_env("POLL_NEAR_INTERVAL_SECONDS", "4")),
            poll_safety_interval_s=float(_env("POLL_SAFETY_INTERVAL_SECONDS", "300")),
            # The sandbox runs tasks SANDBOX_TIME_SCALE times as long as PiAPI does.
            poll_runtime_scale=float(
                _env("POLL_RUNTIME_SCALE", "1" if api_key else _env("SANDBOX_TIME_SCALE", "0.25"))
            ),
            piapi_connect_timeout_s=float(_env("PIAPI_CONNECT_TIMEOUT_SECONDS", "5")),
            piapi_read_timeout_s=float(_env("PIAPI_READ_TIMEOUT_SECONDS", "30")),
            public_base_url=os.environ.get("PUBLIC_BASE_URL") or None,
            piapi_webhook_secret=os.environ.get("PIAPI_WEBHOOK_SECRET") or None,
            webhook_allow_private=_env("WEBHOOK_ALLOW_PRIVATE", "0") == "1",
            storage_url=_env(
                "STORAGE_URL",
                "file://" + os.path.abspath(os.path.join(_env("DATA_DIR", "var"), "media")),
            ),
            storage_public_url=_env(
                "STORAGE_PUBLIC_URL",
                (os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
                + "/media",
            ),
            storage_url_ttl_s=int(_env("STORAGE_URL_TTL_SECONDS", "3600")),
            storage_max_bytes=int(_env("STORAGE_MAX_BYTES", str(2 * 1024**3))),
            storage_max_attempts=int(_env("STORAGE_MAX_ATTEMPTS", "5")),
            storage_retry_base_s=float(_env("STORAGE_RETRY_BASE_SECONDS", "10")),
            max_request_bytes=int(_env("MAX_REQUEST_BYTES", str(64 * 1024))),
            db_pool_size=int(_env("DB_POOL_SIZE", "20")),
            auth_cache_s=float(_env("AUTH_CACHE_SECONDS", "10")),
            sandbox_time_scale=float(_env("SANDBOX_TIME_SCALE", "0.25")),
            sandbox_fail_rate=float(_env("SANDBOX_FAIL_RATE", "0")),
            sandbox_runtime_spread=float(_env("SANDBOX_RUNTIME_SPREAD", "0")),
            sandbox_public_url=_env("SANDBOX_PUBLIC_URL", sandbox_url),
            sandbox_faults=os.environ.get("SANDBOX_FAULTS") or None,
            sandbox_fetch_images=_env("SANDBOX_FETCH_IMAGES", "0") == "1",
            data_dir=_env("DATA_DIR", "var"),
            sweep_interval_s=float(_env("SWEEP_INTERVAL_SECONDS", "30")),
            sweep_queued_grace_s=float(_env("SWEEP_QUEUED_GRACE_SECONDS", "60")),
            sweep_submitting_grace_s=float(_env("SWEEP_SUBMITTING_GRACE_SECONDS", "300")),
            sweep_poll_grace_s=(
                float(os.environ["SWEEP_POLL_GRACE_SECONDS"])
                if os.environ.get("SWEEP_POLL_GRACE_SECONDS")
                else None
            ),
            # PiAPI's result hosts vary by model (img.theapi.app, storage.cdn-luma.com, ...).
            library_media_sources=_env("LIBRARY_MEDIA_SOURCES", "https:" if api_key else ""),
            metrics_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
            worker_metrics_port=(
                int(os.environ["WORKER_METRICS_PORT"])
                if os.environ.get("WORKER_METRICS_PORT")
                else None
            ),
            log_format=_env("LOG_FORMAT", "json").lower(),
            ready_timeout_s=float(_env("READY_TIMEOUT_SECONDS", "2")),
        )


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return Settings.from_env()
