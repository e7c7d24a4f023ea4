"""`make chaos`: the crash-safety proof. Not part of `make test` (it takes minutes)."""

from __future__ import annotations

import json
import os

import pytest

from tests.chaos.harness import Chaos, ChaosConfig, summary_line
from tests.chaos.services import PrivateRabbitMQ
from tests.stack import ROOT


@pytest.mark.timeout(3600)
def test_chaos_run_ends_every_job_truthfully_and_pays_once(tmp_path) -> None:
    config = ChaosConfig(
        jobs=int(os.environ.get("CHAOS_JOBS", "2000")),
        seconds=float(os.environ.get("CHAOS_SECONDS", "180")),
        broker=os.environ.get("CHAOS_BROKER") or "redis",
    )
    if config.broker == "amqp" and (why := PrivateRabbitMQ.available()):
        pytest.skip(f"BROKER=amqp needs a private RabbitMQ node: {why}")
    chaos = Chaos(config, tmp_path)
    chaos.start()
    try:
        report = chaos.run()
    finally:
        chaos.stop()
    name = "chaos-report.json" if config.broker == "redis" else f"chaos-report-{config.broker}.json"
    out = ROOT / "artifacts" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print("\n" + summary_line(report) + f"\nreport: {out}\nlogs: {tmp_path}")  # noqa: T201

    assert report["jobs_accepted"] == config.jobs  # every job the load asked for got in
    assert report["drained"], report["not_ended"]
    assert report["not_ended"] == []
    assert report["created_at_piapi_more_than_once"] == []
    assert report["paid_but_not_delivered"] == []
    assert report["mismatches_with_sandbox"] == []
    assert report["jobs_accepted"] <= report["jobs_in_database"]
