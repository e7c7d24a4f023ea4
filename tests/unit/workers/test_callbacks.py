"""Our webhook signatures verify with the Standard Webhooks reference library."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from models.accounts import new_webhook_secret
from workers.callbacks import sign


def _headers(secret: str, msg_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def test_the_reference_library_verifies_our_signature() -> None:
    secret = new_webhook_secret()
    body = b'{"type":"video.completed","data":{"video_id":"1"}}'
    now = int(time.time())

    payload = Webhook(secret).verify(body, _headers(secret, "msg_1", body, now))

    assert payload["data"]["video_id"] == "1"


@pytest.mark.parametrize("tamper", ["body", "id", "secret"])
def test_any_change_breaks_the_signature(tamper: str) -> None:
    secret = new_webhook_secret()
    body = b'{"a":1}'
    headers = _headers(secret, "msg_1", body, int(time.time()))
    if tamper == "body":
        body = b'{"a":2}'
    elif tamper == "id":
        headers["webhook-id"] = "msg_2"
    else:
        secret = "whsec_" + base64.b64encode(b"x" * 32).decode()

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_secrets_are_standard_webhooks_secrets() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
