"""When to ask PiAPI again about one task: sparsely before its likely end, densely around it.

A fixed interval (the spec polls every 30 s) makes a finished video wait half an interval
on average before anyone knows, and spends most of its calls on tasks that cannot be done
yet. A model's typical runtime, refined by the progress PiAPI reports, says when an answer
is likely, so the first poll lands just before that moment and the next ones follow
closely until it comes. With PiAPI's webhooks on, the webhook brings the answer and the
poll chain is only a sparse safety net for a lost one.

This module is pure: the caller reads the clock and the job, and passes a Random to fix
the jitter in tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from infra.settings import Settings

FIXED = "fixed"
ADAPTIVE = "adaptive"
POLICIES = (ADAPTIVE, FIXED)

# Jobs created together would otherwise poll together, in waves, for their whole life.
JITTER = 0.1
# Tasks end early as well as late: dense polling starts this fraction of the expected
# runtime before the expected end. Wider catches more early finishers, at more calls.
WINDOW = 0.2
# In that window polls are this fraction of the expected runtime apart, bounded below by
# min_interval_s and above by NEAR_INTERVAL_S: a 60 s model is polled every 4 s.
NEAR_FRACTION = 0.07
# Around the expected end, polls are never further apart than this: a video is seen
# within about this long of its end.
NEAR_INTERVAL_S = 4.0
# With PiAPI's webhooks on, the safety polls are at most this far apart.
SAFETY_INTERVAL_S = 300.0
# Past the expected end, the spacing grows with how late the task is, up to
# max_interval_s for tasks far beyond it (stuck in PiAPI's queue, say).
OVERDUE_GROWTH = 2.0


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The knobs (POLL_* settings, where their defaults live); every figure is in seconds."""

    kind: str
    fixed_interval_s: float  # the whole policy when kind is "fixed"
    min_interval_s: float
    max_interval_s: float
    runtime_scale: float  # shrinks typical runtimes, for a time-scaled sandbox

    @classmethod
    def from_settings(cls, settings: Settings) -> PollPolicy:
        """The policy the settings describe."""
        return cls(
            kind=settings.poll_policy,
            fixed_interval_s=settings.poll_interval_s,
            min_interval_s=settings.poll_min_interval_s,
            max_interval_s=settings.poll_max_interval_s,
            runtime_scale=settings.poll_runtime_scale,
        )


@dataclass(frozen=True, slots=True)
class TaskClock:
    """What is known about one PiAPI task when deciding the next poll."""

    elapsed_s: float  # since PiAPI accepted the task
    typical_runtime_s: float  # the model's usual creation-to-end time, unscaled
    deadline_in_s: float  # until the job fails with `timeout`
    progress: int | None = None  # PiAPI's percent, when it reports one
    webhooks: bool = False  # PiAPI will call us back when the task ends


def expected_runtime_s(policy: PollPolicy, clock: TaskClock) -> float:
    """The task's likely total runtime: the model's typical one, corrected by progress.

    Progress p after t seconds suggests a total of t * 100 / p; the suggestion is trusted
    more the further the task has got, since early percentages are the noisiest.
    """
    typical = clock.typical_runtime_s * policy.runtime_scale
    progress = clock.progress
    if progress is None or not 0 < progress < 100 or clock.elapsed_s <= 0:
        return typical
    by_progress = clock.elapsed_s * 100 / progress
    weight = progress / 100
    return weight * by_progress + (1 - weight) * typical


def next_poll_in_s(policy: PollPolicy, clock: TaskClock, rng: random.Random | None = None) -> float:
    """Seconds until the next poll of this task.

    Between min_interval_s and max_interval_s (SAFETY_INTERVAL_S with webhooks), never
    past the job's deadline, so a task that runs out of time is failed on time.
    """
    if policy.kind == FIXED:
        return policy.fixed_interval_s
    expected = expected_runtime_s(policy, clock)
    remaining = expected - clock.elapsed_s
    if clock.webhooks:
        # The first safety poll comes once the task is well overdue; then sparse ones.
        wait = max(2 * remaining, expected)
        ceiling = SAFETY_INTERVAL_S
    else:
        near = min(max(expected * NEAR_FRACTION, policy.min_interval_s), NEAR_INTERVAL_S)
        until_window = expected * (1 - WINDOW) - clock.elapsed_s
        if until_window > near:
            wait = until_window  # nothing is likely before the window: one sparse jump
        elif remaining >= 0:
            wait = near
        else:
            overdue = -remaining / max(expected, policy.min_interval_s)
            wait = near * (1 + OVERDUE_GROWTH * overdue)
        ceiling = policy.max_interval_s
    wait *= (rng or random).uniform(1 - JITTER, 1 + JITTER)
    wait = min(max(wait, policy.min_interval_s), ceiling)
    return min(wait, max(clock.deadline_in_s, 0.0))
