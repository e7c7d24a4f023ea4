"""/metrics on the API and on each worker moves when one job runs through `make up`'s stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.bodies import SPEC_T2V
from tests.e2e.conftest import Stack, run_stack
from tests.e2e.test_webhooks import Receiver
from tests.stack import wait_until

PROVIDER = "piapi_hunyuan_fast"  # what SPEC_T2V's 5 s text-to-video selects
GENERATE = "/api/video/generate"
STATUS = "/api/video/status/<digits:video_id>"


class Scrape:
    """One reading of a /metrics page: sample values by name and labels."""

    def __init__(self, url: str) -> None:
        resp = requests.get(url, timeout=5)
        assert resp.status_code == 200, (url, resp.status_code)
        assert resp.headers["Content-Type"].startswith("text/plain")
        self.text = resp.text
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(resp.text)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a series not yet created (nothing happened)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for (sample, labels) in self.samples if sample == name]


@pytest.fixture(scope="module")
def metrics_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(
        tmp_path_factory.mktemp("metrics"),
        "postgres-redis",
        database="videogen_e2e_metrics",
        redis_db=10,
        # Two gunicorn processes: whichever answers /metrics must report both.
        API_WORKERS="2",
    ) as running:
        yield running


def test_one_job_moves_the_api_and_worker_series(metrics_stack: Stack) -> None:
    stack = metrics_stack
    workers = stack.worker_metrics
    api_before = Scrape(f"{stack.api}/metrics")  # no API key: /metrics is public
    submit_before, poll_before = Scrape(workers["submit"]), Scrape(workers["poll"])
    callbacks_before = Scrape(workers["callbacks"])

    with Receiver() as receiver:  # answers 500 first, then 200
        accepted = stack.http().post(
            f"{stack.api}{GENERATE}",
            json={**SPEC_T2V, "webhook_url": receiver.url},
            timeout=10,
        )
        assert accepted.status_code == 202
        video_id = accepted.json()["video_id"]

        def finished() -> dict | None:
            body = stack.http().get(f"{stack.api}/api/video/status/{video_id}", timeout=5).json()
            return body if body["status"] != "processing" else None

        assert wait_until(finished, timeout_s=60, what="the job to end")["status"] == "completed"
        # The first attempt is refused with a 500; its retry comes 5 s later.
        wait_until(lambda: len(receiver.received) >= 2, timeout_s=30, what="the webhook retry")

    finished_labels = {"state": "completed", "provider": PROVIDER}
    # The counters move right after the commit the status endpoint has already seen.
    poll_after = wait_until(
        lambda: (
            (s := Scrape(workers["poll"])).value("videogen_jobs_finished_total", **finished_labels)
            > poll_before.value("videogen_jobs_finished_total", **finished_labels)
            and s
        ),
        timeout_s=10,
        what="the poll worker's finished counter",
    )
    api_after = Scrape(f"{stack.api}/metrics")
    submit_after, callbacks_after = Scrape(workers["submit"]), Scrape(workers["callbacks"])

    def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    # The API: requests by route (the URL rule, never the raw path) and status, jobs created.
    assert moved(api_before, api_after, "videogen_http_requests_total",
                 method="POST", route=GENERATE, status="202") == 1  # fmt: skip
    assert moved(api_before, api_after, "videogen_http_request_duration_seconds_count",
                 method="POST", route=GENERATE) == 1  # fmt: skip
    assert moved(api_before, api_after, "videogen_http_requests_total",
                 method="GET", route=STATUS, status="200") >= 1  # fmt: skip
    routes = {labels["route"] for labels in api_after.labels_of("videogen_http_requests_total")}
    assert not any(str(video_id) in route for route in routes), routes
    assert moved(api_before, api_after, "videogen_jobs_created_total",
                 mode="text_to_video", provider=PROVIDER) == 1  # fmt: skip
    # Queue depths, read from Redis when scraped.
    assert api_after.value("videogen_broker_up") == 1
    assert {"submit", "poll", "callbacks", "store"} <= {
        labels["queue"] for labels in api_after.labels_of("videogen_queue_messages")
    }

    # The submit worker created the PiAPI task; the poll worker followed it to its end.
    assert moved(submit_before, submit_after, "videogen_piapi_calls_total",
                 operation="create", outcome="ok") == 1  # fmt: skip
    assert moved(submit_before, submit_after, "videogen_piapi_call_duration_seconds_count",
                 operation="create") == 1  # fmt: skip
    assert moved(poll_before, poll_after, "videogen_piapi_calls_total",
                 operation="get", outcome="ok") >= 1  # fmt: skip
    assert moved(poll_before, poll_after, "videogen_jobs_finished_total", **finished_labels) == 1
    assert moved(poll_before, poll_after, "videogen_job_duration_seconds_count",
                 **finished_labels) == 1  # fmt: skip
    assert moved(poll_before, poll_after, "videogen_job_duration_seconds_sum",
                 **finished_labels) > 0  # fmt: skip
    assert moved(poll_before, poll_after, "videogen_job_detection_lag_seconds_count",
                 provider=PROVIDER) == 1  # fmt: skip

    # The callbacks worker: one refused attempt (the receiver's 500), then one delivered.
    assert moved(callbacks_before, callbacks_after, "videogen_webhook_deliveries_total",
                 outcome="rejected") == 1  # fmt: skip
    assert moved(callbacks_before, callbacks_after, "videogen_webhook_deliveries_total",
                 outcome="delivered") == 1  # fmt: skip


def test_queue_depths_are_read_on_every_backend(stack: Stack) -> None:
    """The shared stack runs on Redis and on the embedded file broker: both are read."""
    page = Scrape(f"{stack.api}/metrics")

    assert page.value("videogen_broker_up") == 1
    assert {"submit", "poll", "callbacks", "store"} == {
        labels["queue"] for labels in page.labels_of("videogen_queue_messages")
    }
