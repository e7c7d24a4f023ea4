"""The poll policy as a pure function: bounds, jitter, progress, deadline, webhooks."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.settings import Settings
from models.db import utcnow
from providers.catalogue import CATALOGUE
from workers.poll_policy import (
    FIXED,
    JITTER,
    NEAR_INTERVAL_S,
    SAFETY_INTERVAL_S,
    PollPolicy,
    TaskClock,
    expected_runtime_s,
    next_poll_in_s,
)
from workers.polling import PollSubject, planner

# The defaults of a deployment on the real PiAPI (with the sandbox, runtimes are scaled).
POLICY = PollPolicy.from_settings(Settings.from_env({"PIAPI_API_KEY": "key"}))
FAR = 3600.0  # a deadline that plays no part


def clock(elapsed: float, *, typical: float = 60, progress: int | None = None, **kw) -> TaskClock:
    return TaskClock(
        elapsed_s=elapsed,
        typical_runtime_s=typical,
        deadline_in_s=kw.pop("deadline_in_s", FAR),
        progress=progress,
        **kw,
    )


def no_jitter() -> random.Random:
    """A Random whose uniform() answers the middle of the range: the unjittered wait."""

    class Middle(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return (a + b) / 2

    return Middle()


def test_the_fixed_policy_is_the_specs_constant_interval() -> None:
    fixed = replace(POLICY, kind=FIXED, fixed_interval_s=30)
    for elapsed in (0, 29, 61, 500):
        assert next_poll_in_s(fixed, clock(elapsed, progress=50)) == 30


def test_one_sparse_poll_comes_first_at_the_start_of_the_likely_window() -> None:
    # A 60 s model may end from 48 s on: nothing is asked before that.
    assert next_poll_in_s(POLICY, clock(0), no_jitter()) == pytest.approx(48)
    assert next_poll_in_s(POLICY, clock(20), no_jitter()) == pytest.approx(28)
    # A long model's wait before its window is capped by max_interval_s.
    assert next_poll_in_s(POLICY, clock(0, typical=2000), no_jitter()) == POLICY.max_interval_s


def test_polls_are_dense_near_the_expected_end_and_grow_once_overdue() -> None:
    window = next_poll_in_s(POLICY, clock(47), no_jitter())
    near = next_poll_in_s(POLICY, clock(58), no_jitter())
    just_late = next_poll_in_s(POLICY, clock(63), no_jitter())
    very_late = next_poll_in_s(POLICY, clock(240), no_jitter())
    assert window == near == pytest.approx(4)
    assert just_late == pytest.approx(4 * (1 + 2 * 3 / 60))
    assert near < just_late < very_late
    assert very_late <= POLICY.max_interval_s


def test_the_spacing_near_the_end_is_capped_for_long_models() -> None:
    # 7 % of 480 s would be 34 s; the cap keeps detection within seconds.
    assert next_poll_in_s(POLICY, clock(478, typical=480), no_jitter()) == pytest.approx(4)


def test_progress_moves_the_expected_end() -> None:
    assert expected_runtime_s(POLICY, clock(30)) == 60
    ahead = expected_runtime_s(POLICY, clock(30, progress=90))
    behind = expected_runtime_s(POLICY, clock(30, progress=10))
    assert ahead == pytest.approx(0.9 * 30 / 0.9 + 0.1 * 60)
    assert behind == pytest.approx(0.1 * 300 + 0.9 * 60)
    # A task 90 % done after 30 s is polled again soon; one 10 % done, much later.
    rng = no_jitter()
    assert next_poll_in_s(POLICY, clock(30, progress=90), rng) == pytest.approx(0.07 * 36)
    assert next_poll_in_s(POLICY, clock(30, progress=10), rng) > next_poll_in_s(
        POLICY, clock(30), rng
    )


@pytest.mark.parametrize("progress", [None, 0, 100, 150, -5])
def test_progress_outside_0_to_100_is_ignored(progress: int | None) -> None:
    assert expected_runtime_s(POLICY, clock(30, progress=progress)) == 60


def test_jitter_spreads_jobs_created_together_within_its_bound() -> None:
    waits = [next_poll_in_s(POLICY, clock(0), random.Random(seed)) for seed in range(200)]
    assert min(waits) >= 48 * (1 - JITTER)
    assert max(waits) <= 48 * (1 + JITTER)
    assert len({round(w, 3) for w in waits}) > 150  # not a wave
    assert max(waits) - min(waits) > 48 * JITTER  # spread over most of the range


def test_the_same_random_state_gives_the_same_wait() -> None:
    one = next_poll_in_s(POLICY, clock(10), random.Random(7))
    assert one == next_poll_in_s(POLICY, clock(10), random.Random(7))


def test_no_poll_is_planned_past_the_deadline() -> None:
    assert next_poll_in_s(POLICY, clock(0, deadline_in_s=20), no_jitter()) == 20
    assert next_poll_in_s(POLICY, clock(0, deadline_in_s=0.5), no_jitter()) == 0.5
    assert next_poll_in_s(POLICY, clock(900, deadline_in_s=-3), no_jitter()) == 0


def test_with_webhooks_only_a_sparse_safety_poll_remains() -> None:
    rng = no_jitter()
    first = next_poll_in_s(POLICY, clock(0, webhooks=True), rng)
    assert first == pytest.approx(120)  # well after the 60 s the task usually takes
    assert next_poll_in_s(POLICY, clock(0, typical=480, webhooks=True), rng) == 300  # capped
    # Even when overdue it does not poll densely: the webhook will tell.
    assert next_poll_in_s(POLICY, clock(200, webhooks=True), rng) >= 60


def test_runtime_scale_follows_a_time_scaled_sandbox() -> None:
    scaled = replace(POLICY, runtime_scale=0.1, min_interval_s=0.1)
    assert expected_runtime_s(scaled, clock(0)) == pytest.approx(6)
    assert next_poll_in_s(scaled, clock(0), no_jitter()) == pytest.approx(4.8)
    assert next_poll_in_s(scaled, clock(5), no_jitter()) == pytest.approx(0.07 * 6)


@given(
    elapsed=st.floats(0, 10_000),
    typical=st.floats(0, 2_000),
    progress=st.one_of(st.none(), st.integers(-10, 200)),
    deadline_in_s=st.floats(-100, 20_000),
    webhooks=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_every_wait_is_within_bounds(
    elapsed: float,
    typical: float,
    progress: int | None,
    deadline_in_s: float,
    webhooks: bool,
    seed: int,
) -> None:
    c = clock(
        elapsed, typical=typical, progress=progress, deadline_in_s=deadline_in_s, webhooks=webhooks
    )
    wait = next_poll_in_s(POLICY, c, random.Random(seed))
    ceiling = SAFETY_INTERVAL_S if webhooks else POLICY.max_interval_s
    assert 0 <= wait <= ceiling
    assert wait <= max(deadline_in_s, 0)
    if deadline_in_s >= POLICY.min_interval_s:
        assert wait >= POLICY.min_interval_s


def simulate(
    policy: PollPolicy, runtime_s: float, typical_s: float, seed: int
) -> tuple[int, float]:
    """Polls of one task that ends after runtime_s: (calls made, detection lag in s)."""
    rng = random.Random(seed)
    now = next_poll_in_s(policy, clock(0, typical=typical_s), rng)
    calls = 1
    while now < runtime_s:
        now += next_poll_in_s(policy, clock(now, typical=typical_s), rng)
        calls += 1
    return calls, now - runtime_s


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda m: m.key)
def test_adaptive_detects_within_5s_for_at_most_twice_the_fixed_calls(model: object) -> None:
    """The issue's polling target, on tasks ending from 0.8x to 1.1x their usual runtime."""
    first_mode = next(iter(model.modes))  # type: ignore[attr-defined]
    typical = model.runtime_for(first_mode)  # type: ignore[attr-defined]
    fixed = replace(POLICY, kind=FIXED, fixed_interval_s=30)
    ours, theirs, lags = [], [], []
    for seed in range(200):
        runtime = typical * random.Random(seed).uniform(0.8, 1.1)
        calls, lag = simulate(POLICY, runtime, typical, seed)
        ours.append(calls)
        lags.append(lag)
        theirs.append(simulate(fixed, runtime, typical, seed)[0] + 1)  # it asks once more
    assert sorted(lags)[int(0.95 * len(lags))] <= 5
    assert max(lags) <= NEAR_INTERVAL_S * (1 + JITTER) * 1.25
    assert sum(ours) <= 2 * sum(theirs)


@pytest.mark.parametrize("spread", [0.3, 0.6, 1.5, 3.0])
def test_tasks_far_from_their_usual_runtime_cost_more_calls_but_no_more_lag(
    spread: float,
) -> None:
    """The price of dense polling: a task that runs 3x too long is polled more than 2x."""
    typical = 60.0
    calls, lag = simulate(POLICY, typical * spread, typical, seed=1)
    fixed_calls, _ = simulate(replace(POLICY, kind=FIXED), typical * spread, typical, seed=1)
    assert calls <= 4 * fixed_calls
    assert lag <= 30  # never later than the fixed policy could be


def test_the_planner_reads_the_jobs_clock() -> None:
    now = utcnow()
    subject = PollSubject(
        typical_runtime_s=60,
        started_at=now - dt.timedelta(seconds=58),
        deadline_at=now + dt.timedelta(hours=1),
    )
    wait = planner(POLICY, webhooks=False)(subject, None)
    assert 4 * (1 - JITTER) <= wait <= 4 * (1 + JITTER)  # dense: it is nearly due
    not_started = PollSubject(60, None, now + dt.timedelta(hours=1))
    assert planner(POLICY, webhooks=False)(not_started, None) >= 48 * (1 - JITTER)
