"""The service's Prometheus series, declared once for the API and the workers.

They live in the base layer because every layer records something: the API its requests,
providers/ its PiAPI calls, models/ the endings of jobs. Where the series are exposed is
the composition roots' business (api/metrics.py, workers/metrics.py).

Every series has labels, so no value exists before its first use: prometheus_client's
multiprocess mode (PROMETHEUS_MULTIPROC_DIR) opens its files only then, after the
composition root has made sure the folder exists.

A job's ending is counted only once its transaction commits: the transition functions
note it on the session, and the listener below records it after the commit (or forgets
it after a rollback), so a rolled-back verdict is never counted.
"""

from __future__ import annotations

import datetime as dt
import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

# Jobs take from about a minute (Hunyuan) to half an hour (WanX 14b); the low buckets
# catch sandbox runs and jobs failed at once.
JOB_DURATION_BUCKETS = (1, 2.5, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)
# How long after PiAPI ended a task we recorded it: up to one poll interval by design.
DETECTION_LAG_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120, 300, 600)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "videogen_http_requests_total",
    "HTTP requests answered by the API, by route (the URL rule) and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "videogen_http_request_duration_seconds",
    "Time from the start of a request to its response, by route",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
JOBS_CREATED = Counter(
    "videogen_jobs_created_total",
    "Jobs accepted (committed) by the API; an idempotent replay is not counted",
    ["mode", "provider"],
)
JOBS_FINISHED = Counter(
    "videogen_jobs_finished_total",
    "Jobs that reached a terminal state, counted once, after the commit",
    ["state", "provider"],
)
JOB_DURATION = Histogram(
    "videogen_job_duration_seconds",
    "From a job's creation to its ending",
    ["state", "provider"],
    buckets=JOB_DURATION_BUCKETS,
)
DETECTION_LAG = Histogram(
    "videogen_job_detection_lag_seconds",
    "From the end PiAPI reports for a task (meta.ended_at) to when we recorded the ending",
    ["provider"],
    buckets=DETECTION_LAG_BUCKETS,
)
PIAPI_CALLS = Counter(
    "videogen_piapi_calls_total",
    "HTTP calls to PiAPI, by operation and outcome (ok, rejected, rate_limited, "
    "server_error, timeout, connection_error, error)",
    ["operation", "outcome"],
)
PIAPI_LATENCY = Histogram(
    "videogen_piapi_call_duration_seconds",
    "Time to PiAPI's answer (or to the failure), by operation",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "videogen_webhook_deliveries_total",
    "Attempts to deliver our webhooks, by outcome (delivered, rejected: a non-2xx answer, "
    "error: no answer, refused: the URL is not public)",
    ["outcome"],
)

_PENDING = "videogen_metrics_ended_jobs"


def prepare_dir(metrics_dir: str | None) -> None:
    """Create the multiprocess folder, if one is configured, before any value is written."""
    if metrics_dir:
        os.makedirs(metrics_dir, exist_ok=True)


def scrape_registry(metrics_dir: str | None) -> CollectorRegistry:
    """What a scrape reads: every process's files in multiprocess mode, else this process."""
    if not metrics_dir:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]  # unannotated
    return registry


def note_job_ended(
    session: Session,
    *,
    state: str,
    provider: str,
    created_at: dt.datetime | None,
    ended_at: dt.datetime,
    remote_ended_at: dt.datetime | None = None,
) -> None:
    """Count a job's ending once the session's transaction commits."""
    duration = _seconds(created_at, ended_at)
    lag = _seconds(remote_ended_at, ended_at)
    session.info.setdefault(_PENDING, []).append((state, provider, duration, lag))


def _seconds(start: dt.datetime | None, end: dt.datetime) -> float | None:
    if start is None:
        return None
    if start.tzinfo is None:  # SQLite hands back naive datetimes; they are UTC
        start = start.replace(tzinfo=dt.UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    # PiAPI's clock is not ours: a small skew must not make a negative lag.
    return max(0.0, (end - start).total_seconds())


@event.listens_for(Session, "after_commit")
def _record_ended(session: Session) -> None:
    for state, provider, duration, lag in session.info.pop(_PENDING, ()):
        JOBS_FINISHED.labels(state, provider).inc()
        if duration is not None:
            JOB_DURATION.labels(state, provider).observe(duration)
        if lag is not None:
            DETECTION_LAG.labels(provider).observe(lag)


@event.listens_for(Session, "after_soft_rollback")
def _forget_ended(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:  # a savepoint's rollback leaves the outer work
        session.info.pop(_PENDING, None)
