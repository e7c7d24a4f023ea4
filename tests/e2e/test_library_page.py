"""The library page (/library) in headless Chromium against the running stack: it asks for
the API key and sends it only as a header, follows a job from processing to completed in
the same row without a reload, plays the finished video, and shows jobs made elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import chromium, require_chromium
from tests.e2e.conftest import Stack, run_stack
from tests.stack import ROOT

ARTIFACTS = ROOT / "artifacts" / "library"
TIMEOUT_MS = 15_000
JOB_TIMEOUT_MS = 90_000  # a job's whole life on a busy machine; normally about 10 s
# Hunyuan's 60 s become 6 s: long enough for the page to poll a job while it processes.
TIME_SCALE = "0.1"
KEY_NAME = "videogen.apiKey"
SCRIPT = 'A lighthouse at dusk, <b>waves</b> & "spray" <img src=x onerror=alert(1)>'

# Records every value a row's data-status takes, on the element itself.
WATCH_STATUS = """el => {
  window.__statuses = [el.dataset.status];
  new MutationObserver(() => {
    const now = el.dataset.status;
    if (window.__statuses[window.__statuses.length - 1] !== now) window.__statuses.push(now);
  }).observe(el, {attributes: true, attributeFilter: ["data-status"]});
}"""

PLAY = """async v => {
  v.muted = true;  // autoplay rules: a muted video may start without a user gesture
  try { await v.play(); return "playing"; } catch (e) { return `${e.name}: ${e.message}`; }
}"""


@pytest.fixture(scope="module")
def library_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    with run_stack(
        tmp_path_factory.mktemp("library"),
        "postgres-redis",
        database="videogen_e2e_library",
        redis_db=6,  # unused by the other e2e modules (0, 8, 9, 11-15 are taken)
        SANDBOX_TIME_SCALE=TIME_SCALE,
    ) as running:
        yield running


def _screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")  # noqa: T201 - where to look, with pytest -s
    return path


def test_library_page_follows_a_job_to_its_video(library_stack: Stack) -> None:
    from playwright.sync_api import expect

    stack = library_stack
    hosts = {urlsplit(stack.api).netloc, urlsplit(stack.sandbox).netloc}
    requests_seen: list[Any] = []
    errors: list[str] = []
    navigations: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("request", lambda r: requests_seen.append(r))
        page.on("requestfailed", lambda r: errors.append(f"failed {r.url}"))
        page.on("pageerror", lambda exc: errors.append(f"script error {exc}"))
        page.on(
            "console",
            lambda m: m.type == "error" and "401" not in m.text and errors.append(m.text),
        )
        page.on(
            "response",
            lambda r: r.status >= 400 and r.status != 401 and errors.append(f"{r.status} {r.url}"),
        )
        page.on("framenavigated", lambda f: f == page.main_frame and navigations.append(f.url))

        answer = page.goto(f"{stack.api}/library")
        assert answer is not None and answer.status == 200
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp

        # No key yet: the page asks for one. A wrong key is refused and asked for again.
        expect(page.locator("#key-panel")).to_be_visible()
        page.fill("#key-input", "vg_not-a-real-key")
        page.click("#key-form button[type=submit]")
        expect(page.locator("#key-error")).to_contain_text("401")
        expect(page.locator("#key-panel")).to_be_visible()

        # The right key opens the library, empty on a fresh stack.
        page.fill("#key-input", stack.key)
        page.click("#key-form button[type=submit]")
        expect(page.locator("#library-state")).to_have_attribute("data-state", "empty")
        assert page.evaluate(f"sessionStorage.getItem('{KEY_NAME}')") == stack.key
        page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads

        # Submit through the page's form; the row appears at once, processing.
        page.fill("#new-script", SCRIPT)
        with page.expect_response(lambda r: r.url.endswith("/api/video/generate")) as created:
            page.click("#new-submit")
        assert created.value.status == 202
        video_id = created.value.json()["video_id"]
        row = page.locator(f'li.video[data-video-id="{video_id}"]')
        expect(row).to_have_attribute("data-status", "processing")
        first = row.element_handle()
        page.evaluate(WATCH_STATUS, first)
        # Job fields are text: the script's markup is shown, never parsed.
        assert row.locator(".script").inner_text() == SCRIPT
        assert row.locator(".script *").count() == 0
        assert row.locator(".cost").inner_text() == "$0.03"
        assert row.locator(".provider").inner_text().startswith("piapi_hunyuan_fast")

        # The page polls the job's status while it processes.
        status_url = f"{stack.api}/api/video/status/{video_id}"
        with page.expect_response(status_url, timeout=JOB_TIMEOUT_MS) as polled:
            pass
        assert polled.value.request.headers.get("authorization") == f"Bearer {stack.key}"
        expect(row.locator("progress.bar")).to_be_visible()
        _screenshot(page, "processing")

        # A job made by another client (the API directly) shows up too, and fails visibly.
        failing = stack.http().post(
            f"{stack.api}/api/video/generate",
            json={"generation_mode": "text_to_video", "script": "[sandbox:fail] a storm"},
            timeout=10,
        )
        assert failing.status_code == 202, failing.text
        other = page.locator(f'li.video[data-video-id="{failing.json()["video_id"]}"]')

        expect(row).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT_MS)
        assert page.evaluate("window.__statuses") == ["processing", "completed"]
        assert page.evaluate("([a, b]) => a === b && a.isConnected", [first, row.element_handle()])
        assert page.evaluate("window.__sameDocument") is True
        assert navigations == [f"{stack.api}/library"]

        # Once our copy is stored the player points at it, with the thumbnail as poster.
        expect(row).to_have_attribute("data-storage", "stored", timeout=JOB_TIMEOUT_MS)
        video = row.locator("video.player")
        expect(video).to_be_visible()
        src = video.get_attribute("src") or ""
        assert src.startswith(f"{stack.api}/media/"), src
        outcome = video.evaluate(PLAY)
        if outcome != "playing":
            decodable = page.evaluate(
                "document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.64000d\"')"
            )
            pytest.fail(
                f"the video did not play ({outcome}); this Chromium rates H.264 "
                f"{decodable or 'unplayable'!r}, media error {video.evaluate('v => v.error')}"
            )
        page.wait_for_function(
            "v => v.played.length > 0 && v.currentTime > 0.5 && v.readyState >= 2",
            arg=video.element_handle(),
        )
        video.evaluate("v => v.pause()")
        assert video.evaluate("v => v.error") is None

        expect(other).to_have_attribute("data-status", "failed", timeout=JOB_TIMEOUT_MS)
        expect(other.locator(".note")).to_contain_text("10000")
        expect(page.locator("#library-state")).to_have_text("2 videos, newest first.")
        # Newest first: the job made last is on top.
        assert page.locator("li.video").first.get_attribute("data-video-id") == str(
            failing.json()["video_id"]
        )
        _screenshot(page, "completed")

    assert not errors, f"errors on the page: {errors}"
    for request in requests_seen:
        assert stack.key not in request.url, "the API key was put in a URL"
        assert urlsplit(request.url).netloc in hosts, f"fetched from elsewhere: {request.url}"
    data_calls = [r for r in requests_seen if urlsplit(r.url).path.startswith("/api/")]
    assert len(data_calls) > 3
    unkeyed = [
        r.url
        for r in data_calls
        if r.headers.get("authorization") not in (f"Bearer {stack.key}", "Bearer vg_not-a-real-key")
    ]
    assert not unkeyed, f"data calls without the key: {unkeyed}"
