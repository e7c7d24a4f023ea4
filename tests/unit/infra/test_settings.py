"""Settings read from the environment: the concurrency limits and the upload settings."""

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


def test_uploads_default_to_20_mb_and_a_day() -> None:
    settings = Settings.from_env({})

    assert settings.upload_max_bytes == 20 * 1024 * 1024
    assert settings.upload_ttl_s == 86400
    assert settings.max_request_bytes == 128 * 1024  # every other route keeps its limit


def test_the_environment_sets_them() -> None:
    settings = Settings.from_env({"UPLOAD_MAX_BYTES": "1000", "UPLOAD_TTL_SECONDS": "60"})

    assert (settings.upload_max_bytes, settings.upload_ttl_s) == (1000, 60)
