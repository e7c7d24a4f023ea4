"""The library at 50,000 rows of one user's history (Postgres, analyzed, as production runs).

Every library read is a range of its own index (no Sort, no Seq Scan, the cursor an Index
Cond rather than a Filter), and a request runs a bounded number of statements whatever the
history: the library at most three, status exactly one primary-key read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, Select, event, text
from sqlalchemy.dialects import postgresql

from api.app import create_app
from infra.settings import Settings
from models import library
from models.db import make_engine, make_session_factory
from models.migrate import upgrade_to_head
from tests.fakes import RecordingMessages
from tests.integration.conftest import new_key
from tests.stack import fresh_database

ROWS = 50_000
OTHERS = {2: 20_000, 3: 30}  # other users: one big, one small
# Set-based, like a year of one busy tenant: 2 jobs a second, ties broken by id.
SEED = """
INSERT INTO video_generations (
    user_id, campaign_id, provider, model_name, task_type, generation_mode, prompt, script,
    style, aspect_ratio, requested_duration, actual_duration, cost, status, phase, progress,
    created_at, updated_at, deadline_at)
SELECT :user_id,
    CASE WHEN n % 10 = 0 THEN NULL ELSE n % 50 END,
    (ARRAY['piapi_hunyuan_fast', 'piapi_wanx_1.3b', 'piapi_wanx_14b', 'piapi_luma'])[1 + n % 4],
    'hunyuan', 'txt2video',
    CASE WHEN n % 3 = 0 THEN 'image_to_video' ELSE 'text_to_video' END,
    'prompt ' || n, 'script ' || n, 'social', '16:9', 5, 5, 0.03,
    CASE WHEN n % 20 = 0 THEN 'processing' WHEN n % 10 = 1 THEN 'failed'
         WHEN n % 20 = 3 THEN 'canceled' ELSE 'completed' END,
    CASE WHEN n % 20 = 0 THEN 'queued' ELSE 'done' END,
    CASE WHEN n % 20 = 0 THEN 0 ELSE 100 END,
    timestamptz '2026-01-01' + (n / 2) * interval '1 second', now(), now() + interval '1 day'
FROM generate_series(1, :count) AS n
"""
FILTERS: list[tuple[dict[str, Any], str]] = [
    ({}, "ix_video_generations_library"),
    ({"status": "failed"}, "ix_video_generations_library_status"),
    ({"generation_mode": "image_to_video"}, "ix_video_generations_library_mode"),
    ({"provider": "piapi_luma"}, "ix_video_generations_library_provider"),
    ({"campaign_id": 7}, "ix_video_generations_library_campaign"),
]
MIDDLE = library.Position(dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC), ROWS // 2)


@dataclasses.dataclass
class History:
    engine: Engine
    keys: dict[int, str]
    settings: Settings


@pytest.fixture(scope="module")
def history() -> Iterator[History]:
    engine = make_engine(fresh_database("videogen_library_scale"))
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    keys = {user: new_key(factory, user, "pro") for user in (1, *OTHERS)}
    with engine.begin() as conn:
        for user, count in {1: ROWS, **OTHERS}.items():
            conn.execute(text(SEED), {"user_id": user, "count": count})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE video_generations"))
    settings = dataclasses.replace(Settings.from_env(), database_url=str(engine.url))
    yield History(engine, keys, settings)
    engine.dispose()


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(engine: Engine, statement: Select[Any]) -> list[dict[str, Any]]:
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    return list(_nodes(plan[0]["Plan"]))


def _scans(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert not [n["Node Type"] for n in nodes if "Sort" in n["Node Type"]], nodes
    assert not [n for n in nodes if n["Node Type"] in ("Seq Scan", "Bitmap Heap Scan")], nodes
    scans = [n for n in nodes if n["Node Type"] in ("Index Scan", "Index Only Scan")]
    assert len(scans) == 1 and scans[0]["Relation Name"] == "video_generations", nodes
    return scans


@pytest.mark.parametrize(("filters", "index"), FILTERS)
def test_page_one_and_a_cursor_page_are_ranges_of_the_filters_index(
    history, filters, index
) -> None:
    where = library.conditions(1, filters)

    first = _scans(_plan(history.engine, library.page_query(where, after=None, offset=0, limit=21)))
    after = library.page_query(where, after=MIDDLE, offset=0, limit=21)
    cursor = _scans(_plan(history.engine, after))

    assert first[0]["Index Name"] == cursor[0]["Index Name"] == index
    assert "ROW(created_at, id) <" in cursor[0]["Index Cond"]  # a range, not a filter
    assert "Filter" not in first[0] and "Filter" not in cursor[0]


@pytest.mark.parametrize(("filters", "index"), FILTERS)
def test_the_capped_count_reads_only_an_index(history, filters, index) -> None:
    where = library.conditions(1, filters)

    (scan,) = _scans(_plan(history.engine, library.capped_count_query(where)))

    assert scan["Node Type"] == "Index Only Scan" and "Filter" not in scan
    if filters:  # with no filter, any index that starts with user_id serves as well
        assert scan["Index Name"] == index
    assert "user_id = 1" in scan["Index Cond"]


def test_a_deep_page_by_number_still_walks_the_index_without_sorting(history) -> None:
    where = library.conditions(1, {})

    (scan,) = _scans(
        _plan(history.engine, library.page_query(where, after=None, offset=9_980, limit=21))
    )

    assert scan["Index Name"] == "ix_video_generations_library"


@pytest.fixture
def statements(history: History) -> Iterator[list[str]]:
    """The SQL the engine runs, from the moment the test asks (clear it to start)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(history.engine, "before_cursor_execute", note)
    yield seen
    event.remove(history.engine, "before_cursor_execute", note)


