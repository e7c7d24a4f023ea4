"""submit_once and poll_once on real Postgres, against the sandbox over real HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import responses

from models.db import utcnow
from models.jobs import Job, Phase, Status
from providers.piapi import PiAPIClient
from providers.sandbox.engine import FAIL_MARKER
from tests.integration.conftest import SPEC_I2V, SPEC_T2V, mark_polling
from workers.polling import every, poll_once
from workers.submission import Ended, RetryIn, submit_once

INTERVAL = 7.0


def _wait(retry_after: float | None) -> float:
    return retry_after or 3.0


def _submit(session_factory, client, job_id):
    return submit_once(
        session_factory, client, job_id, plan_poll=every(INTERVAL), retry_wait_s=_wait
    )


def _poll(session_factory, client, job_id, token):
    return poll_once(
        session_factory, client, job_id, token, plan_poll=every(INTERVAL), retry_wait_s=_wait
    )


def _job(session_factory, job_id: int) -> Job:
    with session_factory() as s:
        return s.get(Job, job_id)


def _submitted(session_factory, make_job, sandbox, body=None):
    job_id = make_job(body)
    client = PiAPIClient(sandbox.url, "test-key")
    submitted = submit_once(
        session_factory, client, job_id, plan_poll=every(INTERVAL), retry_wait_s=_wait
    )
    assert submitted is not None
    return job_id, client, submitted.token


def test_submit_creates_one_task_and_starts_polling(session_factory, make_job, sandbox) -> None:
    job_id, client, token = _submitted(session_factory, make_job, sandbox)

    job = _job(session_factory, job_id)
    assert (job.phase, job.status, job.poll_token) == (
        Phase.POLLING,
        Status.PROCESSING,
        token,
    )
    assert job.task_id == sandbox.sandbox.summary()[0]["task_id"]
    assert job.next_poll_at > utcnow() + dt.timedelta(seconds=INTERVAL - 2)
    assert job.provider_response["status"] == "pending"

    # invariant 3: a duplicated submit message finds the job claimed and pays nothing
    assert _submit(session_factory, client, job_id) is None
    assert sandbox.sandbox.create_calls == 1


def test_image_to_video_sends_the_image_where_piapi_reads_it(
    session_factory, make_job, sandbox
) -> None:
    _submitted(session_factory, make_job, sandbox, SPEC_I2V)

    (task,) = sandbox.sandbox._tasks.values()
    assert task.body["task_type"] == "img2video-14b"
    assert task.body["input"]["image"] == SPEC_I2V["image_url"]


def test_poll_follows_the_task_to_completion(session_factory, make_job, sandbox) -> None:
    job_id, client, token = _submitted(session_factory, make_job, sandbox)

    assert (
        poll_once(
            session_factory, client, job_id, token, plan_poll=every(INTERVAL), retry_wait_s=_wait
        ).next_poll_in_s
        == INTERVAL
    )
    assert _job(session_factory, job_id).status is Status.PROCESSING

    sandbox.clock[0] += 3600  # the sandbox task has finished
    assert (
        poll_once(
            session_factory, client, job_id, token, plan_poll=every(INTERVAL), retry_wait_s=_wait
        ).next_poll_in_s
        is None
    )

    job = _job(session_factory, job_id)
    assert (job.status, job.phase, job.progress, job.poll_count) == (
        Status.COMPLETED,
        Phase.DONE,
        100,
        2,
    )
    assert job.video_url == f"{sandbox.url}/media/{job.task_id}/video.mp4"
    assert job.completed_at is not None
    assert job.storage_state == "pending"  # its files are to be copied next


def test_luma_completion_stores_every_media_field(session_factory, make_job, sandbox) -> None:
    job_id, client, token = _submitted(
        session_factory, make_job, sandbox, {**SPEC_T2V, "provider": "piapi_luma"}
    )
    sandbox.clock[0] += 3600
    _poll(session_factory, client, job_id, token)

    job = _job(session_factory, job_id)
    base = f"{sandbox.url}/media/{job.task_id}"
    assert (job.video_url, job.video_raw_url) == (
        f"{base}/video.mp4",
        f"{base}/video_raw.mp4",
    )
    assert (job.thumbnail_url, job.last_frame_url) == (
        f"{base}/thumbnail.jpg",
        f"{base}/last_frame.jpg",
    )
    assert (job.video_width, job.video_height) == (320, 180)


def test_a_provider_failure_stores_piapis_code_and_message(
    session_factory, make_job, sandbox
) -> None:
    job_id, client, token = _submitted(
        session_factory,
        make_job,
        sandbox,
        {**SPEC_T2V, "script": f"doomed {FAIL_MARKER}"},
    )
    sandbox.clock[0] += 3600
    _poll(session_factory, client, job_id, token)

    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "10000")
    assert job.error_message == "task failed: the sandbox was told to fail this task"


def test_a_stale_chain_and_a_late_poll_change_nothing(session_factory, make_job, sandbox) -> None:
    job_id, client, token = _submitted(session_factory, make_job, sandbox)

    # invariant 4: a chain with another token ends itself without calling PiAPI
    assert (
        poll_once(
            session_factory,
            client,
            job_id,
            uuid.uuid4(),
            plan_poll=every(INTERVAL),
            retry_wait_s=_wait,
        ).next_poll_in_s
        is None
    )
    assert _job(session_factory, job_id).poll_count == 0

    sandbox.clock[0] += 3600
    _poll(session_factory, client, job_id, token)
    polls_seen = sandbox.sandbox.summary()[0]["polls"]

    # invariant 5: a late, redelivered poll of the finished job does nothing at all
    assert (
        poll_once(
            session_factory, client, job_id, token, plan_poll=every(INTERVAL), retry_wait_s=_wait
        ).next_poll_in_s
        is None
    )
    assert sandbox.sandbox.summary()[0]["polls"] == polls_seen
    assert _job(session_factory, job_id).status is Status.COMPLETED


def test_a_job_past_its_deadline_fails_with_timeout(session_factory, make_job, sandbox) -> None:
    job_id, client, token = _submitted(session_factory, make_job, sandbox)
    with session_factory.begin() as s:
        s.get(Job, job_id).deadline_at = utcnow() - dt.timedelta(seconds=1)

    assert (
        poll_once(
            session_factory, client, job_id, token, plan_poll=every(INTERVAL), retry_wait_s=_wait
        ).next_poll_in_s
        is None
    )
    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "timeout")


BASE = "https://piapi.test"


def test_a_refused_create_hands_the_claim_back_until_retry_after(session_factory, make_job) -> None:
    job_id = make_job()
    with responses.RequestsMock() as piapi:
        piapi.post(
            f"{BASE}/api/v1/task",
            status=429,
            headers={"Retry-After": "7"},
            json={"code": 429, "message": "slow down", "data": None},
        )
        outcome = submit_once(
            session_factory,
            PiAPIClient(BASE, "k"),
            job_id,
            plan_poll=every(INTERVAL),
            retry_wait_s=_wait,
        )
    assert outcome == RetryIn(7.0)
    job = _job(session_factory, job_id)
    assert (job.phase, job.status, job.submit_attempts) == (Phase.QUEUED, Status.PROCESSING, 1)
    # the sweeper sees when the retry is due, and leaves it alone until then
    assert job.next_poll_at > utcnow() + dt.timedelta(seconds=5)


def test_a_create_with_unknown_outcome_fails_instead_of_paying_twice(
    session_factory, make_job
) -> None:
    job_id = make_job()
    with responses.RequestsMock() as piapi:
        piapi.post(f"{BASE}/api/v1/task", body="<html>502 Bad Gateway</html>", status=502)
        assert _submit(session_factory, PiAPIClient(BASE, "k"), job_id) == Ended(())
    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "submission_unknown")


def test_a_rejected_create_fails_the_job_with_piapis_reason(session_factory, make_job) -> None:
    job_id = make_job()
    with responses.RequestsMock() as piapi:
        piapi.post(
            f"{BASE}/api/v1/task",
            status=400,
            json={"code": 400, "message": "prompt violates policy", "data": None},
        )
        assert _submit(session_factory, PiAPIClient(BASE, "k"), job_id) == Ended(())
    job = _job(session_factory, job_id)
    assert (job.status, job.error_code) == (Status.FAILED, "provider_rejected")
    assert "prompt violates policy" in job.error_message


# --- options sent, and what PiAPI charged -----------------------------------------


def test_options_reach_piapi_and_the_charge_is_recorded(session_factory, make_job, sandbox) -> None:
    body = {
        **SPEC_T2V,
        "provider": "piapi_kling_3",
        "options": {"enable_audio": True, "negative_prompt": "blur"},
    }
    job_id, client, token = _submitted(session_factory, make_job, sandbox, body)

    (task,) = sandbox.sandbox._tasks.values()
    sent = task.body["input"]
    assert (sent["version"], sent["duration"], sent["mode"]) == ("3.0", 5, "std")
    assert (sent["enable_audio"], sent["negative_prompt"]) == (True, "blur")
    assert _job(session_factory, job_id).charged_usd is None  # not ended yet

    sandbox.clock[0] += 3600
    _poll(session_factory, client, job_id, token)

    job = _job(session_factory, job_id)
    assert job.status is Status.COMPLETED
    assert (job.cost, job.charged_usd) == (Decimal("0.7500"), Decimal("0.7500"))


def test_a_failed_task_records_what_piapi_charged_for_it(
    session_factory, make_job, sandbox
) -> None:
    job_id, client, token = _submitted(
        session_factory, make_job, sandbox, {**SPEC_T2V, "script": f"doomed {FAIL_MARKER}"}
    )
    sandbox.clock[0] += 3600
    _poll(session_factory, client, job_id, token)

    job = _job(session_factory, job_id)
    assert (job.status, job.charged_usd) == (Status.FAILED, Decimal("0"))


@pytest.mark.parametrize(
    ("status", "consume", "charged"),
    [("completed", 3_200_000, "0.3200"), ("failed", 0, "0"), ("completed", None, None)],
)
def test_charged_usd_comes_from_the_usage_points(
    session_factory, make_job, status, consume, charged
) -> None:
    job_id = make_job({**SPEC_T2V, "provider": "piapi_sora2", "duration": 4})
    mark_polling(session_factory, job_id, "task-sora")
    usage = {"type": "point", "frozen": 3_200_000}
    if consume is not None:
        usage["consume"] = consume
    task = {
        "task_id": "task-sora",
        "model": "sora2",
        "task_type": "sora2-video",
        "status": status,
        "output": {"video": "https://cdn.test/v.mp4" if status == "completed" else ""},
        "meta": {"usage": usage},
        "error": {"code": 0 if status == "completed" else 10000, "message": "no"},
    }
    with responses.RequestsMock() as piapi:
        piapi.get(f"{BASE}/api/v1/task/task-sora", json={"code": 200, "data": task})
        _poll(session_factory, PiAPIClient(BASE, "k"), job_id, None)

    job = _job(session_factory, job_id)
    assert job.status.value == status
    assert job.cost == Decimal("0.3200")
    assert job.charged_usd == (None if charged is None else Decimal(charged))
