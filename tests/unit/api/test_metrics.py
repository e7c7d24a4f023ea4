"""The API's request metrics: labelled by URL rule and status, and served at /metrics."""

from __future__ import annotations

import dataclasses

from flask import Flask
from prometheus_client import REGISTRY, CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import UNMATCHED, install_metrics
from infra.settings import Settings


def _app(**scrape: CollectorRegistry) -> Flask:
    settings = dataclasses.replace(Settings.from_env(), metrics_dir=None)
    app = Flask(__name__)
    install_metrics(app, settings, scrape_time=lambda: scrape.get("extra", CollectorRegistry()))

    @app.get("/unit/things/<int:thing_id>")
    def thing(thing_id: int) -> tuple[dict[str, int], int]:
        return {"id": thing_id}, 200 if thing_id < 100 else 404

    return app


def _requests(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("videogen_http_requests_total", labels) or 0.0


def test_requests_are_counted_by_url_rule_not_by_raw_path() -> None:
    client = _app().test_client()
    route = "/unit/things/<int:thing_id>"
    ok, missing = _requests("GET", route, "200"), _requests("GET", route, "404")
    timed = (
        REGISTRY.get_sample_value(
            "videogen_http_request_duration_seconds_count", {"method": "GET", "route": route}
        )
        or 0.0
    )

    for thing_id in (1, 2, 3, 500):
        client.get(f"/unit/things/{thing_id}")

    assert _requests("GET", route, "200") - ok == 3
    assert _requests("GET", route, "404") - missing == 1
    assert (
        REGISTRY.get_sample_value(
            "videogen_http_request_duration_seconds_count", {"method": "GET", "route": route}
        )
        - timed
        == 4
    )
    assert (
        REGISTRY.get_sample_value(
            "videogen_http_requests_total",
            {"method": "GET", "route": "/unit/things/1", "status": "200"},
        )
        is None
    )


def test_paths_that_match_no_route_share_one_series() -> None:
    client = _app().test_client()
    before = _requests("GET", UNMATCHED, "404")

    client.get("/no/such/path/1")
    client.get("/no/such/path/2")

    assert _requests("GET", UNMATCHED, "404") - before == 2


def test_metrics_page_is_prometheus_text_with_the_scrape_time_collectors() -> None:
    extra = CollectorRegistry()
    Gauge("unit_scrape_time_gauge", "read at scrape time", registry=extra).set(7)
    client = _app(extra=extra).test_client()
    client.get("/unit/things/1")

    resp = client.get("/metrics")  # no API key needed

    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(resp.get_data(as_text=True))}
    assert families["unit_scrape_time_gauge"].samples[0].value == 7
    assert "videogen_http_requests" in families
    assert "videogen_piapi_calls" in families  # declared series are listed before first use
