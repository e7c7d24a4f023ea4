"""The library page's server side: public HTML, its assets, and a CSP that admits only this
origin for code and the storage's and PiAPI's origins for media. No servers needed."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from api.library import PAGE_DIR, content_security_policy, media_sources
from infra.settings import Settings
from models.db import make_engine, make_session_factory

BASE = Settings.from_env()


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    defaults: dict[str, object] = {
        "piapi_api_key": None,
        "storage_url": f"file://{tmp_path}/media",
        "storage_public_url": "http://media.example:9000/media",
        "sandbox_public_url": "http://127.0.0.1:8090",
        "library_media_sources": "",
    }
    return dataclasses.replace(BASE, **(defaults | overrides))


def _client(settings: Settings) -> FlaskClient:
    # /library never touches the database; an unconnected SQLite factory is enough.
    factory = make_session_factory(make_engine("sqlite://"))
    return create_app(settings, session_factory=factory).test_client()


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_the_page_is_public_html_with_a_strict_csp(tmp_path: Path) -> None:
    answer = _client(_settings(tmp_path)).get("/library", buffered=True)

    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    policy = _directives(answer.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    for code in ("script-src", "style-src", "connect-src"):
        assert policy[code] == ["'self'"]
    media = ["'self'", "http://media.example:9000", "http://127.0.0.1:8090"]
    assert policy["media-src"] == media
    assert policy["img-src"] == [*media, "blob:"]  # the upload's preview, an object URL
    assert policy["form-action"] == ["'none'"]
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_data_still_needs_the_key(tmp_path: Path) -> None:
    client = _client(_settings(tmp_path))

    assert client.get("/api/video/library").status_code == 401


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        *((name, "text/javascript") for name in ("library.js", "api.js", "models.js", "images.js")),
        ("compose.js", "text/javascript"),
        ("library.css", "text/css"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_assets_are_served_from_the_package(tmp_path: Path, name: str, mimetype: str) -> None:
    answer = _client(_settings(tmp_path)).get(f"/library/assets/{name}", buffered=True)

    assert answer.status_code == 200
    assert answer.mimetype == mimetype
    assert answer.get_data() == (PAGE_DIR / name).read_bytes()


def test_with_a_piapi_key_media_may_come_from_piapi_hosts(tmp_path: Path) -> None:
    settings = _settings(tmp_path, piapi_api_key="pk", library_media_sources="https:")

    sources = media_sources(settings, lambda key: f"https://bucket.s3.example.com/{key}?X-Sig=1")

    # No sandbox origin without the sandbox; the storage's origin without path or query.
    assert sources == ["'self'", "https://bucket.s3.example.com", "https:"]


def test_storage_without_urls_leaves_the_page_working(tmp_path: Path) -> None:
    def no_credentials(key: str) -> str:
        raise RuntimeError("Unable to locate credentials")

    policy = content_security_policy(media_sources(_settings(tmp_path), no_credentials))

    assert "media-src 'self' http://127.0.0.1:8090;" in policy


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_inline_code() -> None:
    html = (PAGE_DIR / "index.html").read_text()

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert re.findall(r"<script[^>]*>", html) == [
        '<script type="module" src="/library/assets/library.js">'
    ]
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<[^>]*\son[a-z]+=", html, re.IGNORECASE)  # no inline handlers


def test_the_scripts_never_write_job_fields_as_html() -> None:
    scripts = sorted(PAGE_DIR.glob("*.js"))
    assert len(scripts) >= 5

    for path in scripts:
        script = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in script, f"{path.name} uses {sink}"
        # Modules import only each other, by relative path: nothing from another origin.
        for source in re.findall(r"""\bfrom ["']([^"']+)["'];""", script):
            assert re.fullmatch(r"\./[a-z]+\.js", source), f"{path.name} imports {source}"
            assert (PAGE_DIR / source).is_file()
