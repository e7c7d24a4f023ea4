"""Backoff between retries: exponential, jittered, capped, never before Retry-After."""

from __future__ import annotations

import random

import pytest

from workers.backoff import BASE_S, CAP_S, backoff_s


def _ceiling(retries: int) -> float:
    return min(300.0, 2.0 * 2**retries)


def test_constants() -> None:
    assert (BASE_S, CAP_S) == (2.0, 300.0)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("retries", [0, 1, 2, 3, 5, 7, 8, 9, 20, 60])
def test_jitter_stays_within_half_ceiling_and_ceiling(seed: int, retries: int) -> None:
    wait = backoff_s(retries, rng=random.Random(seed))

    assert _ceiling(retries) / 2 <= wait <= _ceiling(retries)


@pytest.mark.parametrize("seed", range(20))
def test_grows_with_each_retry_until_the_cap(seed: int) -> None:
    rng = random.Random(seed)
    waits = [backoff_s(retries, rng=rng) for retries in range(8)]  # ceilings 2..256

    assert waits == sorted(waits)
    assert waits[0] <= 2.0
    assert waits[7] >= 128.0


def test_first_retry_is_between_one_and_two_seconds() -> None:
    waits = {backoff_s(0, rng=random.Random(seed)) for seed in range(50)}

    assert min(waits) >= 1.0
    assert max(waits) <= 2.0
    assert len(waits) > 1  # jittered, not constant


@pytest.mark.parametrize("retries", [8, 10, 50, 1000])
def test_capped_at_300_seconds(retries: int) -> None:
    waits = [backoff_s(retries, rng=random.Random(seed)) for seed in range(50)]

    assert max(waits) <= 300.0
    assert min(waits) >= 150.0


def test_capped_for_any_retry_count() -> None:
    assert backoff_s(1024, rng=random.Random(0)) <= 300.0


@pytest.mark.parametrize(("retries", "retry_after"), [(0, 7.0), (3, 45.0), (20, 900.0)])
def test_retry_after_is_a_minimum(retries: int, retry_after: float) -> None:
    wait = backoff_s(retries, retry_after=retry_after, rng=random.Random(0))

    assert wait == retry_after


@pytest.mark.parametrize("retry_after", [0.0, 0.5, None])
def test_short_or_missing_retry_after_keeps_the_backoff(
    retry_after: float | None,
) -> None:
    with_hint = backoff_s(4, retry_after=retry_after, rng=random.Random(3))
    without = backoff_s(4, rng=random.Random(3))

    assert with_hint == without
    assert 16.0 <= with_hint <= 32.0


def test_same_seed_same_wait() -> None:
    assert backoff_s(5, rng=random.Random(42)) == backoff_s(5, rng=random.Random(42))
