"""wsgi.sandbox() builds the sandbox from SANDBOX_* settings, image fetching included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import wsgi
from infra.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(("value", "fetch"), [("1", True), ("0", False), ("", False)])
def test_sandbox_fetch_images_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, fetch: bool
) -> None:
    monkeypatch.setenv("SANDBOX_FETCH_IMAGES", value)

    sandbox = wsgi.sandbox().extensions["sandbox"]

    assert get_settings().sandbox_fetch_images is fetch
    assert sandbox.fetch_images is fetch


def test_sandbox_does_not_fetch_images_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_FETCH_IMAGES", raising=False)

    assert wsgi.sandbox().extensions["sandbox"].fetch_images is False


def test_sandbox_plan_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_MAX_CONCURRENT_TASKS", "4")

    assert wsgi.sandbox().extensions["sandbox"].max_concurrent_tasks == 4
