"""Log lines: JSON with the job's ids, plain text on request, and secrets masked in both."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from infra import log_context
from infra.log_format import REDACTED, Redactor, logging_config, make_formatter

PIAPI_KEY = "piapi-live-key-0123456789"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger configured exactly as the services are, writing into a buffer."""
    config = logging_config("json", secrets=[PIAPI_KEY, None, "short"])
    stream = io.StringIO()
    config["handlers"]["stdout"]["stream"] = stream
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logging.config.dictConfig(config)
    log_context.clear()
    yield logging.getLogger("test.logs"), stream
    log_context.clear()
    root.handlers[:], root.level = saved


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("key vgk_e9e3c5d81580_mO_mdoRBM4EhcIe_8i8WNH-ZQqY3 used", "e9e3c5d81580_mO_md"),
        ("secret whsec_XccA4jR2VQFVfT/qBbx+rIrKU1Hx2asL= here", "XccA4jR2VQFVfT"),
        ("headers {'x-api-key': 'abc123def456', 'accept': '*/*'}", "abc123def456"),
        ("Authorization: Bearer sk-live-9f8e7d6c5b", "sk-live-9f8e7d6c5b"),
        ('"authorization": "Basic dXNlcjpwYXNz"', "dXNlcjpwYXNz"),
        ("x-webhook-secret=hooksecret42", "hooksecret42"),
        ("POST /api/webhooks/piapi/pwh_Q3a-x_9RkL0mZ2bYc4dE5fG6hI7jK8lM", "Q3a-x_9RkL0mZ2bY"),
        (
            "GET https://b.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126&X-Amz-Signature=deadbeefcafe",
            "deadbeefcafe",
        ),
        ("?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261126&a=1", "AKIAIOSFODNN7EXAMPLE"),
        ("https://cdn.example.com/v.mp4?Expires=1&Signature=Zm9vYmFy~&Key-Pair-Id=K2", "Zm9vYmFy"),
        (f"PiAPI said: bad key {PIAPI_KEY}!", PIAPI_KEY),
    ],
)
def test_redactor_masks_each_kind_of_secret(text: str, secret: str) -> None:
    masked = Redactor([PIAPI_KEY])(text)
    assert secret not in masked
    assert REDACTED in masked


def test_redactor_leaves_ordinary_text_and_short_literals_alone() -> None:
    redact = Redactor(["sandbox", None, ""])  # the sandbox's placeholder key is no secret
    text = "job 5 submitted as PiAPI task 1f2e-33 to the sandbox; X-Amz-Algorithm=AWS4"
    assert redact(text) == text


def test_a_json_line_carries_the_bound_job_fields(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = capture
    log.info("before")
    with log_context.bound(job_id=7, task_id="t-1", celery_task_id="c-1"):
        log.warning("job %s: poll failed", 7, extra={"attempt": 2})
    log.info("after")

    before, during, after = _lines(stream)
    assert "job_id" not in before and "job_id" not in after
    assert during["message"] == "job 7: poll failed"
    assert during["level"] == "WARNING"
    assert during["logger"] == "test.logs"
    assert (during["job_id"], during["task_id"], during["celery_task_id"]) == (7, "t-1", "c-1")
    assert during["attempt"] == 2
    assert during["ts"].endswith("Z")


def test_secrets_are_masked_in_messages_extras_and_tracebacks(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = capture
    try:
        raise ValueError(f'bad "{PIAPI_KEY}"')  # a quote: masked before JSON escapes it
    except ValueError:
        log.exception("failed with %s", PIAPI_KEY, extra={"url": "https://x?sig=abcdef"})
    assert PIAPI_KEY not in stream.getvalue()
    assert "abcdef" not in stream.getvalue()
    (line,) = _lines(stream)
    assert "ValueError" in line["exc_info"]


def test_celery_task_lines_name_the_job_remembered_for_the_task(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    log, stream = capture
    log_context.remember("celery-1", job_id=9, task_id="piapi-9")
    data = {"id": "celery-1", "name": "workers.tasks.poll_job", "args": "(9, 'x')"}
    log.info("Task %(name)s[%(id)s] received", data, extra={"data": data})

    (line,) = _lines(stream)
    assert line["message"] == "Task workers.tasks.poll_job[celery-1] received"
    assert (line["job_id"], line["task_id"], line["celery_task_id"]) == (9, "piapi-9", "celery-1")
    assert "data" not in line


def test_text_format_is_one_readable_line_with_the_fields() -> None:
    formatter = make_formatter("text", [PIAPI_KEY])
    record = logging.makeLogRecord(
        {"name": "w", "levelname": "INFO", "msg": "key %s", "args": (PIAPI_KEY,), "job_id": 3}
    )
    line = formatter.format(record)
    assert line.endswith(f"w: key {REDACTED} [job_id=3]")


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        make_formatter("xml")
