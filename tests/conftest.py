"""Markers come from the directory: tests/integration/* and tests/e2e/* are marked so.

`make test` runs on pytest-xdist workers. Tests that share a database or a running stack
must run on one worker, in order: pytest_xdist_make_scheduler hands each such set to one
worker as a unit (see work_unit); the rest spreads module by module.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

# The session's shared e2e stack (tests/e2e/conftest.py's `stack` fixture) is
# parametrized by backend, so every test on it carries one of these in its id.
_SHARED_STACK_ID = re.compile(r"\[(?:[^\]]*-)?(?:postgres-redis|embedded)(?:-[^\]]*)?\]$")


def work_unit(nodeid: str) -> str:
    """The tests one xdist worker runs together, in order, by a test's id."""
    module = nodeid.split("::", 1)[0]
    if module.startswith("tests/integration/"):
        # One Postgres database (videogen_test), made and dropped by session fixtures:
        # two workers would drop it under each other.
        return "tests/integration"
    if module.startswith("tests/e2e/") and _SHARED_STACK_ID.search(nodeid):
        # The shared stack: one per backend, on videogen_e2e and Redis db 14. Every
        # other e2e module starts its own, on a database and Redis db of its own.
        return "tests/e2e: the shared stack"
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ByWorkUnit(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts  # ("tests", "<kind>", ...)
        if len(parts) > 2 and parts[1] in {"integration", "e2e", "chaos"}:
            item.add_marker(getattr(pytest.mark, parts[1]))
        if len(parts) > 3 and parts[1] == "integration" and parts[2] == "running_worker":
            item.add_marker(pytest.mark.worker)
