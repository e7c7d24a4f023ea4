"""Each model family's `output` object, while pending, processing and once completed.

The shapes are PiAPI's (REFERENCE.md "Where the result is", MODELS.md per model); the
URLs point at the sandbox's own /media/<task_id>/<name>, which app.py serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.sandbox.rules import hailuo, kling, luma, sora, veo

ZERO_TIME = "0001-01-01T00:00:00Z"
SAMPLE_SIZE = (320, 180)  # the sample video's frame size
# Families whose finished output is {"video": "<url>"}, and {"video": ""} before that.
_VIDEO_STRING_MODELS = (kling.TURBO, veo.VEO3, veo.VEO31, sora.SORA2)


def output_for(
    model: str, task_input: Mapping[str, Any], status: str, done_share: float, base: str
) -> dict[str, Any] | None:
    """The task's output for status; done_share (0..1) is how far its run has got."""
    done = status == "completed"
    if model == luma.LUMA:
        return _luma(task_input, done, base)
    if model == hailuo.HAILUO:
        return _hailuo(status, done_share, base)
    if model == kling.KLING and task_input.get("version") in kling.OLDER_VERSIONS:
        return _kling_works(task_input, done, base)
    if model == kling.KLING or model in _VIDEO_STRING_MODELS:
        # MODELS.md: a plain URL string; while pending {"video": ""} (or null).
        return {"video": f"{base}/video.mp4" if done else ""}
    # Qubico (Hunyuan, WanX with or without LoRA, Skyreels): output.video_url, as every
    # integration reads it; nothing until it completes.
    return {"video_url": f"{base}/video.mp4"} if done else None


def _luma(task_input: Mapping[str, Any], done: bool, base: str) -> dict[str, Any]:
    width, height = SAMPLE_SIZE

    def obj(name: str) -> dict[str, Any] | None:
        return {"url": f"{base}/{name}", "width": width, "height": height} if done else None

    return {
        "prompt": task_input.get("prompt", "") if done else "",
        "internal_state": "completed" if done else "",
        "created_at": ZERO_TIME,
        "video": obj("video.mp4"),
        "video_raw": obj("video_raw.mp4"),
        "thumbnail": obj("thumbnail.jpg"),
        "last_frame": obj("last_frame.jpg"),
    }


def _hailuo(status: str, done_share: float, base: str) -> dict[str, Any]:
    # Zero values and empty strings until it completes; percent grows while it runs.
    if status == "completed":
        width, height = SAMPLE_SIZE
        return {
            "video_url": f"{base}/video.mp4",
            "download_url": f"{base}/video_raw.mp4",
            "cover_url": f"{base}/cover.jpg",
            "width": width,
            "height": height,
            "percent": 100,
        }
    percent = min(99, int(done_share * 100)) if status == "processing" else 0
    return {
        "video_url": "",
        "download_url": "",
        "cover_url": "",
        "width": 0,
        "height": 0,
        "percent": percent,
    }


def _kling_works(task_input: Mapping[str, Any], done: bool, base: str) -> dict[str, Any]:
    # Kling before 3.0: the older `works` list (REFERENCE.md's Kling example).
    kind = "m2v_img2video_hq" if task_input.get("image_url") else "m2v_txt2video_hq"
    if not done:
        return {"type": kind, "status": 5, "works": []}
    width, height = SAMPLE_SIZE
    duration_ms = int(task_input.get("duration", 5)) * 1000
    return {
        "type": kind,
        "status": 99,
        "works": [
            {
                "status": 99,
                "type": kind,
                "cover": {
                    "resource": f"{base}/cover.jpg",
                    "resource_without_watermark": "",
                    "height": height,
                    "width": width,
                    "duration": 0,
                },
                "video": {
                    "resource": f"{base}/video.mp4",
                    "resource_without_watermark": f"{base}/video_raw.mp4",
                    "height": height,
                    "width": width,
                    "duration": duration_ms,
                },
            }
        ],
    }
