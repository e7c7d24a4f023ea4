"""PiAPI's webhook deliveries: a signal to poll that task now, never trusted as state."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import select

from api.auth import UnauthorizedError
from api.schemas import WebhookAck
from infra import log_context
from models.jobs import Job, Phase

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


@blp.route("/piapi", methods=["POST"])
@blp.response(202, WebhookAck, description="Noted; the task is polled at once")
@blp.alt_response(400, schema="Error", description="The body is not JSON, or nested too deep")
@blp.alt_response(401, schema="Error", description="Missing or wrong x-webhook-secret")
@blp.alt_response(413, schema="Error", description="413 error")
@blp.alt_response(415, schema="Error", description="415 error")
@blp.alt_response(422, schema="Error", description="Text with NUL or unpaired surrogates")
# PiAPI authenticates with the shared secret, never with an API key. The body is read leniently
# (not validated): only data.task_id matters, and a delivery without one is ignored.
@blp.doc(security=[{"webhookSecret": []}], requestBody=DELIVERY_BODY)
def piapi_event() -> Any:
    """PiAPI calls this when a task changes. We check the shared secret, then poll the task.

    PiAPI echoes the secret in every GET of a task, so a delivery's body is not proof
    of anything: it only tells us which task to ask about.
    """
    expected = current_app.extensions["settings"].piapi_webhook_secret
    sent = request.headers.get("x-webhook-secret", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise UnauthorizedError("Wrong or missing x-webhook-secret.")
    body = request.get_json(silent=True)
    data = body.get("data") if isinstance(body, dict) else None
    task_id = data.get("task_id") if isinstance(data, dict) else None
    if not isinstance(task_id, str) or not task_id:
        return {"status": "ignored"}, 202
    job = g.db.execute(select(Job.id, Job.phase).where(Job.task_id == task_id)).first()
    # PiAPI's call at creation can beat the recording of its task id: then the line only
    # has the task id.
    log_context.bind(job_id=job.id if job else None, task_id=task_id)
    if job is not None and job.phase == Phase.POLLING:
        current_app.extensions["messages"].check(job.id)
    return {"status": "accepted"}, 202
