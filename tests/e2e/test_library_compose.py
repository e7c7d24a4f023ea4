"""The library page's New video form in headless Chromium against a stack of its own: the
model picker (by family, only models that can do the mode), a model's options as controls,
the quote as they change (published, estimate, not published), a text-to-video job with
options and an image-to-video job from uploaded files, each followed to completed, with
what was charged; API errors (a 422 option, a 415 upload) shown next to their fields."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.browser import chromium, require_chromium
from tests.e2e.conftest import Stack, run_stack
from tests.stack import ROOT

ARTIFACTS = ROOT / "artifacts" / "library"
TIMEOUT_MS = 15_000
JOB_TIMEOUT_MS = 120_000  # a job's whole life on a busy machine; normally under 15 s
T2V_FAMILIES = ["Hunyuan", "WanX", "Luma", "Kling", "Hailuo", "Veo", "Sora"]
I2V_FAMILIES = ["Hunyuan", "WanX", "Luma", "Kling", "Hailuo", "Veo", "Skyreels"]


@pytest.fixture(scope="module")
def compose_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_chromium()
    with run_stack(
        tmp_path_factory.mktemp("compose"),
        "postgres-redis",
        database="videogen_e2e_clients",
        redis_db=1,
        SANDBOX_TIME_SCALE="0.05",
        # Uploads on local storage need a URL PiAPI (the sandbox) can fetch them from.
        PUBLIC_BASE_URL="{api}",
        PYTHONPATH=str(ROOT),  # this checkout's code, whatever the virtualenv points at
    ) as running:
        yield running


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    from PIL import Image

    first = Image.new("RGB", (640, 360))
    first.putdata([(x % 256, y % 256, 128) for y in range(360) for x in range(640)])
    last = Image.new("RGB", (640, 360), (200, 80, 40))
    paths = {"first": tmp_path / "first.png", "last": tmp_path / "last.jpg"}
    first.save(paths["first"], "PNG")
    last.save(paths["last"], "JPEG", quality=90)
    paths["fake"] = tmp_path / "fake.jpg"
    paths["fake"].write_text("<!doctype html><title>not an image</title>")
    return paths


class Watch:
    """What the page did: every request, and every answer or script error that went wrong."""

    def __init__(self, page: Any, expected_refusals: set[tuple[int, str]]) -> None:
        self.requests: list[Any] = []
        self.errors: list[str] = []
        self.refusals: set[tuple[int, str]] = set()
        self.expected = expected_refusals
        page.on("request", lambda r: self.requests.append(r))
        page.on("pageerror", lambda exc: self.errors.append(f"script error {exc}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed {r.url}"))
        page.on("response", self._response)

    def _response(self, resp: Any) -> None:
        if resp.status >= 400:
            self.refusals.add((resp.status, urlsplit(resp.url).path))

    def check(self, stack: Stack) -> None:
        assert not self.errors, self.errors
        assert self.refusals == self.expected, f"answers >= 400: {self.refusals}"
        hosts = {urlsplit(stack.api).netloc, urlsplit(stack.sandbox).netloc}
        for request in self.requests:
            if request.url.startswith("blob:"):
                continue  # the upload's preview, from the browser's own copy
            assert stack.key not in request.url, "the API key was put in a URL"
            assert urlsplit(request.url).netloc in hosts, f"fetched from elsewhere: {request.url}"
            if urlsplit(request.url).path.startswith("/api/"):
                assert request.headers.get("authorization") == f"Bearer {stack.key}", request.url


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")  # noqa: T201 - where to look, with pytest -s


def _open(page: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.api}/library")
    page.fill("#key-input", stack.key)
    page.click("#key-form button[type=submit]")
    # The catalogue has loaded once the picker lists a model.
    expect(page.locator('#new-model option[value="piapi_kling_3"]')).to_be_attached()


def _families(page: Any) -> list[str]:
    return page.eval_on_selector_all("#new-model optgroup", "gs => gs.map(g => g.label)")


def _models(page: Any) -> list[str]:
    return page.eval_on_selector_all("#new-model option", "os => os.map(o => o.value)")


def test_pick_kling_with_audio_see_the_quote_generate_and_see_the_charge(
    compose_stack: Stack,
) -> None:
    from playwright.sync_api import expect

    stack = compose_stack
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        watch = Watch(page, {(422, "/api/video/quote")})  # the LoRA without its lora_type
        _open(page, stack)
        price = page.locator("#new-quote .quote-price")
        quote = page.locator("#new-quote")

        # Automatic first, then text-to-video models by family; no image-only Skyreels.
        first = page.locator("#new-model option").first
        expect(first).to_have_text("Automatic (by duration)")
        expect(price).to_have_text("$0.03")  # Automatic at 5 s: Hunyuan, as the spec says
        assert _families(page) == T2V_FAMILIES
        assert "piapi_skyreels" not in _models(page) and "piapi_sora2" in _models(page)

        # Kling 3.0: its lengths, ratios and options as controls; the quote follows them.
        page.select_option("#new-model", "piapi_kling_3")
        expect(page.locator("#new-clip")).to_be_visible()
        expect(page.locator("#new-duration")).to_be_hidden()
        lengths = page.eval_on_selector_all("#new-clip option", "os => os.map(o => o.value)")
        assert lengths == [str(n) for n in range(3, 16)]
        assert page.locator("#new-clip").input_value() == "5"
        ratios = page.eval_on_selector_all("#new-ratio option", "os => os.map(o => o.value)")
        assert ratios == ["16:9", "9:16", "1:1"]
        audio = page.locator('[data-option="enable_audio"] input[type="checkbox"]')
        expect(audio).not_to_be_checked()
        mode = page.locator('[data-option="mode"] select')
        assert mode.locator("option").evaluate_all("os => os.map(o => o.value)") == ["std", "pro"]
        cfg = page.locator('[data-option="cfg_scale"] input[type="number"]')
        assert (cfg.get_attribute("min"), cfg.get_attribute("max")) == ("0", "1")
        expect(page.locator('[data-option="end_image_url"]')).to_have_count(0)  # i2v only
        expect(price).to_have_text("$0.50")
        expect(quote).to_have_attribute("data-state", "published")
        audio.check()
        expect(price).to_have_text("$0.75")
        page.select_option("#new-clip", "10")
        expect(price).to_have_text("$1.50")
        page.select_option("#new-clip", "5")
        expect(price).to_have_text("$0.75")
        _screenshot(page, "compose-kling")

        # Prices PiAPI does not publish: an estimate, and none at all.
        page.select_option("#new-model", "piapi_sora2")
        expect(price).to_have_text("$0.64 estimate")  # 5 s asked: Sora's 8 s clip
        expect(quote).to_have_attribute("data-state", "estimate")
        page.select_option("#new-model", "piapi_sora2_pro")
        expect(price).to_have_text("price not published")
        expect(quote).to_have_attribute("data-state", "unknown")

        # A required option left unset: the API's 422 is shown next to that option.
        page.select_option("#new-model", "piapi_wanx_14b_lora")
        expect(page.locator('[data-option="lora_type"] .field-error')).to_contain_text("Required")
        expect(quote).to_have_attribute("data-state", "invalid")

        # Back to Kling with audio, and generate.
        page.select_option("#new-model", "piapi_kling_3")
        audio.check()
        expect(price).to_have_text("$0.75")
        page.fill("#new-script", "A fox crossing a snowy field at dawn")
        with page.expect_request(lambda r: r.url.endswith("/api/video/generate")) as sent:
            page.click("#new-submit")
        body = sent.value.post_data_json
        assert body["provider"] == "piapi_kling_3" and body["duration"] == 5
        assert body["options"] == {"enable_audio": True}  # only what differs from defaults
        created = sent.value.response()
        assert created is not None and created.status == 202
        job = created.json()
        assert (job["cost"], job["cost_estimated"]) == (0.75, False)
        assert job["options"]["enable_audio"] is True and job["options"]["mode"] == "std"
        row = page.locator(f'li.video[data-video-id="{job["video_id"]}"]')
        expect(row.locator(".cost")).to_have_text("$0.75")
        expect(row).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT_MS)
        # What PiAPI (the sandbox) charged, from its usage points, once the task ended.
        expect(row.locator(".charged")).to_have_text("charged $0.75", timeout=TIMEOUT_MS)
        _screenshot(page, "compose-kling-completed")

    watch.check(stack)


def test_image_to_video_from_uploaded_files(compose_stack: Stack, images: dict[str, Path]):
    from playwright.sync_api import expect

    stack = compose_stack
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        watch = Watch(page, {(415, "/api/uploads")})  # the HTML named .jpg
        _open(page, stack)

        page.select_option("#new-mode", "image_to_video")
        expect(page.locator("#new-image-box")).to_be_visible()
        assert _families(page) == I2V_FAMILIES
        assert "piapi_sora2" not in _models(page) and "piapi_skyreels" in _models(page)
        page.select_option("#new-model", "piapi_luma")
        expect(page.locator("#new-quote .quote-price")).to_have_text("$0.20 estimate")

        # Bytes that are not an image are refused whatever their name: 415, by the field.
        picker = page.locator("#new-image .image-picker")
        with page.expect_response(lambda r: r.url.endswith("/api/uploads")) as refused:
            picker.locator("input.file").set_input_files(str(images["fake"]))
        assert refused.value.status == 415
        expect(picker.locator(".field-error")).to_be_visible()
        expect(picker.locator(".preview")).to_be_hidden()

        # A real file: uploaded at once, previewed from the browser's copy, size and shape.
        with page.expect_response(lambda r: r.url.endswith("/api/uploads")) as stored:
            picker.locator("input.file").set_input_files(str(images["first"]))
        assert stored.value.status == 201, stored.value.text()
        upload = stored.value.json()
        assert upload["upload_id"].startswith("upl_") and upload["size"] == len(
            images["first"].read_bytes()
        )
        expect(picker).to_have_attribute("data-state", "uploaded")
        expect(picker.locator(".field-error")).to_be_hidden()
        expect(picker.locator(".preview figcaption")).to_contain_text("640\u00d7360")
        assert (picker.locator(".preview img").get_attribute("src") or "").startswith("blob:")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth === 640",
            arg=picker.locator(".preview img").element_handle(),
        )

        # The last frame, a file too.
        last = page.locator('[data-option="end_image_url"] .image-picker')
        with page.expect_response(lambda r: r.url.endswith("/api/uploads")) as stored_last:
            last.locator("input.file").set_input_files(str(images["last"]))
        assert stored_last.value.status == 201, stored_last.value.text()
        last_id = stored_last.value.json()["upload_id"]
        expect(last).to_have_attribute("data-state", "uploaded")
        _screenshot(page, "compose-image")

        page.fill("#new-script", "The product turns slowly on a white table")
        with page.expect_request(lambda r: r.url.endswith("/api/video/generate")) as sent:
            page.click("#new-submit")
        body = sent.value.post_data_json
        assert body["generation_mode"] == "image_to_video" and body["provider"] == "piapi_luma"
        assert body["image_upload_id"] == upload["upload_id"]
        assert body["end_image_upload_id"] == last_id
        assert "image_url" not in body
        created = sent.value.response()
        assert created is not None and created.status == 202, created and created.text()
        job = created.json()
        row = page.locator(f'li.video[data-video-id="{job["video_id"]}"]')
        expect(row.locator(".cost")).to_have_text("$0.20 est.")
        # The form is ready for the next job: no image chosen.
        expect(picker.locator(".preview")).to_be_hidden()
        expect(row).to_have_attribute("data-status", "completed", timeout=JOB_TIMEOUT_MS)
        expect(row.locator(".charged")).to_contain_text("charged $", timeout=TIMEOUT_MS)
        _screenshot(page, "compose-image-completed")

    watch.check(stack)
    # The job's image and last frame are the uploaded bytes, at URLs PiAPI could fetch.
    done = stack.http().get(f"{stack.api}/api/video/status/{job['video_id']}", timeout=10).json()
    assert done["status"] == "completed", done
    for url, path in (
        (done["image_url"], images["first"]),
        (done["options"]["end_image_url"], images["last"]),
    ):
        served = requests.get(url, timeout=10)
        assert served.status_code == 200, url
        assert hashlib.sha256(served.content).digest() == hashlib.sha256(path.read_bytes()).digest()
