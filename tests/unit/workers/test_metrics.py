"""A worker's metrics endpoint, and the outcome labels of webhook deliveries."""

from __future__ import annotations

import dataclasses

import pytest

from infra.settings import Settings
from providers.piapi import call_outcome
from workers.callbacks import delivery_outcome
from workers.metrics import serve_worker_metrics


def _settings(port: int | None) -> Settings:
    return dataclasses.replace(Settings.from_env(), worker_metrics_port=port, metrics_dir=None)


def test_no_port_means_no_endpoint() -> None:
    assert serve_worker_metrics(_settings(None)) is None


@pytest.mark.parametrize(
    ("status", "refused", "outcome"),
    [(200, False, "delivered"), (204, False, "delivered"), (500, False, "rejected"),
     (302, False, "rejected"), (None, False, "error"), (None, True, "refused")],
)  # fmt: skip
def test_delivery_outcomes(status: int | None, refused: bool, outcome: str) -> None:
    assert delivery_outcome(status, refused=refused) == outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "ok"), (201, "ok"), (400, "rejected"), (404, "rejected"), (429, "rate_limited"),
     (500, "server_error"), (503, "server_error")],
)  # fmt: skip
def test_piapi_call_outcomes(status: int, outcome: str) -> None:
    assert call_outcome(status) == outcome
