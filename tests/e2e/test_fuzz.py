"""Over a thousand generated bad requests to the running API: every one a 4xx JSON error,
none a 5xx, and not one row written."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select

from api.schemas import MAX_DURATION_S, MAX_SCRIPT_CHARS
from models.jobs import Job
from providers.catalogue import ASPECT_RATIOS, BY_KEY, MODES
from providers.prompts import STYLE_PROMPTS
from tests.e2e.conftest import Stack

EXAMPLES = 1100
FIELDS = {
    "campaign_id",
    "generation_mode",
    "script",
    "style",
    "duration",
    "aspect_ratio",
    "provider",
    "image_url",
    "options",  # a known field (refused without a provider): not an "unknown field" to fuzz with
}
T2V = {"campaign_id": "123", "generation_mode": "text_to_video", "script": "A cat", "duration": 5}
I2V = {**T2V, "generation_mode": "image_to_video", "image_url": "https://example.com/a.jpg"}

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _not(values) -> st.SearchStrategy[str]:  # type: ignore[no-untyped-def]
    return st.text(max_size=40).filter(lambda t: t not in values)


# (field, strategy of values that field must refuse); None means "must be omitted".
BAD_VALUES = {
    "generation_mode": st.one_of(_not(MODES), junk, st.integers()),
    "script": st.one_of(
        st.text(alphabet=" \t\n", max_size=5),
        st.text(min_size=MAX_SCRIPT_CHARS + 1, max_size=MAX_SCRIPT_CHARS + 50),
        junk.filter(lambda v: v is not None),
        st.integers(),
    ),
    "duration": st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=MAX_DURATION_S + 1),
        st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
        st.text(max_size=5),
        st.booleans(),
        st.none(),
    ),
    "campaign_id": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**31),
        st.text(min_size=1, max_size=12).filter(lambda t: not (t.isascii() and t.isdigit())),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer()),
    ),
    "style": st.one_of(_not(STYLE_PROMPTS), st.integers(), st.none()),
    "aspect_ratio": st.one_of(_not(ASPECT_RATIOS), st.integers(), st.none()),
    "provider": st.one_of(_not(BY_KEY).filter(bool), st.integers(), st.booleans()),
}

bad_field = (
    st.sampled_from(sorted(BAD_VALUES))
    .flatmap(lambda name: st.tuples(st.just(name), BAD_VALUES[name], st.sampled_from([T2V, I2V])))
    .map(lambda t: {**t[2], t[0]: t[1]})
)

bad_image = st.one_of(
    # image-to-video with an image that is not an http(s) URL, or none at all
    st.one_of(
        st.text(alphabet=string.ascii_letters + ":/.", max_size=30),
        st.just("ftp://example.com/a.jpg"),
        st.just("javascript:alert(1)"),
        st.just(None),
        junk,
    ).map(lambda v: {**I2V, "image_url": v}),
    # text-to-video with any image at all
    st.just("https://example.com/a.jpg").map(lambda v: {**T2V, "image_url": v}),
)
missing = st.sampled_from(["generation_mode", "script"]).map(
    lambda k: {f: v for f, v in I2V.items() if f != k}
)
unknown_field = st.tuples(
    st.text(min_size=1, max_size=20).filter(lambda k: k not in FIELDS), junk
).map(lambda kv: {**T2V, kv[0]: kv[1]})

json_bodies = st.one_of(bad_field, bad_image, missing, unknown_field).map(
    lambda body: ("application/json", json.dumps(body).encode())
)
not_objects = st.one_of(
    st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=10), st.none()
).map(lambda v: ("application/json", json.dumps(v).encode()))
broken_json = (
    st.binary(max_size=60).filter(lambda b: not _parses(b)).map(lambda b: ("application/json", b))
)
wrong_type = st.sampled_from(
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
        "",
    ]
).map(lambda ct: (ct, json.dumps(T2V).encode()))
oversized = st.integers(min_value=140_000, max_value=300_000).map(
    lambda n: ("application/json", json.dumps({**T2V, "script": "x" * n}).encode())
)
# Text Postgres cannot store or UTF-8 cannot encode, in any field or key, and nesting past
# any body of ours: each was a 500 before api/request_guards.py.
bad_text = st.sampled_from(["\x00", "\ud800", "\udfff", "a\udc80b", "x\x00y"])
bad_bytes = st.one_of(
    st.tuples(st.sampled_from(sorted(FIELDS | {"webhook_url"})), bad_text).map(
        lambda kv: {**I2V, kv[0]: kv[1]}
    ),
    bad_text.map(lambda t: {**T2V, t: 1}),
    st.integers(min_value=40, max_value=30_000).map(lambda n: "[" * n + "]" * n),
).map(
    lambda body: (
        "application/json",
        body.encode() if isinstance(body, str) else json.dumps(body).encode(),
    )
)
bad_requests = st.one_of(json_bodies, not_objects, broken_json, wrong_type, oversized, bad_bytes)


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        return False
    return True


def _rows(stack: Stack) -> int:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Job))
    finally:
        engine.dispose()


def test_a_thousand_bad_requests_get_4xx_and_write_nothing(stack: Stack) -> None:
    rows_before = _rows(stack)
    http = stack.http()
    sent: list[int] = []

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(bad_requests)
    def one(request: tuple[str, bytes]) -> None:
        content_type, raw = request
        headers = {"Content-Type": content_type}
        resp = http.post(f"{stack.api}/api/video/generate", data=raw, headers=headers, timeout=10)
        sent.append(resp.status_code)
        assert 400 <= resp.status_code < 500, (resp.status_code, raw[:200], resp.text[:300])
        assert resp.json()["error"]["code"]

    one()

    assert len(sent) >= 1000
    assert _rows(stack) == rows_before


# PiAPI's webhook route reads a body from outside too; the secret is off in this stack, so
# the same bodies must still be 4xx (never 500) before anything else happens.
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(bad_bytes, broken_json))
def test_bad_bodies_to_piapis_webhook_get_4xx(stack: Stack, body: tuple[str, bytes]) -> None:
    content_type, raw = body
    resp = stack.http().post(
        f"{stack.api}/api/webhooks/piapi",
        data=raw,
        headers={"Content-Type": content_type, "x-webhook-secret": "wrong"},
        timeout=10,
    )
    assert 400 <= resp.status_code < 500, (resp.status_code, raw[:200], resp.text[:300])
