"""PiAPI's webhook deliveries: a signal to poll that task now, and the word that adopts a task.

A delivery's body is never trusted as state (PiAPI echoes the shared secret in every GET of
a task, so anyone who read one could forge it): it only names a task to ask PiAPI about.
The endpoint given with each create names its job by an unguessable hook token, so PiAPI's
callback for a task whose id we never learned (the create's answer was lost) finds the job,
which adopts the task and follows it like any other (models/create_outcome.py).
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import select

from api.auth import UnauthorizedError
from api.schemas import WebhookAck
from infra import log_context
from infra.messages import Messages
from models import create_outcome
from models.jobs import HOOK_TOKEN_PREFIX, Job, Phase

log = logging.getLogger(__name__)

blp = Blueprint("piapi_webhooks", __name__, url_prefix="/api/webhooks", description="Inbound")

DELIVERY_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "PiAPI's task envelope; everything but data.task_id is ignored",
                "properties": {
                    "data": {"type": "object", "properties": {"task_id": {"type": "string"}}}
                },
            }
        }
    },
}
# What models.jobs.new_hook_token makes; anything else names no job.
_HOOK_TOKEN = re.compile(re.escape(HOOK_TOKEN_PREFIX) + r"[A-Za-z0-9_-]{16,60}")
MAX_TASK_ID_CHARS = 255  # the task_id column's width

ACCEPTED = {"status": "accepted"}, 202
IGNORED = {"status": "ignored"}, 202


def _documented(view: Callable[..., Any]) -> Callable[..., Any]:
    # PiAPI authenticates with the shared secret, never with an API key. The body is read
    # leniently (not validated): only data.task_id matters, and one without it is ignored.
    view = blp.doc(security=[{"webhookSecret": []}], requestBody=DELIVERY_BODY)(view)
    for status, text in (
        (400, "The body is not JSON, or nested too deep"),
        (415, "415 error"),
        (413, "413 error"),
        (422, "data.task_id cannot be a task id (too long, a NUL, a lone surrogate)"),
        (401, "Missing or wrong x-webhook-secret"),
    ):
        view = blp.alt_response(status, schema="Error", description=text)(view)
    documented: Callable[..., Any] = blp.response(
        202, WebhookAck, description="Noted; the task is polled at once"
    )(view)
    return documented


@blp.route("/piapi", methods=["POST"])
@_documented
def piapi_event() -> Any:
    """PiAPI calls this when a task changes. We check the shared secret, then poll the task.

    Kept for tasks created before each create named its job (see the route below).
    """
    task_id = _authenticated_task_id()
    if task_id is None:
        return IGNORED
    _check_known_task(task_id)
    return ACCEPTED


@blp.route("/piapi/<string:hook_token>", methods=["POST"])
@_documented
def piapi_job_event(hook_token: str) -> Any:
    """PiAPI calls this, the endpoint each create names, when the job's task changes.

    A task we know is polled at once. A task we do not know, for a job whose task is not
    known yet (its create's answer was lost, or has not been recorded), is adopted: the
    job records it and a poll chain follows it. Anything else is ignored.
    """
    task_id = _authenticated_task_id()
    if task_id is None:
        return IGNORED
    if _check_known_task(task_id):
        return ACCEPTED
    job_id = _job_named(hook_token)
    if job_id is None:
        return IGNORED
    log_context.bind(job_id=job_id)
    return ACCEPTED if _adopt(job_id, task_id) else IGNORED


def _authenticated_task_id() -> str | None:
    expected = current_app.extensions["settings"].piapi_webhook_secret
    sent = request.headers.get("x-webhook-secret", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise UnauthorizedError("Wrong or missing x-webhook-secret.")
    body = request.get_json(silent=True)
    data = body.get("data") if isinstance(body, dict) else None
    task_id = data.get("task_id") if isinstance(data, dict) else None
    if not isinstance(task_id, str) or not task_id:
        return None
    if not _storable(task_id):
        raise ma.ValidationError("Not a usable task id.", field_name="data.task_id")
    return task_id


def _storable(text: str) -> bool:
    # Postgres refuses NUL in text, and lone surrogates cannot be encoded at all.
    if len(text) > MAX_TASK_ID_CHARS or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_known_task(task_id: str) -> bool:
    """Poll the job that has this task, at once; False if no job has it."""
    job = g.db.execute(select(Job.id, Job.phase).where(Job.task_id == task_id)).first()
    # PiAPI's call at creation can beat the recording of its task id: then the line has
    # only the task id (on the job's own endpoint, the job id too).
    log_context.bind(job_id=job.id if job else None, task_id=task_id)
    if job is None:
        return False
    if job.phase == Phase.POLLING:
        _send(lambda messages: messages.check(job.id))
    return True


def _job_named(hook_token: str) -> int | None:
    if not _HOOK_TOKEN.fullmatch(hook_token):
        return None
    job_id: int | None = g.db.execute(
        select(Job.id).where(Job.hook_token == hook_token)
    ).scalar_one_or_none()
    return job_id


def _adopt(job_id: int, task_id: str) -> bool:
    token = uuid.uuid4()
    if create_outcome.adopt_task(g.db, job_id, task_id=task_id, token=token):
        g.db.commit()
        log.info("job %s adopted PiAPI task %s from PiAPI's callback", job_id, task_id)
        # The chain's first poll goes at once: it is the check a callback asks for.
        _send(lambda messages: messages.poll(job_id, token))
        return True
    if create_outcome.note_task_of_ended_job(g.db, job_id, task_id=task_id):
        g.db.commit()
        # Canceled or failed before PiAPI's word came: do not leave the task running.
        log.warning("job %s had ended; PiAPI task %s is to be canceled", job_id, task_id)
        _send(lambda messages: messages.cancel_remote(job_id))
        return True
    # Lost the race to the worker recording this very task: poll it, as for a known one.
    return _check_known_task(task_id)


def _send(send: Callable[[Messages], None]) -> None:
    try:
        send(current_app.extensions["messages"])
    except Exception:
        # The row is committed with its next poll due now: the sweeper restarts the chain.
        log.exception("message after PiAPI's callback failed; left for the sweeper")
