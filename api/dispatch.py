"""How the API hands work to the workers. Tests pass a recorder instead."""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    """The messages the API sends; each is only a nudge (the row is the truth)."""

    def submit(self, job_id: int) -> None: ...
    def cancel_remote(self, job_id: int) -> None: ...
    def check(self, job_id: int) -> None: ...
    def deliver(self, delivery_id: str) -> None: ...


class CeleryDispatcher:
    """Sends the messages as Celery tasks, by keyword (Flower then shows `job_id=...`)."""

    def submit(self, job_id: int) -> None:
        from workers.tasks import submit_job  # the API process imports workers only here

        submit_job.delay(job_id=job_id)

    def cancel_remote(self, job_id: int) -> None:
        from workers.tasks import cancel_at_piapi

        cancel_at_piapi.delay(job_id=job_id)

    def check(self, job_id: int) -> None:
        from workers.tasks import check_job

        check_job.delay(job_id=job_id)

    def deliver(self, delivery_id: str) -> None:
        from workers.tasks import deliver_webhook

        deliver_webhook.delay(delivery_id=delivery_id, attempt=1)
