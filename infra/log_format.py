"""How log lines look: one JSON object per line (or plain text), never with a secret.

The API (through gunicorn.conf.py), the workers and beat (workers/log_hooks.py) all
configure logging with `logging_config`, so every process writes the same fields.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from infra import log_context

LOG_FORMATS = ("json", "text")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "data"}

REDACTED = "[REDACTED]"
# A literal secret shorter than this is not redacted: it would blank out ordinary words
# (the sandbox's placeholder key is "sandbox").
MIN_LITERAL_SECRET = 8

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Our API keys and webhook signing secrets, by their prefixes.
    (re.compile(r"\bvgk_[A-Za-z0-9_\-]+"), "vgk_" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+"), "whsec_" + REDACTED),
    # A job's hook token in PiAPI's webhook endpoint (models/jobs.py new_hook_token).
    (re.compile(r"\bpwh_[A-Za-z0-9_\-]+"), "pwh_" + REDACTED),
    # Header values, whether printed as "Name: value", name=value or a dict's repr.
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization|x-api-key|x-webhook-secret|api[_-]?key)"
            r"(['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|basic|token)\s+)?[^\s'\",;}&]+"
        ),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/\-]+=*"), "Bearer " + REDACTED),
    # Signed URLs: S3 SigV4 and SigV2, CloudFront, Azure SAS. The URL stays readable.
    (
        re.compile(
            r"(?i)([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature"
            r"|Key-Pair-Id|Policy|AWSAccessKeyId|sig)=)[^&\s'\"#]+"
        ),
        r"\1" + REDACTED,
    ),
)


class Redactor:
    """Masks secrets in text: known prefixes and shapes, and the configured literal values.

    A last line of defence: code should not log secrets in the first place.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        literals = sorted(
            {s for s in secrets if s and len(s) >= MIN_LITERAL_SECRET}, key=len, reverse=True
        )
        self._literal = re.compile("|".join(map(re.escape, literals))) if literals else None

    def __call__(self, text: str) -> str:
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class ContextFilter(logging.Filter):
    """Copies the bound job fields (infra/log_context.py) onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = log_context.current()
        data = getattr(record, "data", None)
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            # Celery's own task lines ("received", "succeeded", ...) carry the task's id.
            fields = {
                **fields,
                "celery_task_id": data["id"],
                "celery_task": data.get("name"),
                **log_context.recall(data["id"]),
            }
        for name, value in fields.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """gunicorn's access line as fields (its arguments are a dict of log "atoms")."""
    if record.name != "gunicorn.access" or not isinstance(record.args, Mapping):
        return {}
    atoms: Mapping[str, Any] = record.args
    path, query = atoms.get("U") or None, atoms.get("q") or ""
    return {
        "method": atoms.get("m"),
        "path": f"{path}?{query}" if path and query else path,
        "status": int(atoms["s"]) if str(atoms.get("s", "")).isdigit() else atoms.get("s"),
        "duration_ms": round(atoms["D"] / 1000, 1) if isinstance(atoms.get("D"), int) else None,
        "remote_addr": atoms.get("h"),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the job fields, any extras."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in log_context.FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        line |= {k: v for k, v in _access_fields(record).items() if v is not None}
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRS and name not in line and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(self._redacted(line), default=str, ensure_ascii=False)

    def _redacted(self, value: Any) -> Any:
        # Before encoding: a secret with a quote or backslash in it is matched as written.
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, Mapping):
            return {k: self._redacted(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self._redact(str(value))


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, the job fields appended, secrets masked all the same."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [
            f"{name}={value}"
            for name in log_context.FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        return self._redact(text + (f" [{' '.join(fields)}]" if fields else ""))


def make_formatter(style: str, secrets: Iterable[str | None] = ()) -> logging.Formatter:
    """The formatter for LOG_FORMAT (`json` or `text`); dictConfig calls this."""
    if style not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {style!r}")
    return JsonFormatter(secrets) if style == "json" else TextFormatter(secrets)


def logging_config(
    style: str, *, level: str | int = "INFO", secrets: Iterable[str | None] = ()
) -> dict[str, Any]:
    """A logging.config.dictConfig dict: everything to stdout through one handler.

    gunicorn's own loggers are routed to the same handler, so its start-up lines and
    access lines look like the application's.
    """
    level_name = logging.getLevelName(level) if isinstance(level, int) else level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"main": {"()": make_formatter, "style": style, "secrets": list(secrets)}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "main",
                "filters": ["context"],
            }
        },
        "root": {"level": level_name, "handlers": ["stdout"]},
        "loggers": {
            name: {"level": "INFO", "handlers": [], "propagate": True}
            for name in ("gunicorn.error", "gunicorn.access")
        },
    }
