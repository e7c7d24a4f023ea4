"""The webhook_config each create sends: an endpoint naming the job, and the shared secret."""

from __future__ import annotations

import dataclasses
import re

from infra.settings import Settings
from models.jobs import new_hook_token
from workers.resources import piapi_webhook_config

DEFAULTS = Settings.from_env({})


def test_webhooks_off_without_a_public_url_or_a_secret() -> None:
    assert piapi_webhook_config(DEFAULTS) is None
    assert piapi_webhook_config(dataclasses.replace(DEFAULTS, piapi_webhook_secret="s")) is None
    assert (
        piapi_webhook_config(dataclasses.replace(DEFAULTS, public_base_url="https://us.test"))
        is None
    )


def test_each_create_names_its_job_by_token_under_the_public_url() -> None:
    settings = dataclasses.replace(
        DEFAULTS, public_base_url="https://us.test/", piapi_webhook_secret="s3cret"
    )
    config = piapi_webhook_config(settings)
    assert config is not None
    token = new_hook_token()

    assert config(token) == {
        "endpoint": f"https://us.test/api/webhooks/piapi/{token}",
        "secret": "s3cret",
    }


def test_hook_tokens_are_unguessable_and_url_safe() -> None:
    tokens = {new_hook_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        # 24 random bytes: 192 bits, in the alphabet the route accepts
        assert re.fullmatch(r"pwh_[A-Za-z0-9_-]{32}", token)
