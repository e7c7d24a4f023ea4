"""A worker's metrics endpoint, served on its port (a real socket on 127.0.0.1)."""

from __future__ import annotations

import dataclasses
import socket

import requests

from infra.settings import Settings
from tests.stack import free_port
from workers.metrics import serve_worker_metrics


def _settings(port: int | None) -> Settings:
    return dataclasses.replace(Settings.from_env({}), worker_metrics_port=port, metrics_dir=None)


def test_a_worker_serves_its_metrics_on_its_port() -> None:
    port = free_port()

    assert serve_worker_metrics(_settings(port)) == port

    page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert page.status_code == 200
    assert "videogen_jobs_finished_total" in page.text


def test_a_taken_port_is_skipped_without_stopping_the_worker() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()

        assert serve_worker_metrics(_settings(taken.getsockname()[1])) is None
