"""The Procfile (make up) and docker-compose.yml run the same process types the same way."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            argv = shlex.split(command)
            if argv[0] == "env":  # `env VAR=value ... program`: that process's variables
                argv = argv[1:]
                while "=" in argv[0]:
                    argv.pop(0)
            entries[name] = argv
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


QUEUES = ("submit", "poll", "callbacks", "store")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_each_queue_has_one_pool_in_both_files_sized_from_the_environment() -> None:
    procs, services = _procfile(), _compose()
    for queue in QUEUES:
        knob = queue.upper()
        for where, argv in (("Procfile", procs[queue]), ("compose", services[queue]["command"])):
            assert _option(argv, "--queues") == queue, (where, queue)
            assert _option(argv, "--hostname") == f"{queue}@%h", (where, queue)
            assert _option(argv, "--pool").startswith(f"${{{knob}_POOL:-"), (where, queue)
            assert _option(argv, "--concurrency").startswith(f"${{{knob}_CONCURRENCY:-"), where
        # Same defaults in both, so `make up` and `docker compose up` size pools alike.
        for option in ("--pool", "--concurrency"):
            assert _option(procs[queue], option) == _option(services[queue]["command"], option)
    consumed = [_option(argv, "--queues") for argv in procs.values() if "worker" in argv]
    assert sorted(consumed) == sorted(QUEUES)  # one pool per queue, none shared


def test_network_waits_default_to_threads_and_submit_to_processes() -> None:
    procs = _procfile()
    for queue in ("poll", "callbacks", "store"):
        assert _option(procs[queue], "--pool").endswith(":-threads}"), queue
    assert _option(procs["submit"], "--pool").endswith(":-prefork}")


def test_every_routed_task_lands_on_a_queue_that_has_a_pool() -> None:
    import celeryconfig

    assert tuple(q.name for q in celeryconfig.task_queues) == QUEUES
    assert {route["queue"] for route in celeryconfig.task_routes.values()} <= set(QUEUES)


def test_beat_runs_exactly_once_and_no_worker_embeds_it() -> None:
    for commands in (
        list(_procfile().values()),
        [s.get("command") or [] for s in _compose().values()],
    ):
        # --quiet (a global option) keeps beat's plain-text banner out of the JSON logs.
        beats = [
            argv for argv in commands if argv[:5] == ["celery", "--quiet", "-A", "workers", "beat"]
        ]
        assert len(beats) == 1
        assert not any("-B" in argv or "--beat" in argv for argv in commands)
    assert "deploy" not in _compose()["beat"]  # no replicas: never scaled


def test_compose_checks_each_workers_own_node_and_the_apis_health() -> None:
    services = _compose()
    for queue in QUEUES:
        test = services[queue]["healthcheck"]["test"]
        assert test == ["CMD", "python", "-m", "workers.healthcheck", queue]
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/healthcheck" in " ".join(services["flower"]["healthcheck"]["test"])


def test_flower_takes_its_login_from_the_environment_and_refuses_to_start_without() -> None:
    flower = _compose()["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert "FLOWER_UNAUTHENTICATED_API" not in flower["environment"]
    up = (ROOT / "bin" / "up").read_text()
    assert "export FLOWER_BASIC_AUTH" in up


def _option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name:
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def test_make_up_listens_on_loopback_only_and_compose_inside_its_containers() -> None:
    procfile = _procfile()
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, argv in procfile.items():
        for flag in ("--bind", "--address"):
            if (value := _option(argv, flag)) is not None:
                assert value.startswith("127.0.0.1"), (name, value)
                compose = _option(services[name]["command"], flag)
                assert compose is not None and compose.startswith("0.0.0.0"), name
    # Worker metrics: loopback unless told otherwise; compose tells its containers otherwise.
    assert Settings.from_env({}).worker_metrics_host == "127.0.0.1"
    app_env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-app"]["environment"]
    assert app_env["WORKER_METRICS_HOST"] == "0.0.0.0"


def test_each_gunicorn_of_make_up_has_a_control_socket_of_its_own() -> None:
    sockets = [
        _option(argv, "--control-socket") for argv in _procfile().values() if argv[0] == "gunicorn"
    ]
    assert len(sockets) == 2 and None not in sockets
    assert len(set(sockets)) == len(sockets)
