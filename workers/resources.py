"""What a worker process's tasks use: sessions, the PiAPI client, storage, HTTP, messages.

They are built once per process when the worker starts (workers/celery_app.py connects
`build` to worker_init and worker_process_init), never at import: importing the workers
package (beat, Flower, a test) opens no connection and sets nothing process-wide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from infra.messages import CeleryMessages, Messages
from infra.settings import Settings
from models.db import make_engine, make_session_factory
from providers.guarded_http import guarded_session
from providers.piapi import PiAPIClient, Timeouts
from providers.storage import Storage, open_storage
from providers.upload_urls import UploadURLs
from workers.poll_policy import PollPolicy
from workers.polling import Planner, planner
from workers.sweeper import SweepPolicy

# The sandbox accepts any key; a real deployment sets PIAPI_API_KEY.
SANDBOX_KEY = "sandbox"


@dataclass(frozen=True, slots=True)
class Resources:
    """One worker process's connections and clients. Thread-safe where tasks share them."""

    settings: Settings
    sessions: sessionmaker[Session]
    piapi: PiAPIClient
    storage: Storage
    media_http: requests.Session  # downloads finished files, guarded; PiAPI's key is never sent
    webhook_http: requests.Session  # delivers our webhooks, guarded; never the PiAPI client's
    messages: Messages
    upload_urls: UploadURLs  # where PiAPI fetches a job's uploaded images
    plan_poll: Planner
    sweep_policy: SweepPolicy

    @property
    def piapi_webhook_config(self) -> HookConfig | None:
        """What to ask PiAPI to call back, when PUBLIC_BASE_URL and PIAPI_WEBHOOK_SECRET are set."""
        return piapi_webhook_config(self.settings)


# A job's hook token -> the webhook_config to send with its create.
HookConfig = Callable[[str], dict[str, str]]


def piapi_webhook_config(settings: Settings) -> HookConfig | None:
    """PiAPI's webhook_config for each create, or None when PiAPI's webhooks are off.

    The endpoint names the job by its hook token (api/piapi_webhooks.py), so PiAPI's
    callback finds the job even when the create's answer, and its task id, were lost.
    """
    if not settings.piapi_webhooks:
        return None
    assert settings.public_base_url and settings.piapi_webhook_secret
    base = settings.public_base_url.rstrip("/") + "/api/webhooks/piapi/"
    secret = settings.piapi_webhook_secret

    def config(hook_token: str) -> dict[str, str]:
        return {"endpoint": base + hook_token, "secret": secret}

    return config


def build(settings: Settings, app: Celery[Any]) -> Resources:
    """Every resource a task needs, new for this process (after a fork too)."""
    storage = open_storage(
        settings.storage_url,
        public_base=settings.storage_public_url,
        url_ttl_s=settings.storage_url_ttl_s,
    )
    return Resources(
        settings=settings,
        sessions=make_session_factory(
            make_engine(settings.database_url, pool_size=settings.db_pool_size)
        ),
        piapi=PiAPIClient(
            settings.piapi_base_url,
            settings.piapi_api_key or SANDBOX_KEY,
            timeouts=Timeouts(settings.piapi_connect_timeout_s, settings.piapi_read_timeout_s),
        ),
        storage=storage,
        # Each request looks its host up once, checks the address and connects to it, every
        # redirect too. The sandbox's media is on loopback, so downloads may go there with it.
        media_http=guarded_session(
            allow_private=settings.uses_sandbox or settings.webhook_allow_private
        ),
        webhook_http=guarded_session(allow_private=settings.webhook_allow_private),
        messages=CeleryMessages(app),
        upload_urls=UploadURLs(
            storage,
            public_base_url=settings.public_base_url,
            uses_sandbox=settings.uses_sandbox,
        ),
        plan_poll=planner(PollPolicy.from_settings(settings), webhooks=settings.piapi_webhooks),
        sweep_policy=SweepPolicy.from_settings(settings),
    )
