"""API keys: every /api route needs one, revoked keys stop working, tenants are isolated."""

from __future__ import annotations

import pytest

from models.accounts import ApiKey, authenticate, revoke_key
from tests.integration.conftest import SPEC_T2V, new_key

ROUTES = [
    ("post", "/api/video/generate"),
    ("get", "/api/video/status/1"),
    ("get", "/api/video/library"),
    ("post", "/api/video/1/cancel"),
    ("delete", "/api/video/1"),
    ("get", "/api/providers"),
    ("get", "/api/account"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer vgk_nope_nope", "Basic dXNlcjpwYXNz", "vgk_raw_without_scheme"],
)
def test_without_a_valid_key_every_route_is_401(make_client, method, path, authorization) -> None:
    client = make_client()
    if authorization is None:
        del client.environ_base["HTTP_AUTHORIZATION"]
    else:
        client.environ_base["HTTP_AUTHORIZATION"] = authorization

    resp = getattr(client, method)(path, json=SPEC_T2V if method == "post" else None)

    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
    assert resp.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_revoked_key_is_401_on_every_route(make_client, session_factory, method, path) -> None:
    client = make_client()
    presented = client.environ_base["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    with session_factory.begin() as s:
        key_id = s.query(ApiKey.id).order_by(ApiKey.id.desc()).first()[0]
        assert revoke_key(s, key_id)
        assert authenticate(s, presented) is None

    resp = getattr(client, method)(path, json=SPEC_T2V if method == "post" else None)
    assert resp.status_code == 401


def test_keys_are_stored_hashed(make_client, session_factory) -> None:
    client = make_client()
    presented = client.environ_base["HTTP_AUTHORIZATION"].split(" ", 1)[1]
    with session_factory() as s:
        stored = s.query(ApiKey).order_by(ApiKey.id.desc()).first()
    assert presented not in (stored.key_hash, stored.lookup)
    assert len(stored.key_hash) == 64


def test_another_users_job_is_404_everywhere(make_client) -> None:
    alice, bob = make_client(user_id=1), make_client(user_id=2)
    video_id = alice.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]

    for resp in (
        bob.get(f"/api/video/status/{video_id}"),
        bob.post(f"/api/video/{video_id}/cancel"),
        bob.delete(f"/api/video/{video_id}"),
    ):
        assert resp.status_code == 404
        assert resp.get_json()["error"] == {
            "code": "not_found",
            "message": f"No video {video_id}.",
        }
    assert bob.get("/api/video/library").get_json()["total"] == 0
    assert alice.get(f"/api/video/status/{video_id}").status_code == 200
    # and the job is untouched by bob's cancel
    assert alice.get(f"/api/video/status/{video_id}").get_json()["status"] == "processing"


def test_free_tier_forcing_a_premium_provider_is_403_with_the_reason(make_client) -> None:
    resp = make_client(user_id=3, tier="free").post(
        "/api/video/generate", json={**SPEC_T2V, "provider": "piapi_luma"}
    )
    assert resp.status_code == 403
    assert "0.12" in resp.get_json()["error"]["message"]


def test_the_cli_creates_lists_and_revokes_keys(settings, session_factory) -> None:
    from api.app import create_app

    app = create_app(settings, session_factory=session_factory)
    runner = app.test_cli_runner()

    created = runner.invoke(args=["keys", "create", "--user", "42", "--tier", "free"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("vgk_")
    with session_factory() as s:
        user = authenticate(s, secret)
        assert (user.id, user.tier) == (42, "free")

    listed = runner.invoke(args=["keys", "list", "--user", "42"])
    assert "active" in listed.output and secret not in listed.output
    key_id = listed.output.split()[0]

    assert runner.invoke(args=["keys", "revoke", key_id]).exit_code == 0
    assert runner.invoke(args=["keys", "revoke", key_id]).exit_code != 0
    with session_factory() as s:
        assert authenticate(s, secret) is None
    assert "revoked" in runner.invoke(args=["keys", "list", "--user", "42"]).output


def test_new_key_helper_gives_distinct_keys(session_factory) -> None:
    assert new_key(session_factory, 9, "pro") != new_key(session_factory, 9, "pro")
