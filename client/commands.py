"""What each videogen command does, given a client, its arguments and two consoles."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
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

from client.api import VideoClient, download
from client.compose import quote_body, submit_body
from client.exit_codes import JOB_CANCELED, JOB_FAILED, NOT_READY, OK
from client.providers import providers_table, quote_table
from client.render import cost, library_table, print_job
from client.watch import watch


def run_providers(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    """GET /api/providers as a table by family (or the body, filtered by --mode)."""
    body = client.providers()
    if args.json:
        if args.mode:
            body = {**body, "providers": [p for p in body["providers"] if args.mode in p["modes"]]}
        _print_json(body)
    else:
        out.print(providers_table(body, args.mode))
    return OK


def run_quote(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    """POST /api/video/quote with the body submit would send; no job, no upload."""
    answer = client.quote(quote_body(args))
    if args.json:
        _print_json(answer)
    else:
        out.print(quote_table(answer))
    return OK


def run_submit(client: VideoClient, args: argparse.Namespace, out: Console, err: Console) -> int:
    """POST /api/video/generate with only the fields given (the API fills the defaults)."""
    body = submit_body(client, args, err)
    job = client.generate(body, idempotency_key=args.idempotency_key)
    video_id = str(job["video_id"])
    price = cost(job.get("cost"), job.get("cost_estimated"), unknown="price not published")
    err.print(f"submitted video {video_id} ({job.get('provider')}, {price})", soft_wrap=True)
    if not args.watch:
        out.print(video_id)
        return OK
    return _follow(client, video_id, args, out, first=job)


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
