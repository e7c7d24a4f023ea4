"""How jobs, pages and errors look on a terminal (rich) and in a pipe (plain text)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from client.api import APIError, ClientError

STATUS_STYLE = {
    "processing": "yellow",
    "completed": "green",
    "failed": "red",
    "canceled": "magenta",
}
EXCERPT_CHARS = 40
MIN_SCRIPT_CHARS = 12  # a narrower excerpt says nothing: leave the column out


def parse_time(value: str | None) -> dt.datetime | None:
    """The API's ISO 8601 UTC time ("...Z") as an aware datetime."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def short_time(value: str | None, *, seconds: bool = True) -> str:
    """2026-11-26 09:30:05, in UTC like the API."""
    when = parse_time(value)
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") if when else "-"


def format_duration(seconds: float) -> str:
    """0:01:05: elapsed time the way a progress bar shows it."""
    whole = max(0, int(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def usd(value: Any) -> str:
    """$0.75, or more decimals where the amount has them ($0.0125)."""
    amount = float(value)
    return f"${amount:.2f}" if round(amount, 2) == amount else f"${amount:.4f}".rstrip("0")


def cost(value: Any, estimated: Any = False, *, unknown: str = "-") -> str:
    """A price: "$0.75", "$0.28 est." when it is an estimate, unknown when there is none."""
    if value is None:
        return unknown
    return f"{usd(value)} est." if estimated else usd(value)


def option_value(value: Any) -> str:
    """An option's value as --option takes it back: bare words stay bare, the rest is JSON."""
    if isinstance(value, str) and value and not any(c.isspace() or c in ',"' for c in value):
        try:
            json.loads(value)
        except ValueError:
            return value  # `pro`, not `"pro"`: it cannot be read as anything but a string
    return json.dumps(value)


def options_text(options: Mapping[str, Any] | None) -> str:
    """enable_audio=true, mode=pro"""
    return ", ".join(f"{name}={option_value(v)}" for name, v in (options or {}).items())


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The first words of a script on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def print_job(console: Console, job: dict[str, Any]) -> None:
    """A job as a short human summary: what it is, where it stands, where its video is."""
    rows: list[tuple[str, Any]] = [
        ("video", job.get("video_id")),
        ("status", status_text(str(job.get("status")))),
        ("progress", f"{job.get('progress') or 0}%"),
        ("mode", job.get("generation_mode")),
        ("provider", f"{job.get('provider')} ({job.get('model_name')})"),
        ("campaign", job.get("campaign_id")),
        ("style", job.get("style")),
        ("duration", _seconds(job)),
        ("aspect ratio", job.get("aspect_ratio")),
        ("cost", cost(job.get("cost"), job.get("cost_estimated"), unknown="price not published")),
        ("charged", None if job.get("charged_usd") is None else usd(job["charged_usd"])),
        ("options", options_text(job.get("options"))),
        ("script", excerpt(job.get("script"), 200)),
        ("image", job.get("image_url")),
        ("created", short_time(job.get("created_at"))),
        ("started", short_time(job.get("started_at"))),
        ("completed", short_time(job.get("completed_at"))),
        ("video url", job.get("video_url")),
        ("notice", job.get("notice")),
        ("error", _error(job)),
    ]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in rows:
        if value not in (None, "", "-"):
            table.add_row(label, value if isinstance(value, Text) else str(value))
    console.print(table)


def _seconds(job: dict[str, Any]) -> str | None:
    made, asked = job.get("duration"), job.get("requested_duration")
    if made is None:
        return None
    return f"{made} s" if asked in (None, made) else f"{made} s (asked {asked} s)"


def _error(job: dict[str, Any]) -> str | None:
    if not job.get("error_code") and not job.get("error_message"):
        return None
    return f"{job.get('error_code')}: {job.get('error_message')}"


# (header, right-aligned); the script comes last and takes the width that is left.
LIBRARY_COLUMNS = (
    ("id", True),
    ("created (UTC)", False),
    ("mode", False),
    ("status", False),
    ("progress", True),
    ("provider", False),
    ("cost", True),
    ("charged", True),
)
# What a narrow terminal gives up first, before rich would cut every column.
DROP_WHEN_NARROW = ("script", "charged", "created (UTC)", "mode")
COLUMN_GAP = 3  # padding either side and the separator


def library_table(page: dict[str, Any], width: int = 120, *, fill: bool = True) -> Table:
    """One page of the library: id, created, mode, status, progress, provider, cost, charged
    and the script.

    Columns keep their full width; on a narrow terminal the script, then what was charged,
    the creation time and the mode are left out rather than cut to "…". fill: stretch to
    the full width.
    """
    per_page = max(1, int(page.get("per_page") or 1))
    total = int(page.get("total") or 0)
    pages = max(1, -(-total // per_page))
    about = "about " if page.get("total_is_estimate") else ""  # past the API's exact count
    plural = "" if total == 1 else "s"
    rows = [
        {
            "id": str(job.get("video_id")),
            "created (UTC)": short_time(job.get("created_at"), seconds=False),
            "mode": str(job.get("generation_mode")),
            "status": str(job.get("status")),
            "progress": f"{job.get('progress') or 0}%",
            "provider": str(job.get("provider")),
            "cost": cost(job.get("cost"), job.get("cost_estimated"), unknown="not published"),
            "charged": cost(job.get("charged_usd")),
            "script": excerpt(job.get("script")),
        }
        for job in page.get("videos", [])
    ]
    widths = {h: max([len(h), *(len(row[h]) for row in rows)]) for h, _ in LIBRARY_COLUMNS}
    widths["script"] = MIN_SCRIPT_CHARS
    shown = [h for h, _ in LIBRARY_COLUMNS] + ["script"]
    for header in DROP_WHEN_NARROW:
        if sum(widths[h] + COLUMN_GAP for h in shown) <= width:
            break
        shown.remove(header)
    room = width - sum(widths[h] + COLUMN_GAP for h in shown if h != "script") - COLUMN_GAP

    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        expand=fill and "script" in shown,
        caption=f"page {page.get('page')} of {about}{pages}, {about}{total} video{plural}",
        caption_justify="left",
    )
    right = {h for h, is_right in LIBRARY_COLUMNS if is_right}
    for header in shown:
        if header == "script":
            table.add_column(header, overflow="ellipsis", no_wrap=True, ratio=1, max_width=room)
        else:
            table.add_column(
                header,
                justify="right" if header in right else "left",
                no_wrap=True,
                width=widths[header],
            )
    for row in rows:
        table.add_row(*(status_text(row[h]) if h == "status" else row[h] for h in shown))
    return table


def print_error(console: Console, exc: ClientError) -> None:
    """An error on stderr: what went wrong, and for a 422 each failing field."""
    console.print(Text(f"error: {exc}", style="bold red"))
    if isinstance(exc, APIError):
        for name, problems in _flatten(exc.fields):
            console.print(Text(f"  {name}: {problems}", style="red"))
        if exc.retry_after:
            console.print(f"  retry after {exc.retry_after} s")


def _flatten(fields: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's {"field": ["msg"]} (nested for lists: {"0": [...]}) as "a.0: msg" pairs."""
    flat: list[tuple[str, str]] = []
    for name, problems in fields.items():
        label = f"{prefix}.{name}" if prefix else str(name)
        if isinstance(problems, dict):
            flat.extend(_flatten(problems, label))
        elif isinstance(problems, list):
            flat.append((label, " ".join(str(p) for p in problems)))
        else:
            flat.append((label, str(problems)))
    return flat
