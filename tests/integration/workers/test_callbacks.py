"""Webhook deliveries on real Postgres, against `responses`: signed, retried, recorded."""

from __future__ import annotations

import json

import requests
import responses
from standardwebhooks import Webhook

from infra.settings import Settings
from models import jobs, webhooks
from models.accounts import ensure_user
from models.jobs import Status
from models.webhooks import DeliveryState, WebhookDelivery
from providers.guarded_http import guarded_session
from tests.fake_network import FakeDNS, install_network, serving, tls_server_context
from tests.fakes import RecordingMessages
from tests.integration.conftest import SPEC_T2V
from workers import events
from workers.callbacks import RETRY_SCHEDULE_S, deliver_once
from workers.sweeper import SweepPolicy, sweep

DEFAULTS = Settings.from_env({})

HOOK = "https://hooks.example.com/videos"


def _job_with_hook(session_factory, make_job, events=("completed", "failed", "canceled")):
    with session_factory.begin() as s:
        secret = ensure_user(s, 1, "pro").webhook_secret
    job_id = make_job(webhook_url=HOOK, webhook_events=list(events))
    return job_id, secret


def _cancel_with_event(session_factory, job_id) -> str:
    with session_factory.begin() as s:
        assert jobs.cancel(s, job_id)
        return events.record_event(s, job_id, "canceled")


def test_a_delivery_is_signed_retried_with_the_same_id_and_recorded(
    session_factory, make_job
) -> None:
    job_id, secret = _job_with_hook(session_factory, make_job)
    delivery_id = _cancel_with_event(session_factory, job_id)
    http = requests.Session()

    with responses.RequestsMock() as hook:
        hook.post(HOOK, status=500)
        hook.post(HOOK, status=204)
        wait = deliver_once(session_factory, http, delivery_id, 1)
        assert wait == RETRY_SCHEDULE_S[0]
        assert deliver_once(session_factory, http, delivery_id, 1) is None  # stale
        assert deliver_once(session_factory, http, delivery_id, 2) is None
        first, second = (call.request for call in hook.calls)

    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery_id
    assert first.body == second.body  # the frozen payload, byte for byte
    body = Webhook(secret).verify(second.body, dict(second.headers))
    assert body["type"] == "video.canceled"
    assert body["data"]["video_id"] == str(job_id)
    assert body["data"]["status"] == "canceled"
    with session_factory() as s:
        delivery = s.get(WebhookDelivery, delivery_id)
        assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
            DeliveryState.DELIVERED,
            2,
            204,
        )
        attempts = webhooks.attempts_for(s, [delivery_id])
        assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 204)]


def test_the_status_body_shows_deliveries_and_attempts(client, session_factory) -> None:
    with session_factory.begin() as s:
        ensure_user(s, 1, "pro")
    video_id = client.post("/api/video/generate", json=SPEC_T2V).get_json()["video_id"]
    with session_factory.begin() as s:
        job = s.get(jobs.Job, int(video_id))
        job.webhook_url, job.webhook_events = HOOK, ["canceled"]
    delivery_id = _cancel_with_event(session_factory, int(video_id))
    with responses.RequestsMock() as hook:
        hook.post(HOOK, body=requests.ConnectionError("refused"))
        deliver_once(session_factory, requests.Session(), delivery_id, 1)

    body = client.get(f"/api/video/status/{video_id}").get_json()
    (shown,) = body["webhook_deliveries"]
    assert (shown["id"], shown["event"], shown["state"]) == (delivery_id, "canceled", "pending")
    assert shown["attempts"][0]["error"] == "ConnectionError"
    assert shown["next_attempt_at"] is not None


def test_only_the_events_asked_for_are_sent(session_factory, make_job) -> None:
    job_id, _ = _job_with_hook(session_factory, make_job, events=("completed",))
    with session_factory.begin() as s:
        jobs.cancel(s, job_id)
        assert events.record_event(s, job_id, "canceled") is None


