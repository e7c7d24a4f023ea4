"""The sandbox over HTTP: PiAPI's paths, envelope and errors, plus playable sample media."""

from __future__ import annotations

import contextlib
import hmac
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, abort, jsonify, request, send_file

from providers.sandbox.engine import (
    CancelRefusedError,
    OverLimitError,
    Sandbox,
    TaskNotFoundError,
)
from providers.sandbox.faults import FaultPlan
from providers.sandbox.rules import RequestRejectedError

MEDIA_DIR = Path(__file__).resolve().parent / "media"
_MEDIA = {
    "video.mp4": ("sample.mp4", "video/mp4"),
    "video_raw.mp4": ("sample.mp4", "video/mp4"),
    "thumbnail.jpg": ("thumbnail.jpg", "image/jpeg"),
    "cover.jpg": ("thumbnail.jpg", "image/jpeg"),  # Hailuo's and older Kling's cover
    "last_frame.jpg": ("last_frame.jpg", "image/jpeg"),
}


def _error(status: int, message: str) -> tuple[Response, int]:
    # PiAPI's error envelope: the HTTP status repeated as `code`, and no data.
    return jsonify({"code": status, "message": message, "data": None}), status


def _refusal(kind: str, plan: FaultPlan) -> tuple[Response, int] | None:
    if kind == "500":
        return _error(500, "internal server error")
    if kind == "429":
        resp, status = _error(429, "too many requests")
        resp.headers["Retry-After"] = str(plan.retry_after_s)
        return resp, status
    return None


def _deliver(body: dict[str, Any], kind: str | None, plan: FaultPlan) -> Response:
    if kind == "hang":
        time.sleep(plan.hang_s)  # the client gives up first; the work is done anyway
    if kind == "malformed":
        text = json.dumps(body)
        return Response(text[: len(text) // 2], mimetype="application/json")
    return jsonify(body)


class Announcer:
    """PiAPI's webhook posts for a sandbox's tasks, on threads, until stop() is called.

    Posts are timed to a task's end, so they outlive the request that made the task; a
    sandbox that is shut down (a test's) stops them, or they would post into whatever
    runs next in the process.
    """

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()

    def announce(self, sandbox: Sandbox, task: dict[str, Any]) -> None:
        """Like PiAPI: with a webhook endpoint configured, POST {timestamp, data} when the
        task is created and again when it ends, with the secret in x-webhook-secret."""
        hook = (task.get("config") or {}).get("webhook_config") or {}
        if not hook.get("endpoint"):
            return
        task_id = task["task_id"]

        def post() -> None:
            try:
                if self._stopped.is_set():
                    return
                headers = {"x-webhook-secret": hook["secret"]} if hook.get("secret") else {}
                data = sandbox.get(task_id, count=False)["data"]
                with contextlib.suppress(requests.RequestException):
                    requests.post(
                        hook["endpoint"],
                        json={"timestamp": int(time.time()), "data": data},
                        headers=headers,
                        timeout=5,
                    )
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        self._start(threading.Thread(target=post, daemon=True))
        ends_in = sandbox.seconds_until_end(task_id)
        if ends_in is not None:
            self._start(threading.Timer(ends_in + 0.05, post))

    def _start(self, thread: threading.Thread) -> None:
        thread.daemon = True
        with self._lock:
            if self._stopped.is_set():
                return
            self._threads.add(thread)
        thread.start()

    def stop(self, *, timeout_s: float = 6.0) -> None:
        """Post nothing more; wait for posts under way (each gives up after 5 s)."""
        self._stopped.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if isinstance(thread, threading.Timer):
                thread.cancel()
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def create_sandbox_app(
    sandbox: Sandbox,
    *,
    api_key: str | None = None,
    faults: FaultPlan | None = None,
    rng: random.Random | None = None,
) -> Flask:
    """A WSGI app serving sandbox; with api_key set, only that key is accepted."""
    app = Flask("piapi_sandbox")
    app.extensions["sandbox"] = sandbox
    announcer = app.extensions["sandbox_announcer"] = Announcer()
    # Replaceable at run time (PUT /sandbox/faults), so a test can break and mend it.
    current = {"plan": faults or FaultPlan()}
    chance = rng or random.Random()

    @app.before_request
    def _authenticate() -> tuple[Response, int] | None:
        if not request.path.startswith("/api/"):
            return None
        sent = request.headers.get("x-api-key", "")
        if not sent or (api_key is not None and not hmac.compare_digest(sent, api_key)):
            return _error(401, "invalid api key")
        return None

    @app.post("/api/v1/task")
    def create_task() -> Any:
        body = request.get_json(silent=True)
        plan = current["plan"]
        kind = plan.draw("create", chance)
        sandbox.note_create_attempt(body, refused=kind in ("500", "429"))
        if (refused := _refusal(kind or "", plan)) is not None:
            return refused
        try:
            created = sandbox.create(body)
        except RequestRejectedError as exc:
            return _error(400, str(exc))
        except OverLimitError as exc:
            resp, status = _error(429, str(exc))
            resp.headers["Retry-After"] = str(exc.retry_after_s)
            return resp, status
        announcer.announce(sandbox, created["data"])
        return _deliver(created, kind, plan)

    @app.get("/api/v1/task/<task_id>")
    def get_task(task_id: str) -> Any:
        plan = current["plan"]
        kind = plan.draw("get", chance)
        if (refused := _refusal(kind or "", plan)) is not None:
            return refused
        try:
            return _deliver(sandbox.get(task_id), kind, plan)
        except TaskNotFoundError:
            return _error(404, "task not found")

    @app.delete("/api/v1/task/<task_id>")
    def cancel_task(task_id: str) -> Any:
        try:
            sandbox.cancel(task_id)
        except TaskNotFoundError:
            return _error(404, "task not found")
        except CancelRefusedError as exc:
            return _error(400, str(exc))
        return jsonify({"code": 200, "message": f"task {task_id} canceled"})

    @app.get("/media/<task_id>/<name>")
    def media(task_id: str, name: str) -> Any:
        if name not in _MEDIA:
            abort(404)
        try:
            sandbox.outcome(task_id)
        except TaskNotFoundError:
            abort(404)
        filename, mimetype = _MEDIA[name]
        return send_file(MEDIA_DIR / filename, mimetype=mimetype, conditional=True)

    @app.get("/sandbox/tasks")
    def tasks() -> Any:
        return jsonify(
            {
                "create_calls": sandbox.create_calls,
                "create_attempts": sandbox.create_attempts,
                "refused_over_limit": sandbox.refused_over_limit,
                "tasks": sandbox.summary(),
            }
        )

    @app.put("/sandbox/faults")
    def set_faults() -> Any:
        try:
            current["plan"] = FaultPlan.parse(request.get_data(as_text=True) or "{}")
        except (ValueError, TypeError, AttributeError) as exc:
            return _error(400, f"bad fault plan: {exc}")
        return jsonify({"faults": current["plan"].rates})

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app
