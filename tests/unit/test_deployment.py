"""The Procfile (make up) and docker-compose.yml run the same process types the same way."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            entries[name] = shlex.split(command)
    return entries


def _target(argv: list[str]) -> tuple[str, ...]:
    """The program and what it runs: gunicorn's app, or celery's app and sub-command."""
    if argv[0] == "gunicorn":
        return ("gunicorn", argv[-1])
    return ("celery", argv[argv.index("-A") + 1], argv[argv.index("-A") + 2])


def test_every_procfile_process_is_a_compose_service_running_the_same_thing() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, argv in _procfile().items():
        assert name in services, f"{name} missing from docker-compose.yml"
        assert _target(services[name]["command"]) == _target(argv), name


def test_compose_runs_migrations_and_keeps_redis_from_evicting_broker_keys() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert "noeviction" in services["redis"]["command"]


def test_queues_have_their_own_worker_pools() -> None:
    procs = _procfile()
    assert procs["submit"][procs["submit"].index("--queues") + 1] == "submit"
    assert procs["poll"][procs["poll"].index("--queues") + 1] == "poll"
    assert procs["callbacks"][procs["callbacks"].index("--queues") + 1] == "callbacks"
    assert sum(1 for argv in procs.values() if "beat" in argv) == 1  # beat runs once
