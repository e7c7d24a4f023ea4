"""Markers come from the directory: tests/integration/* and tests/e2e/* are marked so."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts  # ("tests", "<kind>", ...)
        if len(parts) > 2 and parts[1] in {"integration", "e2e", "chaos"}:
            item.add_marker(getattr(pytest.mark, parts[1]))
        if len(parts) > 3 and parts[1] == "integration" and parts[2] == "running_worker":
            item.add_marker(pytest.mark.worker)
