"""Unit tests need no server and may open no socket at all (pytest-socket)."""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket


@pytest.fixture(autouse=True)
def _no_sockets() -> None:
    # pytest-socket lifts the restriction again after each test.
    disable_socket(allow_unix_socket=False)
