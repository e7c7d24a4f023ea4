"""What several families' rows share: prompt templates and the options more than one takes."""

from __future__ import annotations

from providers.catalogue.options import (
    IMAGE_TO_VIDEO,
    MAX_TEXT_CHARS,
    Option,
    OptionKind,
    Send,
)

SHORT_TEMPLATE = "{style}. Duration: {clip}s. Script: {script}"
CLIP_TEMPLATE = "{style}. {clip}-second clip. Script: {script}"


def negative_prompt(send: Send = Send.IF_SET) -> Option:
    """negative_prompt, as PiAPI names it; by default sent only when not empty."""
    return Option(
        "negative_prompt",
        OptionKind.STRING,
        "What the video should not show.",
        piapi_field="negative_prompt",
        default="",
        max_length=MAX_TEXT_CHARS,
        send=send,
    )


def end_image_url(piapi_field: str) -> Option:
    """The last frame of an image-to-video clip, sent as piapi_field."""
    return Option(
        "end_image_url",
        OptionKind.URL,
        "The clip's last frame, an http(s) image URL (image-to-video only).",
        piapi_field=piapi_field,
        default=None,
        modes=frozenset({IMAGE_TO_VIDEO}),
        send=Send.IF_SET,
    )


CFG_SCALE = Option(
    "cfg_scale",
    OptionKind.NUMBER,
    "How closely the video follows the prompt: higher is closer, lower is freer.",
    piapi_field="cfg_scale",
    default=0.5,
    minimum=0,
    maximum=1,
    send=Send.IF_SET,
)
