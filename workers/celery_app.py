"""The Celery application and the per-process resources its tasks use."""

from __future__ import annotations

from functools import cache

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine, make_session_factory
from models.settings import get_settings
from providers.piapi import PiAPIClient, Timeouts
from workers.sweeper import SweepPolicy

app = Celery("videogen", include=["workers.tasks"])
app.config_from_object("celeryconfig")

# The sandbox accepts any key; a real deployment sets PIAPI_API_KEY.
SANDBOX_KEY = "sandbox"


@cache
def sessions() -> sessionmaker[Session]:
    """This process's session factory, built on first use so forked children own theirs."""
    return make_session_factory(make_engine(get_settings().database_url))


@cache
def piapi() -> PiAPIClient:
    """This process's PiAPI client (the sandbox when no key is configured)."""
    settings = get_settings()
    return PiAPIClient(
        settings.piapi_base_url,
        settings.piapi_api_key or SANDBOX_KEY,
        timeouts=Timeouts(settings.piapi_connect_timeout_s, settings.piapi_read_timeout_s),
    )


def poll_interval_s() -> float:
    """Seconds between two polls of one job (POLL_INTERVAL_SECONDS)."""
    return get_settings().poll_interval_s


def sweep_policy() -> SweepPolicy:
    """Grace periods for the sweeper; a poll is overdue after a few missed intervals."""
    interval = get_settings().poll_interval_s
    return SweepPolicy(poll_grace_s=max(120.0, 4 * interval))