def _client(history: History, user: int) -> FlaskClient:
    app = create_app(
        history.settings,
        session_factory=make_session_factory(history.engine),
        messages=RecordingMessages(),
    )
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {history.keys[user]}"
    assert client.get("/api/account").status_code == 200  # the key is cached from here on
    return client


def _library(client: FlaskClient, **params: Any) -> dict[str, Any]:
    resp = client.get("/api/video/library", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()  # type: ignore[no-any-return]


def test_a_library_request_runs_at_most_three_statements_whatever_the_history(
    history, statements
) -> None:
    big, small = _client(history, 1), _client(history, 3)
    deep = _library(big, page=500)
    requests: list[tuple[FlaskClient, dict[str, Any]]] = [
        (big, {}),
        (big, {"page": 500}),
        (big, {"cursor": deep["next_cursor"]}),
        *((big, filters) for filters, _ in FILTERS[1:]),
        (small, {"per_page": 50}),
    ]

    counts = []
    for client, params in requests:
        statements.clear()
        _library(client, **params)
        counts.append(len(statements))

    assert all(1 <= n <= 3 for n in counts), counts
    assert counts[-1] == 1  # a small library's only page: its total needs no count


def test_status_is_one_primary_key_read(history, statements) -> None:
    client = _client(history, 1)
    video_id = _library(client, per_page=1)["videos"][0]["video_id"]

    statements.clear()
    resp = client.get(f"/api/video/status/{video_id}")

    assert resp.status_code == 200
    assert len(statements) == 1, statements
    assert "FROM video_generations" in statements[0]
    assert "WHERE video_generations.id = " in statements[0]


def test_at_scale_cursors_and_page_numbers_agree_and_total_is_estimated(history) -> None:
    client = _client(history, 1)

    page_500 = _library(client, page=500, status="completed")
    by_cursor = _library(client, cursor=page_500["next_cursor"], status="completed")
    by_number = _library(client, page=501, status="completed")

    assert by_cursor["videos"] == by_number["videos"] and len(by_cursor["videos"]) == 20
    assert by_cursor["page"] == 501
    assert by_cursor["total_is_estimate"] is True
    exact = sum(1 for n in range(1, ROWS + 1) if not (n % 20 in (0, 3) or n % 10 == 1))
    assert abs(by_cursor["total"] - exact) < exact * 0.2  # the planner's, after ANALYZE
    small = _library(_client(history, 3), per_page=10, page=2)
    assert (small["total"], small["total_is_estimate"]) == (30, False)