def test_an_address_refused_at_connect_time_is_recorded_as_refused(
    session_factory, make_job, monkeypatch
) -> None:
    # The guarded session looks the host up itself: here it answers loopback (rebinding
    # after the check at submission), so nothing is sent and nothing is retried.
    job_id, _ = _job_with_hook(session_factory, make_job)
    delivery_id = _cancel_with_event(session_factory, job_id)
    network = install_network(monkeypatch)
    dns = FakeDNS({"hooks.example.com": ["127.0.0.1"]})

    wait = deliver_once(
        session_factory, guarded_session(allow_private=False, resolve=dns), delivery_id, 1
    )

    assert wait is None
    assert dns.calls == ["hooks.example.com"]
    assert network.targets == []
    with session_factory() as s:
        delivery = s.get(WebhookDelivery, delivery_id)
        assert delivery.state == DeliveryState.FAILED
        assert delivery.last_error == "refused: its host resolves to a non-public address"
        (attempt,) = webhooks.attempts_for(s, [delivery_id])
        assert attempt.status_code is None


def test_a_guarded_delivery_goes_to_the_checked_address_over_tls(
    session_factory, make_job, monkeypatch, tmp_path
) -> None:
    job_id, _ = _job_with_hook(session_factory, make_job)
    delivery_id = _cancel_with_event(session_factory, job_id)
    network = install_network(monkeypatch)
    dns = FakeDNS({"hooks.example.com": ["93.184.216.34", "127.0.0.1"]})
    cert, context = tls_server_context(tmp_path, "hooks.example.com")
    http = guarded_session(allow_private=False, resolve=dns)
    http.verify = str(cert)

    with serving(wrap=lambda sock: context.wrap_socket(sock, server_side=True)) as receiver:
        network.route("93.184.216.34", 443, receiver.port)
        receiver.replies["/videos"] = (204, {}, b"")
        assert deliver_once(session_factory, http, delivery_id, 1) is None

    assert dns.calls == ["hooks.example.com"]  # the second answer, loopback, is never asked for
    assert network.targets == [("93.184.216.34", 443)]
    assert receiver.seen == [("/videos", "hooks.example.com")]
    with session_factory() as s:
        assert s.get(WebhookDelivery, delivery_id).state == DeliveryState.DELIVERED


def test_a_delivery_gives_up_after_the_schedule(session_factory, make_job) -> None:
    job_id, _ = _job_with_hook(session_factory, make_job)
    delivery_id = _cancel_with_event(session_factory, job_id)
    last = len(RETRY_SCHEDULE_S) + 1
    with session_factory.begin() as s:
        s.get(WebhookDelivery, delivery_id).attempts = last - 1

    with responses.RequestsMock() as hook:
        hook.post(HOOK, status=503)
        assert deliver_once(session_factory, requests.Session(), delivery_id, last) is None

    assert sum(RETRY_SCHEDULE_S) > 6 * 3600  # hours, not minutes
    with session_factory() as s:
        assert s.get(WebhookDelivery, delivery_id).state == DeliveryState.FAILED


def test_the_sweeper_resends_a_lost_delivery_and_events_for_expired_jobs(
    session_factory, make_job
) -> None:
    import datetime as dt

    from models.db import utcnow

    job_id, _ = _job_with_hook(session_factory, make_job)
    with session_factory.begin() as s:
        s.get(jobs.Job, job_id).deadline_at = utcnow() - dt.timedelta(seconds=1)
        s.get(jobs.Job, job_id).run_deadline_s = None  # the request's own deadline
    nudges = RecordingMessages()
    report = sweep(session_factory, policy=SweepPolicy.from_settings(DEFAULTS), messages=nudges)
    assert report.timed_out == [job_id]
    ((delivery_id, attempt),) = nudges.deliveries
    assert attempt == 1
    with session_factory() as s:
        payload = s.get(WebhookDelivery, delivery_id).payload
        assert payload["data"]["error_code"] == "timeout"
        assert json.dumps(payload)  # stored as JSON

    # the message for it is lost; a later sweep finds the overdue attempt
    later = utcnow() + dt.timedelta(minutes=5)
    again = RecordingMessages()
    sweep(session_factory, policy=SweepPolicy.from_settings(DEFAULTS), messages=again, now=later)
    assert again.deliveries == [(delivery_id, 1)]
    with session_factory() as s:
        assert s.get(jobs.Job, job_id).status is Status.FAILED
