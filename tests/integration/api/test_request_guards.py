"""Bad bytes are a 4xx on every route, and every answer carries the headers it should."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from models.jobs import Job
from tests.bodies import SPEC_T2V

DEEP = ("[" * 30_000 + "]" * 30_000).encode()


def _rows(db) -> int:
    return db.scalar(select(func.count()).select_from(Job))


def _post_raw(client, path: str, raw: bytes, **headers: str):
    return client.post(path, data=raw, headers={"Content-Type": "application/json", **headers})


def test_a_lone_surrogate_in_the_script_is_a_422_naming_it(client, db) -> None:
    raw = json.dumps({**SPEC_T2V, "script": "A cat \ud800"}).encode()  # json escapes it

    resp = _post_raw(client, "/api/video/generate", raw)

    assert resp.status_code == 422
    assert list(resp.get_json()["error"]["fields"]) == ["script"]
    assert _rows(db) == 0


def test_json_nested_thirty_thousand_deep_is_a_400_on_generate(client, db) -> None:
    resp = _post_raw(client, "/api/video/generate", DEEP)

    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "invalid_json"
    assert _rows(db) == 0


@pytest.mark.parametrize(("secret", "status"), [("s3cret", 400), ("wrong", 401)])
def test_json_nested_thirty_thousand_deep_is_a_400_on_piapis_webhook(
    make_client, secret, status
) -> None:
    client = make_client(piapi_webhook_secret="s3cret")

    resp = _post_raw(client, "/api/webhooks/piapi", DEEP, **{"x-webhook-secret": secret})

    # The secret is checked first: without it, nothing judges the body.
    assert resp.status_code == status


@pytest.mark.parametrize("task_id", ["abc\u0000def", "abc\udc80"])
def test_nul_or_surrogate_in_a_webhook_task_id_is_a_422(make_client, messages, task_id) -> None:
    client = make_client(piapi_webhook_secret="s3cret")
    raw = json.dumps({"timestamp": 1, "data": {"task_id": task_id}}).encode()

    resp = _post_raw(client, "/api/webhooks/piapi", raw, **{"x-webhook-secret": "s3cret"})

    assert resp.status_code == 422
    assert list(resp.get_json()["error"]["fields"]) == ["data.task_id"]
    assert messages.checks == []


def test_nul_in_a_key_is_refused_too(client, db) -> None:
    raw = json.dumps({**SPEC_T2V, "bad\u0000key": 1}).encode()

    resp = _post_raw(client, "/api/video/generate", raw)

    assert resp.status_code == 422
    assert _rows(db) == 0


@pytest.mark.parametrize(
    "path", ["/api/video/library", "/api/account", "/api/providers", "/api/video/status/1"]
)
def test_authenticated_answers_are_never_cached(client, path) -> None:
    resp = client.get(path)

    assert resp.headers["Cache-Control"] == "no-store"


def test_the_account_answer_with_the_signing_secret_is_never_cached(client) -> None:
    resp = client.get("/api/account")

    assert resp.status_code == 200 and resp.get_json()["webhook_secret"].startswith("whsec_")
    assert resp.headers["Cache-Control"] == "no-store"


def test_the_docs_page_cannot_be_framed(client) -> None:
    resp = client.get("/api/docs")

    assert resp.status_code == 200
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "", "image/png"])
def test_an_unknown_route_is_a_404_whatever_its_content_type(client, content_type) -> None:
    resp = client.post("/api/video/nope", data=b"x", headers={"Content-Type": content_type})

    assert resp.status_code == 404
    error = resp.get_json()["error"]
    assert error["code"] == "not_found"
    assert "POST /api/video/nope" in error["message"]
    assert "spelling" not in error["message"]  # not Werkzeug's stock text


def test_an_unknown_route_is_a_404_without_a_key_too(make_client) -> None:
    client = make_client()
    client.environ_base.pop("HTTP_AUTHORIZATION")

    assert client.get("/api/nothing/here").status_code == 404
    assert client.get("/api/video/library").status_code == 401


def test_a_body_over_the_limit_is_a_413_that_says_the_limit(make_client) -> None:
    client = make_client(max_request_bytes=1024)

    resp = client.post("/api/video/generate", json={**SPEC_T2V, "script": "x" * 2000})

    assert resp.status_code == 413
    assert "1024 bytes" in resp.get_json()["error"]["message"]
