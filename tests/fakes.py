"""Test doubles shared by every kind of test."""

from __future__ import annotations

import dataclasses
import uuid


@dataclasses.dataclass
class RecordingMessages:
    """Stands in for the broker: records every message sent (infra.messages.Messages)."""

    submits: list[int] = dataclasses.field(default_factory=list)
    polls: list[tuple[int, uuid.UUID]] = dataclasses.field(default_factory=list)
    checks: list[int] = dataclasses.field(default_factory=list)
    cancels: list[int] = dataclasses.field(default_factory=list)
    deliveries: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    stores: list[int] = dataclasses.field(default_factory=list)
    countdowns: list[tuple[str, float | None]] = dataclasses.field(default_factory=list)
    starts: list[float | None] = dataclasses.field(default_factory=list)  # their countdowns

    def submit(self, job_id: int) -> None:
        self.submits.append(job_id)

    def poll(self, job_id: int, token: uuid.UUID, *, countdown: float | None = None) -> None:
        self.polls.append((job_id, token))
        self.countdowns.append(("poll", countdown))

    def check(self, job_id: int) -> None:
        self.checks.append(job_id)

    def cancel_remote(self, job_id: int) -> None:
        self.cancels.append(job_id)

    def deliver(
        self, delivery_id: str, attempt: int = 1, *, countdown: float | None = None
    ) -> None:
        self.deliveries.append((delivery_id, attempt))
        self.countdowns.append(("deliver", countdown))

    def store(self, job_id: int, *, countdown: float | None = None) -> None:
        self.stores.append(job_id)
        self.countdowns.append(("store", countdown))

    def start_waiting(self, *, countdown: float | None = None) -> None:
        self.starts.append(countdown)
