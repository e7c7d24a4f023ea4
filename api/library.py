"""The library page (/library): a user's videos in the browser, over the same JSON API.

The page is static HTML, CSS and JavaScript (api/library_page/, no build step, no CDN). It
holds no data itself: the browser asks for the API key and calls /api/video/* with it, so
the page is public and every data call is authenticated like any other client's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, send_from_directory

from infra.settings import Settings

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).resolve().parent / "library_page"

bp = Blueprint(
    "library", __name__, static_folder=PAGE_DIR, static_url_path="/assets", url_prefix="/library"
)


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def media_sources(settings: Settings, url_for_key: Callable[[str], str]) -> list[str]:
    """Where the page may load videos and thumbnails from: here, our storage, PiAPI's hosts."""
    try:
        # The storage knows its own URLs (ours at /media, or S3's pre-signed ones); one
        # made-up key gives their origin without a second setting to keep in step.
        stored = url_for_key("origin-probe")
    except Exception:  # noqa: BLE001 - e.g. S3 without credentials: the page still works
        log.warning("library page: storage gave no URL; its media will be blocked by the CSP")
        stored = None
    # Until a finished video is copied into storage, its URLs are PiAPI's (the sandbox's).
    provider = settings.sandbox_public_url if settings.uses_sandbox else None
    sources = ["'self'"]
    for source in (_origin(stored), _origin(provider), *settings.library_media_sources.split()):
        if source and source not in sources:
            sources.append(source)
    return sources


def content_security_policy(media: list[str]) -> str:
    """Scripts, styles and API calls from this origin only; media from `media` only.

    Images may also be blob: URLs: the form previews a chosen file from the browser's own
    copy (an object URL, which only this page's scripts can make), wherever uploads go.
    """
    allowed = " ".join(media)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            f"img-src {allowed} blob:",
            f"media-src {allowed}",
            # The forms are sent by script; a form that would navigate (and put the key in a
            # URL) is refused by the browser.
            "form-action 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


@bp.get("")
@bp.get("/")
def page() -> Response:
    """The page itself: public HTML; the data comes from the API with the user's key."""
    return send_from_directory(PAGE_DIR, "index.html", max_age=0)


@bp.after_request
def _headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = current_app.extensions["library_csp"]
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def install_library_page(app: Flask, settings: Settings, url_for_key: Callable[[str], str]) -> None:
    """Serve /library and its assets with a CSP that admits the storage's media origin."""
    app.extensions["library_csp"] = content_security_policy(media_sources(settings, url_for_key))
    app.register_blueprint(bp)
