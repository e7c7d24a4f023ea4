"""The interactive docs (/api/docs) work in a real browser with no CDN: Swagger UI loads from
/api/docs-assets/, takes the API key through Authorize, and runs a request from the page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.browser import chromium, require_chromium
from tests.e2e.conftest import Stack
from tests.stack import ROOT

SCREENSHOT = ROOT / "artifacts" / "docs-page.png"
TIMEOUT_MS = 15_000


def test_docs_page_authorizes_and_executes_a_request(stack: Stack) -> None:
    require_chromium()
    if stack.database_url.startswith("sqlite"):
        pytest.skip("the docs page does not depend on the backend; checked on postgres-redis")

    api_host = urlsplit(stack.api).netloc
    elsewhere: list[str] = []  # any request that leaves the API (a CDN) is a failure
    failed: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.set_default_timeout(TIMEOUT_MS)
        page.on(
            "request",
            lambda r: urlsplit(r.url).netloc != api_host and elsewhere.append(r.url),
        )
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and not r.url.endswith("/favicon.ico")
                and failed.append(f"{r.status} {r.url}")
            ),
        )

        page.goto(f"{stack.api}/api/docs")
        page.wait_for_selector("#operations-account-get_api_providers")
        assert "Video generation API" in page.locator(".info .title").inner_text()

        # Authorize with the API key (the bearerAuth http scheme), then close the dialog.
        page.locator(".scheme-container button.authorize").click()
        dialog = page.locator(".modal-ux")
        bearer = dialog.locator(".auth-container", has_text="bearerAuth")
        bearer.locator("input[aria-label='auth-bearer-value']").fill(stack.key)
        bearer.locator("button.modal-btn.authorize").click()
        bearer.locator("button.modal-btn.btn-done").click()
        dialog.wait_for(state="detached")

        # GET /api/providers: expand, Try it out, Execute.
        op = page.locator("#operations-account-get_api_providers")
        op.locator(".opblock-summary").click()
        op.locator("button.try-out__btn").click()
        with page.expect_response(f"{stack.api}/api/providers") as answered:
            op.locator("button.execute").click()
        assert answered.value.status == 200
        assert answered.value.request.headers.get("authorization") == f"Bearer {stack.key}"

        live = op.locator(".live-responses-table")
        live.locator(".response-col_status").first.wait_for()
        assert live.locator("tbody .response-col_status").first.inner_text().strip() == "200"
        body = live.locator(".response-col_description .microlight").first.inner_text()
        assert '"provider": "piapi_hunyuan_fast"' in body
        assert '"allowed": true' in body

        # The operation, authorized (closed padlock), with its live 200 answer.
        op.evaluate("e => e.scrollIntoView({block: 'start'})")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

    assert not elsewhere, f"the docs page fetched from outside the API: {elsewhere}"
    assert not failed, f"requests that failed: {failed}"
