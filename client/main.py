"""`videogen`: list models, quote, submit, watch, inspect, list and download videos.

The CLI's composition root: the only place it reads the environment (VIDEOGEN_URL,
VIDEOGEN_API_KEY). It imports nothing of the service (no Flask, Celery or SQLAlchemy),
so it starts fast and works from any machine that can reach the API.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from client.api import APIError, ClientError, UnreachableError, VideoClient
from client.commands import (
    run_cancel,
    run_download,
    run_library,
    run_providers,
    run_quote,
    run_status,
    run_submit,
    run_watch,
)
from client.compose import UsageError, parse_option
from client.exit_codes import (
    INTERRUPTED,
    JOB_CANCELED,
    JOB_FAILED,
    LOCAL,
    NOT_READY,
    OK,
    REFUSED,
    UNAVAILABLE,
    USAGE,
)
from client.render import print_error

# The exit codes are part of this module's interface (scripts and tests import them here).
__all__ = [
    "INTERRUPTED",
    "JOB_CANCELED",
    "JOB_FAILED",
    "LOCAL",
    "NOT_READY",
    "OK",
    "REFUSED",
    "UNAVAILABLE",
    "USAGE",
    "build_parser",
    "main",
]

DEFAULT_URL = "http://127.0.0.1:8000"
MODES = ("text_to_video", "image_to_video")
WEBHOOK_EVENTS = ("completed", "failed", "canceled", "progress")
LIBRARY_STATUSES = ("processing", "completed", "failed", "canceled")

PIPE_WIDTH = 200


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the process exit code."""
    args = build_parser().parse_args(argv)
    # markup=False: scripts, error messages and paths may hold [brackets] of their own.
    out = Console(highlight=False, markup=False)
    err = Console(stderr=True, highlight=False, markup=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = PIPE_WIDTH  # a pipe or file has no width: rich's 80 would cut the table
    try:
        if not args.key:
            raise UsageError("no API key: set VIDEOGEN_API_KEY (or pass --key)")
        client = VideoClient(args.url, args.key)
        return int(args.run(client, args, out, err))
    except KeyboardInterrupt:
        err.print("interrupted (a job keeps running on the server)")
        return INTERRUPTED
    except ClientError as exc:
        print_error(err, exc)
        return _exit_code(exc)


def _exit_code(exc: ClientError) -> int:
    if isinstance(exc, UsageError):
        return USAGE
    if isinstance(exc, APIError):
        return UNAVAILABLE if exc.transient else REFUSED
    if isinstance(exc, UnreachableError):
        return UNAVAILABLE
    return LOCAL


def build_parser() -> argparse.ArgumentParser:
    """Every command and option; defaults come from the environment."""
    parser = argparse.ArgumentParser(
        prog="videogen", description="Generate videos through the videogen HTTP API."
    )
    _connection_options(parser, os.environ)
    # The same options after the command too (`videogen status 5 --url ...`); SUPPRESS
    # keeps a subcommand from overwriting what was given before it.
    anywhere = argparse.ArgumentParser(add_help=False)
    _connection_options(anywhere, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = partial(_command, commands, anywhere)

    providers = add("providers", "list the models, their options and prices", run_providers)
    providers.add_argument("--mode", choices=MODES, help="only the models that can do this mode")
    providers.add_argument("--json", action="store_true", help="the raw body")

    submit = add("submit", "ask for a video", run_submit)
    _request_options(submit)
    submit.add_argument("--webhook-url", help="we POST the job there when it ends")
    submit.add_argument(
        "--webhook-event",
        action="append",
        choices=WEBHOOK_EVENTS,
        dest="webhook_events",
        help="event to send to --webhook-url (repeat; default completed, failed, canceled)",
    )
    submit.add_argument("--deadline-seconds", type=int, help="fail the job after this long")
    submit.add_argument("--idempotency-key", help="a retry with the same key returns the job")
    submit.add_argument("--watch", action="store_true", help="follow the job until it ends")
    _watch_options(submit)

    quote = add("quote", "what a submit would run and cost (no job, no upload)", run_quote)
    _request_options(quote)
    quote.add_argument("--json", action="store_true", help="the raw quote body")

    watch_cmd = add("watch", "follow a job with a progress bar", run_watch)
    watch_cmd.add_argument("video_id")
    _watch_options(watch_cmd)

    status = add("status", "show one job", run_status)
    status.add_argument("video_id")
    status.add_argument("--json", action="store_true", help="the raw status body")

    library = add("library", "list your videos, newest first", run_library)
    library.add_argument("--status", choices=LIBRARY_STATUSES)
    library.add_argument("--mode", choices=MODES, dest="generation_mode")
    library.add_argument("--provider")
    library.add_argument("--campaign-id")
    where = library.add_mutually_exclusive_group()
    where.add_argument("--page", type=int, help="page number (default 1)")
    where.add_argument(
        "--cursor", help="the next page after a listing (printed below it); same filters"
    )
    library.add_argument("--per-page", type=int, default=20, help="1-100 (default 20)")
    library.add_argument("--json", action="store_true", help="the raw page body")

    fetch = add("download", "save a finished video to a file", run_download)
    fetch.add_argument("video_id")
    fetch.add_argument(
        "-o", "--output", type=Path, help="file or folder to write to (default video-ID.mp4)"
    )

    cancel = add("cancel", "stop a job that is still processing", run_cancel)
    cancel.add_argument("video_id")
    return parser


def _command(
    commands: Any,
    common: argparse.ArgumentParser,
    name: str,
    help_text: str,
    run: Callable[..., int],
) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=help_text, parents=[common]
    )
    sub.set_defaults(run=run)
    return sub


def _connection_options(parser: argparse.ArgumentParser, env: Mapping[str, str] | None) -> None:
    """--url and --key, with the environment's defaults (none: leave the namespace alone)."""
    url = (env.get("VIDEOGEN_URL") or DEFAULT_URL) if env is not None else argparse.SUPPRESS
    key = env.get("VIDEOGEN_API_KEY") if env is not None else argparse.SUPPRESS
    parser.add_argument(
        "--url", default=url, help=f"API base URL (env VIDEOGEN_URL, default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--key",
        default=key,
        help="API key (env VIDEOGEN_API_KEY; prefer the variable: arguments show in `ps`)",
    )


def _request_options(sub: argparse.ArgumentParser) -> None:
    """What submit and quote share: the request's fields, images and model options."""
    sub.add_argument("script", help="what the video shows (1-4000 characters; - reads stdin)")
    sub.add_argument(
        "--mode",
        choices=MODES,
        help="default: image_to_video with --image or --image-url, else text_to_video",
    )
    image = sub.add_mutually_exclusive_group()
    image.add_argument(
        "--image", type=Path, help="an image file to animate (JPEG, PNG or WebP), uploaded first"
    )
    image.add_argument("--image-url", help="an image URL to animate (image_to_video)")
    sub.add_argument(
        "--end-image",
        type=Path,
        help="a last-frame image file, uploaded first (models with end_image_url)",
    )
    sub.add_argument(
        "--option",
        action="append",
        type=parse_option,
        dest="options",
        metavar="NAME=VALUE",
        help="a model option (repeat; values are JSON when they parse: enable_audio=true "
        "mode=pro); `videogen providers` lists each model's",
    )
    sub.add_argument("--style", help="marketing (default), educational or social")
    sub.add_argument("--duration", type=int, help="seconds (default 5)")
    sub.add_argument("--aspect-ratio", help="e.g. 16:9 (default), 9:16, 1:1")
    sub.add_argument("--provider", help="force a provider (see `videogen providers`)")
    sub.add_argument("--campaign-id", help="campaign this video belongs to (digits)")


def _watch_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--interval", type=float, default=2.0, help="seconds between polls (default 2)"
    )
