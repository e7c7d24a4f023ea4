"""What the CLI's unit tests share: the environment, a mocked API and a runner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from client.main import main

API = "http://api.test"
KEY = "vg_live_unit_secret_4242"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEOGEN_URL", API)
    monkeypatch.setenv("VIDEOGEN_API_KEY", KEY)
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def mocked_api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """main(argv), its exit code, stdout and stderr; the key never shows in either."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, out, err
