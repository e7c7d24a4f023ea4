"""The library page's Older/Newer buttons follow the API's cursors (headless Chromium).

The app runs in this process on SQLite, served on 127.0.0.1: no shared service is used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from api.app import create_app
from models import library
from models.db import make_engine, make_session_factory
from models.migrate import upgrade_to_head
from tests.bodies import SPEC_T2V
from tests.e2e.browser import chromium
from tests.fakes import RecordingMessages
from tests.integration.conftest import insert_job, new_key
from tests.stack import free_port

PER_PAGE = 12  # the page's own page size (library.js)
JOBS = 30
TIMEOUT_MS = 10_000


@pytest.fixture
def served(tmp_path, settings, monkeypatch) -> Iterator[dict[str, Any]]:
    engine = make_engine(f"sqlite:///{tmp_path}/library.sqlite3")
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    key = new_key(factory, 1, "pro")
    t0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    ids = [
        insert_job(factory, SPEC_T2V, status="completed", created_at=t0 + dt.timedelta(minutes=n))
        for n in range(JOBS)
    ]
    monkeypatch.setattr(library, "COUNT_BOUND", 20)  # so the page shows an estimate
    app = create_app(
        dataclasses.replace(
            settings, database_url=str(engine.url), storage_url=f"file://{tmp_path}/media"
        ),
        session_factory=factory,
        messages=RecordingMessages(),
    )
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{port}", "key": key, "ids": [str(i) for i in ids[::-1]]}
    finally:
        server.shutdown()
        thread.join(5)
        engine.dispose()


def _shown(page: Any) -> list[str]:
    return page.eval_on_selector_all("#videos li.video", "els => els.map(e => e.dataset.videoId)")


def test_older_and_newer_follow_cursors(served) -> None:
    # Locator assertions retry without evaluating strings, which the page's CSP forbids.
    from playwright.sync_api import expect

    seen: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("request", lambda r: seen.append(r.url) if "/api/video/library" in r.url else None)
        page.goto(f"{served['url']}/library")
        page.fill("#key-input", served["key"])
        page.click("#key-form button[type=submit]")
        newest = served["ids"]

        rows = page.locator("#videos li.video")
        expect(rows).to_have_count(PER_PAGE)
        assert _shown(page) == newest[:PER_PAGE]
        assert page.inner_text("#page-info") == "Page 1 of about 2"  # 21 counted, 12 a page
        assert page.is_disabled("#newer")

        for number, older in ((2, newest[12:24]), (3, newest[24:])):
            page.click("#older")
            expect(rows.first).to_have_attribute("data-video-id", older[0])
            assert _shown(page) == older
            assert "cursor=" in seen[-1] and "&page=" not in seen[-1] and "?page=" not in seen[-1]
            assert page.inner_text("#page-info").startswith(f"Page {number} of")
        assert page.is_disabled("#older")  # the last page: no next_cursor

        page.click("#newer")
        expect(rows.first).to_have_attribute("data-video-id", newest[12])
        assert _shown(page) == newest[12:24]
        assert not page.is_disabled("#older")
