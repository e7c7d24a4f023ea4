"""The PiAPI HTTP client: timeouts on every call, and failures sorted by what is safe to retry."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from infra.metrics import PIAPI_CALLS, PIAPI_LATENCY
from providers.results import (
    MalformedTaskError,
    TaskResult,
    parse_task,
    task_from_envelope,
)


class ProviderError(Exception):
    """Base class for everything the PiAPI client raises."""


class ProviderTransientError(ProviderError):
    """PiAPI could not answer now (timeout, connection, 5xx, 429): ask again later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRejectedError(ProviderError):
    """PiAPI refused the request itself (a 4xx other than 429): retrying cannot help."""

    def __init__(self, message: str, *, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SubmissionUnknownError(ProviderError):
    """A create call whose outcome cannot be known: PiAPI may have accepted and will charge."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for a connection and then for each read."""

    connect_s: float = 5.0
    read_s: float = 30.0


class PiAPIClient:
    """Create, read and cancel PiAPI tasks. Thread-safe for reads; one per worker process."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeouts = timeouts or Timeouts()
        self._http = session or requests.Session()
        self._http.headers["x-api-key"] = api_key
        self._http.headers["Accept"] = "application/json"

    def create_task(self, body: Mapping[str, Any]) -> TaskResult:
        """POST /api/v1/task. Raises SubmissionUnknownError where PiAPI may have accepted."""
        try:
            resp = self._send("POST", "/api/v1/task", json=body)
        except requests.ConnectTimeout as exc:
            raise ProviderTransientError("PiAPI did not accept a connection") from exc
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                raise ProviderTransientError("PiAPI could not be reached") from exc
            raise SubmissionUnknownError(f"connection lost during create: {_kind(exc)}") from exc
        except requests.Timeout as exc:
            raise SubmissionUnknownError("no answer to create within the read timeout") from exc
        except requests.RequestException as exc:  # e.g. an answer cut off mid-body
            raise SubmissionUnknownError(f"create answer lost: {_kind(exc)}") from exc

        if resp.status_code == 429 or (resp.status_code >= 500 and _is_refusal(resp)):
            raise ProviderTransientError(
                f"PiAPI refused the create with {resp.status_code}",
                retry_after=retry_after_s(resp),
            )
        if resp.status_code >= 500:
            raise SubmissionUnknownError(f"PiAPI answered {resp.status_code} to create")
        self._raise_if_rejected(resp)
        try:
            return parse_task(task_from_envelope(resp.json()))
        except (ValueError, MalformedTaskError) as exc:
            raise SubmissionUnknownError("PiAPI's answer to create was unreadable") from exc

    def get_task(self, task_id: str) -> TaskResult:
        """GET /api/v1/task/{id}. Every failure but a 4xx is transient: a read is safe to repeat."""
        resp = self._read("GET", f"/api/v1/task/{task_id}")
        try:
            return parse_task(task_from_envelope(resp.json()))
        except (ValueError, MalformedTaskError) as exc:
            raise ProviderTransientError(f"unreadable task body: {exc}") from exc

    def cancel_task(self, task_id: str) -> bool:
        """DELETE /api/v1/task/{id}. False when PiAPI refuses (it cancels only pending tasks)."""
        try:
            self._read("DELETE", f"/api/v1/task/{task_id}")
        except ProviderRejectedError:
            return False
        return True

    def _read(self, method: str, path: str) -> requests.Response:
        try:
            resp = self._send(method, path)
        except requests.RequestException as exc:  # timeouts, resets, cut-off bodies
            raise ProviderTransientError(f"PiAPI unreachable: {_kind(exc)}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise ProviderTransientError(
                f"PiAPI answered {resp.status_code}", retry_after=retry_after_s(resp)
            )
        self._raise_if_rejected(resp)
        return resp

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # Every PiAPI call passes here, so this is the one place that measures them.
        operation = _OPERATIONS[method]
        started = time.perf_counter()
        outcome = "error"
        try:
            resp = self._http.request(
                method,
                self._base_url + path,
                timeout=(self._timeouts.connect_s, self._timeouts.read_s),
                **kwargs,
            )
            outcome = call_outcome(resp.status_code)
            return resp
        except requests.Timeout:
            outcome = "timeout"
            raise
        except requests.ConnectionError:
            outcome = "connection_error"
            raise
        finally:
            PIAPI_LATENCY.labels(operation).observe(time.perf_counter() - started)
            PIAPI_CALLS.labels(operation, outcome).inc()

    @staticmethod
    def _raise_if_rejected(resp: requests.Response) -> None:
        if 400 <= resp.status_code < 500:
            code, message = _error_fields(resp)
            raise ProviderRejectedError(
                f"PiAPI refused the request ({resp.status_code}): {message}",
                status=resp.status_code,
                code=code,
            )


_OPERATIONS = {"POST": "create", "GET": "get", "DELETE": "cancel"}


def call_outcome(status: int) -> str:
    """A PiAPI answer's status code as a metrics outcome (a few values, never the code)."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "rejected"
    return "ok"


def retry_after_s(resp: requests.Response) -> float | None:
    """Retry-After in seconds, from either of its two forms; None if absent or unreadable."""
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _never_sent(exc: requests.ConnectionError) -> bool:
    # Refused or unresolvable connections fail before a byte of the body leaves;
    # anything else (reset, remote closed) may have come after PiAPI read it.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _is_refusal(resp: requests.Response) -> bool:
    # PiAPI's own error envelope ({"code": 5xx, "data": null}) means its application
    # answered and created nothing; a bare gateway page proves nothing either way.
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "code" in body and body.get("data") is None


def _error_fields(resp: requests.Response) -> tuple[str | None, str]:
    try:
        body = resp.json()
    except ValueError:
        return None, resp.text[:200] or resp.reason
    if not isinstance(body, dict):
        return None, str(body)[:200]
    code = body.get("code")
    return (str(code) if code is not None else None), str(body.get("message") or resp.reason)


def _kind(exc: Exception) -> str:
    # The exception's class, not its text: request URLs can carry signed tokens.
    return type(exc).__name__
