"""Settings read from the environment: the concurrency limits, unset or a whole number >= 1."""

from __future__ import annotations

import pytest

from infra.settings import Settings


def test_no_limit_by_default() -> None:
    settings = Settings.from_env({})

    assert settings.piapi_max_concurrent_tasks is None
    assert settings.sandbox_max_concurrent_tasks is None


def test_limits_are_read() -> None:
    settings = Settings.from_env(
        {"PIAPI_MAX_CONCURRENT_TASKS": "4", "SANDBOX_MAX_CONCURRENT_TASKS": "5"}
    )

    assert (settings.piapi_max_concurrent_tasks, settings.sandbox_max_concurrent_tasks) == (4, 5)


@pytest.mark.parametrize("value", ["0", "-3", "four", "2.5"])
@pytest.mark.parametrize("name", ["PIAPI_MAX_CONCURRENT_TASKS", "SANDBOX_MAX_CONCURRENT_TASKS"])
def test_a_limit_must_be_a_whole_number_of_at_least_one(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
