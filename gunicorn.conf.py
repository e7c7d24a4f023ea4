"""gunicorn's settings: read from the working directory by every gunicorn the stack starts.

Logging goes through the application's configuration (LOG_FORMAT), so gunicorn's own
start-up and access lines are JSON too, with the job's ids on a request that named one.
"""

from infra import log_context
from infra.log_format import logging_config
from infra.settings import get_settings

_settings = get_settings()
logconfig_dict = logging_config(_settings.log_format, secrets=_settings.log_secrets)


def pre_request(worker: object, req: object) -> None:
    log_context.clear()


def post_request(worker: object, req: object, environ: object, resp: object) -> None:
    # After the access line, which still carries the job the request was about.
    log_context.clear()
