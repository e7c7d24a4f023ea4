"""`videogen`: submit, watch, inspect, list and download videos through the HTTP API.

The CLI's composition root: the only place it reads the environment (VIDEOGEN_URL,
VIDEOGEN_API_KEY). It imports nothing of the service (no Flask, Celery or SQLAlchemy),
so it starts fast and works from any machine that can reach the API.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from client.api import APIError, ClientError, UnreachableError, VideoClient, download
from client.render import library_table, print_error, print_job
from client.watch import watch

DEFAULT_URL = "http://127.0.0.1:8000"
MODES = ("text_to_video", "image_to_video")
WEBHOOK_EVENTS = ("completed", "failed", "canceled", "progress")
LIBRARY_STATUSES = ("processing", "completed", "failed", "canceled")

# Exit codes, so scripts can tell outcomes apart.
OK = 0
JOB_FAILED = 1  # the job ended failed (watch, submit --watch)
USAGE = 2  # bad arguments or no key (argparse uses 2 as well)
REFUSED = 3  # the API answered 4xx: the request is wrong, retrying cannot help
UNAVAILABLE = 4  # no answer, or a 5xx: try again later
JOB_CANCELED = 5  # the job ended canceled
NOT_READY = 6  # download of a job that has no video (yet)
LOCAL = 7  # something on this side failed, e.g. the file cannot be written
INTERRUPTED = 130

PIPE_WIDTH = 200


class UsageError(ClientError):
    """The command line is incomplete in a way argparse cannot see (e.g. no key)."""


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

    submit = add("submit", "ask for a video", run_submit)
    submit.add_argument("script", help="what the video shows (1-4000 characters; - reads stdin)")
    submit.add_argument(
        "--mode",
        choices=MODES,
        help="default: image_to_video with --image-url, else text_to_video",
    )
    submit.add_argument("--image-url", help="image to animate (image_to_video)")
    submit.add_argument("--style", help="marketing (default), educational or social")
    submit.add_argument("--duration", type=int, help="seconds (default 5)")
    submit.add_argument("--aspect-ratio", help="e.g. 16:9 (default), 9:16, 1:1")
    submit.add_argument("--provider", help="force a provider (see GET /api/providers)")
    submit.add_argument("--campaign-id", help="campaign this video belongs to (digits)")
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


def _watch_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--interval", type=float, default=2.0, help="seconds between polls (default 2)"
    )


def run_submit(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    """POST /api/video/generate with only the fields given (the API fills the defaults)."""
    job = client.generate(submit_body(args), idempotency_key=args.idempotency_key)
    video_id = str(job["video_id"])
    err.print(f"submitted video {video_id} ({job.get('provider')}, ${job.get('cost')})")
    if not args.watch:
        out.print(video_id)
        return OK
    return _follow(client, video_id, args, out, first=job)


def submit_body(args: argparse.Namespace) -> dict[str, Any]:
    """The generate body from the submit options; unset options are left out."""
    script = sys.stdin.read() if args.script == "-" else args.script
    mode = args.mode or ("image_to_video" if args.image_url else "text_to_video")
    body: dict[str, Any] = {"generation_mode": mode, "script": script}
    optional = {
        "image_url": args.image_url,
        "style": args.style,
        "duration": args.duration,
        "aspect_ratio": args.aspect_ratio,
        "provider": args.provider,
        "campaign_id": args.campaign_id,
        "webhook_url": args.webhook_url,
        "webhook_events": args.webhook_events,
        "deadline_seconds": args.deadline_seconds,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def run_watch(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    return _follow(client, args.video_id, args, out)


def _follow(
    client: VideoClient,
    video_id: str,
    args: argparse.Namespace,
    out: Console,
    first: dict[str, Any] | None = None,
) -> int:
    job = watch(client, video_id, out, interval_s=args.interval, first=first)
    status = job.get("status")
    if status == "completed":
        out.print(f"completed: {job.get('video_url')}", soft_wrap=True)
        return OK
    detail = f" ({job.get('error_code')}: {job.get('error_message')})" if status == "failed" else ""
    out.print(Text(f"{status}{detail}", style="bold red"), soft_wrap=True)
    return JOB_CANCELED if status == "canceled" else JOB_FAILED


def run_status(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    job = client.status(args.video_id)
    if args.json:
        _print_json(job)
    else:
        print_job(out, job)
    return OK


def run_library(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    filters = {
        "status": args.status,
        "generation_mode": args.generation_mode,
        "provider": args.provider,
        "campaign_id": args.campaign_id,
    }
    page = client.library(page=args.page, cursor=args.cursor, per_page=args.per_page, **filters)
    if args.json:
        _print_json(page)
        return OK
    out.print(library_table(page, out.width, fill=out.is_terminal))
    if page.get("next_cursor"):
        # A cursor is valid only with the filters and page size that made it.
        options = {"--status": args.status, "--mode": args.generation_mode}
        options |= {"--provider": args.provider, "--campaign-id": args.campaign_id}
        again = ["videogen", "library"]
        again += [part for flag, v in options.items() if v is not None for part in (flag, v)]
        again += ["--per-page", str(args.per_page), "--cursor", str(page["next_cursor"])]
        err.print(f"next page: {shlex.join(again)}", soft_wrap=True)
    return OK


def run_download(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    job = client.status(args.video_id)
    url = job.get("video_url")
    if job.get("status") != "completed" or not url:
        err.print(f"video {args.video_id} is {job.get('status')}: there is nothing to download")
        return NOT_READY
    default_name = f"video-{args.video_id}.mp4"
    dest = args.output or Path(default_name)
    if dest.is_dir():
        dest = dest / default_name
    if err.is_terminal:
        columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err) as bar:
            task = bar.add_task("download", total=None)
            size = download(
                url,
                dest,
                on_start=lambda total: bar.update(task, total=total),
                on_chunk=lambda n: bar.advance(task, n),
            )
    else:
        size = download(url, dest)
    err.print(f"saved {size} bytes to {dest}")
    return OK


def run_cancel(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    job = client.cancel(args.video_id)
    out.print(f"video {job.get('video_id')}: {job.get('status')}")
    return OK


def _print_json(body: Any) -> None:
    # Plain stdout, not rich: the output is for jq and friends, byte for byte.
    sys.stdout.write(json.dumps(body, indent=2) + "\n")
