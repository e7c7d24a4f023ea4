"""The upload settings: their defaults, and the environment overriding them."""

from __future__ import annotations

from infra.settings import Settings


def test_uploads_default_to_20_mb_and_a_day() -> None:
    settings = Settings.from_env({})

    assert settings.upload_max_bytes == 20 * 1024 * 1024
    assert settings.upload_ttl_s == 86400
    assert settings.max_request_bytes == 64 * 1024  # every other route keeps its limit


def test_the_environment_sets_them() -> None:
    settings = Settings.from_env({"UPLOAD_MAX_BYTES": "1000", "UPLOAD_TTL_SECONDS": "60"})

    assert (settings.upload_max_bytes, settings.upload_ttl_s) == (1000, 60)
