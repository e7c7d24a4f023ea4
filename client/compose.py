"""A generate (or quote) body from the command line: fields, --option values, image files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from client.api import ClientError, VideoClient

IMAGE_TO_VIDEO = "image_to_video"
# A bar for a file this large or larger; a smaller one is sent before a bar would show.
PROGRESS_MIN_BYTES = 1024 * 1024
# The price does not depend on the image, but a quote for image_to_video needs one: quote
# sends this instead of uploading the file (nothing fetches it; no job is made).
QUOTE_IMAGE_STAND_IN = "https://example.com/quote-only.jpg"


class UsageError(ClientError):
    """The command line is incomplete in a way argparse cannot see (e.g. no key)."""


def parse_option(text: str) -> tuple[str, Any]:
    """NAME=VALUE: the value as JSON when it parses (true, 0.7, null), else as a string."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. enable_audio=true)")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw  # mode=pro: a bare word is a string
    return name, value


def mode_of(args: argparse.Namespace) -> str:
    """The mode asked, else image_to_video when an image is given, else text_to_video."""
    if args.mode:
        return str(args.mode)
    return IMAGE_TO_VIDEO if (args.image_url or args.image) else "text_to_video"


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The generate body from the options given (unset ones are left out), images aside."""
    script = sys.stdin.read() if args.script == "-" else args.script
    body: dict[str, Any] = {"generation_mode": mode_of(args), "script": script}
    optional = {
        "image_url": args.image_url,
        "style": args.style,
        "duration": args.duration,
        "aspect_ratio": args.aspect_ratio,
        "provider": args.provider,
        "campaign_id": args.campaign_id,
        "webhook_url": getattr(args, "webhook_url", None),
        "webhook_events": getattr(args, "webhook_events", None),
        "deadline_seconds": getattr(args, "deadline_seconds", None),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if args.options:
        body["options"] = dict(args.options)  # a repeated name: the last one counts
    return body


def check_images(args: argparse.Namespace) -> None:
    """--image and --end-image name readable files and fit the request, before any upload."""
    if args.image and mode_of(args) != IMAGE_TO_VIDEO:
        raise UsageError("--image is for --mode image_to_video")
    if args.end_image and "end_image_url" in dict(args.options or []):
        raise UsageError("give --end-image or --option end_image_url, not both")
    for flag, path in (("--image", args.image), ("--end-image", args.end_image)):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path}: no such file")


def quote_body(args: argparse.Namespace) -> dict[str, Any]:
    """The quote body: the request as submit would send it, without uploading any file."""
    check_images(args)
    body = request_body(args)
    if args.image:
        body["image_url"] = QUOTE_IMAGE_STAND_IN
    return body


def submit_body(client: VideoClient, args: argparse.Namespace, err: Console) -> dict[str, Any]:
    """The generate body, with --image and --end-image uploaded first (their upload ids)."""
    check_images(args)
    body = request_body(args)
    for field, path in (("image_upload_id", args.image), ("end_image_upload_id", args.end_image)):
        if path is not None:
            body[field] = upload(client, path, err)["upload_id"]
    return body


def upload(client: VideoClient, path: Path, err: Console) -> dict[str, Any]:
    """POST /api/uploads with the file, a byte bar on a terminal for a large one."""
    size = path.stat().st_size
    if err.is_terminal and size >= PROGRESS_MIN_BYTES:
        columns = (
            TextColumn(f"upload {path.name}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err) as bar:
            task = bar.add_task("upload", total=size)
            answer = client.upload(path, on_chunk=lambda n: bar.advance(task, n))
    else:
        answer = client.upload(path)
    shape = f", {answer['width']}x{answer['height']}" if answer.get("width") else ""
    err.print(
        f"uploaded {path.name} ({answer.get('size', size)} bytes, "
        f"{answer.get('content_type')}{shape}): {answer.get('upload_id')}",
        soft_wrap=True,
    )
    return dict(answer)
