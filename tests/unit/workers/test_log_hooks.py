"""A task message carries its job's ids, and a task's lines get them before it runs."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from infra import log_context
from workers.log_hooks import _bind_task, _carry_job_ids, _unbind_task


@pytest.fixture(autouse=True)
def _fresh_context() -> Iterator[None]:
    log_context.clear()
    yield
    log_context.clear()


def test_a_job_task_message_names_its_job_from_its_first_argument() -> None:
    headers: dict = {}
    _carry_job_ids(sender="workers.tasks.poll_job", body=((42, "token"), {}, {}), headers=headers)
    assert headers == {"job_id": 42}


def test_a_message_sent_while_handling_a_job_carries_its_ids() -> None:
    # A webhook delivery's arguments do not name the job; the sender's context does.
    headers: dict = {}
    with log_context.bound(job_id=7, task_id="piapi-7"):
        _carry_job_ids(
            sender="workers.tasks.deliver_webhook", body=(("d1", 1), {}, {}), headers=headers
        )
    assert headers == {"job_id": 7, "piapi_task_id": "piapi-7"}


def test_another_jobs_piapi_task_id_is_never_attached() -> None:
    headers: dict = {}
    with log_context.bound(job_id=7, task_id="piapi-7"):  # e.g. the sweeper's own context
        _carry_job_ids(sender="workers.tasks.store_job", body=((8,), {}, {}), headers=headers)
    assert headers == {"job_id": 8}


def test_a_message_about_no_job_gets_no_headers() -> None:
    headers: dict = {}
    _carry_job_ids(sender="workers.tasks.sweep_jobs", body=((), {}, {}), headers=headers)
    assert headers == {}


def test_a_running_task_binds_the_headers_ids_and_forgets_them_after() -> None:
    task = SimpleNamespace(
        name="workers.tasks.deliver_webhook",
        request=SimpleNamespace(job_id=5, piapi_task_id="piapi-5"),
    )
    _bind_task(task_id="celery-1", task=task, args=("d1", 1))
    assert log_context.current() == {
        "job_id": 5,
        "task_id": "piapi-5",
        "celery_task_id": "celery-1",
        "celery_task": "workers.tasks.deliver_webhook",
    }
    _unbind_task()
    assert log_context.current() == {}


def test_a_job_task_without_headers_takes_the_job_from_its_arguments() -> None:
    task = SimpleNamespace(name="workers.tasks.submit_job", request=SimpleNamespace())
    _bind_task(task_id="celery-2", task=task, args=(9,))
    assert log_context.current()["job_id"] == 9
