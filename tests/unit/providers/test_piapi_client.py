"""PiAPIClient against `responses`: what is sent, and how each failure is classified."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import http.client
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from prometheus_client import REGISTRY
from responses import matchers
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)

from providers.piapi import (
    PiAPIClient,
    ProviderError,
    ProviderRejectedError,
    ProviderTransientError,
    SubmissionUnknownError,
    Timeouts,
)
from providers.results import RemoteState

BASE = "https://piapi.test"
KEY = "sk-live-7f3a9c1e5b"
CREATE_URL = f"{BASE}/api/v1/task"
TASK_ID = "f38e2944-a5fe-44b4-9464-920c94276d74"
TASK_URL = f"{BASE}/api/v1/task/{TASK_ID}"
BODY = {
    "model": "Qubico/hunyuan",
    "task_type": "fast-txt2video",
    "input": {"prompt": "A cat. Duration: 5s. Script: x", "aspect_ratio": "16:9"},
}
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _envelope(status: str = "pending", output: Any = None) -> dict[str, Any]:
    return {
        "code": 200,
        "message": "success",
        "data": {
            "task_id": TASK_ID,
            "model": "Qubico/hunyuan",
            "task_type": "fast-txt2video",
            "status": status,
            "input": dict(BODY["input"]),
            "output": output,
            "meta": {"created_at": "2026-01-07T01:36:08.845623268Z"},
            "error": {"code": 0, "raw_message": "", "message": "", "detail": None},
        },
    }


def _refused_connection() -> requests.ConnectionError:
    # What requests raises when nothing listens: MaxRetryError(NewConnectionError).
    conn = HTTPSConnection("piapi.test", 443)
    reason = NewConnectionError(
        conn, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    pool = HTTPSConnectionPool("piapi.test", 443)
    return requests.ConnectionError(MaxRetryError(pool, "/api/v1/task", reason))


def _unresolvable_host() -> requests.ConnectionError:
    conn = HTTPSConnection("piapi.test", 443)
    reason = NameResolutionError(
        "piapi.test", conn, socket.gaierror(-2, "Name or service not known")
    )
    pool = HTTPSConnectionPool("piapi.test", 443)
    return requests.ConnectionError(MaxRetryError(pool, "/api/v1/task", reason))


def _dropped_mid_request() -> requests.ConnectionError:
    # The body may have reached PiAPI before the connection went away.
    remote = http.client.RemoteDisconnected("Remote end closed connection without response")
    return requests.ConnectionError(ProtocolError("Connection aborted.", remote))


@pytest.fixture
def piapi() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def client() -> PiAPIClient:
    return PiAPIClient(BASE, KEY)


def test_create_sends_key_and_exact_body_and_reads_the_task(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(
        CREATE_URL,
        json=_envelope("pending"),
        match=[
            matchers.json_params_matcher(BODY, strict_match=True),
            matchers.header_matcher({"x-api-key": KEY, "Accept": "application/json"}),
        ],
    )

    result = client.create_task(BODY)

    assert result.task_id == TASK_ID
    assert result.state is RemoteState.WAITING
    assert result.raw["input"] == BODY["input"]


def test_every_call_has_a_connect_and_read_timeout(
    piapi: responses.RequestsMock,
) -> None:
    piapi.post(
        CREATE_URL,
        json=_envelope(),
        match=[matchers.request_kwargs_matcher({"timeout": (1.5, 9.0)})],
    )
    piapi.get(
        TASK_URL,
        json=_envelope(),
        match=[matchers.request_kwargs_matcher({"timeout": (1.5, 9.0)})],
    )
    client = PiAPIClient(BASE, KEY, timeouts=Timeouts(connect_s=1.5, read_s=9.0))

    client.create_task(BODY)
    client.get_task(TASK_ID)


def test_base_url_trailing_slash_is_tolerated(piapi: responses.RequestsMock) -> None:
    piapi.get(TASK_URL, json=_envelope("processing"))

    result = PiAPIClient(f"{BASE}/", KEY).get_task(TASK_ID)

    assert result.state is RemoteState.RUNNING


def test_create_answered_with_a_failed_task_is_a_result_not_an_error(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    envelope = _envelope("failed")
    envelope["data"]["error"] = {"code": 10000, "message": "bad prompt"}
    piapi.post(CREATE_URL, json=envelope)

    result = client.create_task(BODY)

    assert result.state is RemoteState.FAILED
    assert result.error_code == "10000"


# --- create: what is safe to retry --------------------------------------------


def test_create_429_is_transient_with_retry_after(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(
        CREATE_URL,
        status=429,
        headers={"Retry-After": "7"},
        json={"code": 429, "message": "too many requests", "data": None},
    )

    with pytest.raises(ProviderTransientError) as caught:
        client.create_task(BODY)

    assert caught.value.retry_after == 7.0


def test_429_without_a_json_body_is_still_transient(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(CREATE_URL, status=429, body="slow down")

    with pytest.raises(ProviderTransientError) as caught:
        client.create_task(BODY)

    assert caught.value.retry_after is None


def test_retry_after_as_an_http_date(piapi: responses.RequestsMock, client: PiAPIClient) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    piapi.post(
        CREATE_URL,
        status=429,
        headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)},
    )

    with pytest.raises(ProviderTransientError) as caught:
        client.create_task(BODY)

    assert caught.value.retry_after is not None
    assert 100 <= caught.value.retry_after <= 121


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # already past
        ("0", 0.0),
        ("-5", 0.0),
        ("2.5", 2.5),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_edge_values(
    piapi: responses.RequestsMock,
    client: PiAPIClient,
    header: str,
    expected: float | None,
) -> None:
    piapi.get(TASK_URL, status=503, headers={"Retry-After": header})

    with pytest.raises(ProviderTransientError) as caught:
        client.get_task(TASK_ID)

    assert caught.value.retry_after == expected


@pytest.mark.parametrize("status", [500, 503])
def test_create_5xx_with_piapi_envelope_is_a_provable_refusal(
    piapi: responses.RequestsMock, client: PiAPIClient, status: int
) -> None:
    piapi.post(CREATE_URL, status=status, json={"code": status, "message": "x", "data": None})

    with pytest.raises(ProviderTransientError):
        client.create_task(BODY)


@pytest.mark.parametrize(
    ("status", "kwargs"),
    [
        (502, {"body": HTML_502, "content_type": "text/html"}),
        (504, {"body": ""}),
        (500, {"json": {"error": "internal"}}),  # not PiAPI's envelope
        (500, {"json": {"code": 500, "message": "x", "data": {"task_id": TASK_ID}}}),
    ],
)
def test_create_5xx_without_proof_of_refusal_is_unknown(
    piapi: responses.RequestsMock,
    client: PiAPIClient,
    status: int,
    kwargs: dict[str, Any],
) -> None:
    piapi.post(CREATE_URL, status=status, **kwargs)

    with pytest.raises(SubmissionUnknownError):
        client.create_task(BODY)


def test_create_read_timeout_is_unknown(piapi: responses.RequestsMock, client: PiAPIClient) -> None:
    piapi.post(CREATE_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(SubmissionUnknownError):
        client.create_task(BODY)


@pytest.mark.parametrize(
    "error",
    [
        _refused_connection(),
        _unresolvable_host(),
        requests.ConnectTimeout("connect timed out"),
    ],
    ids=["refused", "dns", "connect-timeout"],
)
def test_create_that_never_connected_is_transient(
    piapi: responses.RequestsMock, client: PiAPIClient, error: Exception
) -> None:
    piapi.post(CREATE_URL, body=error)

    with pytest.raises(ProviderTransientError):
        client.create_task(BODY)


def test_create_connection_dropped_mid_request_is_unknown(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(CREATE_URL, body=_dropped_mid_request())

    with pytest.raises(SubmissionUnknownError):
        client.create_task(BODY)


def test_create_400_is_rejected_with_status_and_code(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(
        CREATE_URL,
        status=400,
        json={"code": 400, "message": "input.prompt is required", "data": None},
    )

    with pytest.raises(ProviderRejectedError) as caught:
        client.create_task(BODY)

    assert caught.value.status == 400
    assert caught.value.code == "400"
    assert "input.prompt is required" in str(caught.value)


def test_create_401_with_a_plain_text_body_is_rejected_without_a_code(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(CREATE_URL, status=401, body="unauthorized")

    with pytest.raises(ProviderRejectedError) as caught:
        client.create_task(BODY)

    assert caught.value.status == 401
    assert caught.value.code is None
    assert "unauthorized" in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"body": "{not json", "content_type": "application/json"},
        {"body": ""},
        {"json": {"code": 200, "message": "success", "data": None}},
        {"json": {"code": 200, "data": {"status": "pending"}}},  # no task_id
        {"json": [1, 2]},
    ],
    ids=["bad-json", "empty", "data-null", "no-task-id", "a-list"],
)
def test_create_200_with_an_unreadable_body_is_unknown(
    piapi: responses.RequestsMock, client: PiAPIClient, kwargs: dict[str, Any]
) -> None:
    piapi.post(CREATE_URL, status=200, **kwargs)

    with pytest.raises(SubmissionUnknownError):
        client.create_task(BODY)


def _truncated_body() -> requests.exceptions.ChunkedEncodingError:
    # The answer started arriving and was cut off: PiAPI read the request.
    return requests.exceptions.ChunkedEncodingError(ProtocolError("Response ended prematurely"))


def test_create_with_a_truncated_answer_is_unknown(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(CREATE_URL, body=_truncated_body())

    with pytest.raises(SubmissionUnknownError):
        client.create_task(BODY)


# --- get: a read is always safe to repeat -------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 500, "json": {"code": 500, "message": "x", "data": None}},
        {"status": 502, "body": HTML_502},
        {"status": 429, "headers": {"Retry-After": "3"}},
        {"body": requests.ReadTimeout("read timed out")},
        {"body": requests.ConnectTimeout("connect timed out")},
        {"body": _dropped_mid_request()},
        {"status": 200, "body": "{not json"},
        {"status": 200, "json": {"code": 200, "data": None}},
    ],
    ids=[
        "500",
        "502-html",
        "429",
        "read-timeout",
        "connect-timeout",
        "dropped",
        "bad-json",
        "no-task",
    ],
)
def test_get_failures_are_transient(
    piapi: responses.RequestsMock, client: PiAPIClient, kwargs: dict[str, Any]
) -> None:
    piapi.get(TASK_URL, **kwargs)

    with pytest.raises(ProviderTransientError):
        client.get_task(TASK_ID)


def test_get_with_a_truncated_answer_is_transient(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.get(TASK_URL, body=_truncated_body())

    with pytest.raises(ProviderTransientError):
        client.get_task(TASK_ID)


def test_get_429_keeps_retry_after(piapi: responses.RequestsMock, client: PiAPIClient) -> None:
    piapi.get(TASK_URL, status=429, headers={"Retry-After": "3"})

    with pytest.raises(ProviderTransientError) as caught:
        client.get_task(TASK_ID)

    assert caught.value.retry_after == 3.0


def test_get_404_is_rejected(piapi: responses.RequestsMock, client: PiAPIClient) -> None:
    piapi.get(
        TASK_URL,
        status=404,
        json={"code": 404, "message": "task not found", "data": None},
    )

    with pytest.raises(ProviderRejectedError) as caught:
        client.get_task(TASK_ID)

    assert caught.value.status == 404
    assert caught.value.code == "404"


def test_get_sends_the_key_and_parses_a_capitalised_status(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.get(
        TASK_URL,
        json=_envelope("Completed", {"video_url": "https://cdn.test/v.mp4"}),
        match=[matchers.header_matcher({"x-api-key": KEY})],
    )

    result = client.get_task(TASK_ID)

    assert result.state is RemoteState.COMPLETED
    assert result.status_word == "Completed"
    assert result.media.video_url == "https://cdn.test/v.mp4"


# --- the key never leaks into an error ----------------------------------------

Call = Callable[[PiAPIClient], Any]
_CREATE: Call = lambda c: c.create_task(BODY)  # noqa: E731
_GET: Call = lambda c: c.get_task(TASK_ID)  # noqa: E731


@pytest.mark.parametrize(
    ("method", "url", "call", "kwargs"),
    [
        ("POST", CREATE_URL, _CREATE, {"status": 429}),
        (
            "POST",
            CREATE_URL,
            _CREATE,
            {"status": 500, "json": {"code": 500, "data": None}},
        ),
        ("POST", CREATE_URL, _CREATE, {"status": 502, "body": HTML_502}),
        (
            "POST",
            CREATE_URL,
            _CREATE,
            {"status": 400, "json": {"code": 400, "message": "x"}},
        ),
        ("POST", CREATE_URL, _CREATE, {"body": requests.ReadTimeout("read timed out")}),
        ("POST", CREATE_URL, _CREATE, {"body": _refused_connection()}),
        ("POST", CREATE_URL, _CREATE, {"body": _dropped_mid_request()}),
        ("POST", CREATE_URL, _CREATE, {"status": 200, "body": "{bad"}),
        ("GET", TASK_URL, _GET, {"status": 401, "body": "unauthorized"}),
        ("GET", TASK_URL, _GET, {"body": requests.ReadTimeout("read timed out")}),
        ("GET", TASK_URL, _GET, {"status": 200, "body": "{bad"}),
    ],
)
def test_error_messages_never_contain_the_api_key(
    piapi: responses.RequestsMock,
    client: PiAPIClient,
    method: str,
    url: str,
    call: Call,
    kwargs: dict[str, Any],
) -> None:
    piapi.add(method, url, **kwargs)

    with pytest.raises(ProviderError) as caught:
        call(client)

    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


def _calls(operation: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "videogen_piapi_calls_total", {"operation": operation, "outcome": outcome}
        )
        or 0.0
    )


def _timed(operation: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "videogen_piapi_call_duration_seconds_count", {"operation": operation}
        )
        or 0.0
    )


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        ({"json": _envelope("processing")}, "ok"),
        ({"status": 404, "json": {"code": 404, "message": "no task", "data": None}}, "rejected"),
        ({"status": 429, "headers": {"Retry-After": "3"}}, "rate_limited"),
        ({"status": 502, "body": HTML_502}, "server_error"),
        ({"body": requests.ReadTimeout()}, "timeout"),
        ({"body": _refused_connection()}, "connection_error"),
        ({"body": requests.exceptions.ChunkedEncodingError()}, "error"),
    ],
    ids=["ok", "rejected", "rate_limited", "server_error", "timeout", "connection", "other"],
)
def test_every_call_is_counted_by_operation_and_outcome(
    piapi: responses.RequestsMock, client: PiAPIClient, kwargs: dict[str, Any], outcome: str
) -> None:
    piapi.get(TASK_URL, **kwargs)
    before, timed_before = _calls("get", outcome), _timed("get")

    with contextlib.suppress(ProviderError):  # the failures' own kinds are tested above
        client.get_task(TASK_ID)

    assert _calls("get", outcome) - before == 1
    assert _timed("get") - timed_before == 1


def test_creates_and_cancels_are_counted_apart_from_reads(
    piapi: responses.RequestsMock, client: PiAPIClient
) -> None:
    piapi.post(CREATE_URL, json=_envelope())
    piapi.delete(TASK_URL, json={"code": 200, "message": "success", "data": None})
    creates, cancels, reads = _calls("create", "ok"), _calls("cancel", "ok"), _calls("get", "ok")

    client.create_task(BODY)
    client.cancel_task(TASK_ID)

    assert (_calls("create", "ok") - creates, _calls("cancel", "ok") - cancels) == (1, 1)
    assert _calls("get", "ok") == reads
