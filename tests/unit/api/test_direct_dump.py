"""DirectDump answers exactly what marshmallow's own Schema.dump answers, field for field."""

from __future__ import annotations

import datetime as dt
import types
from typing import Any

import marshmallow as ma
import pytest
from marshmallow import fields

from api.direct_dump import DirectDump
from api.schemas import JobDetailSchema
from tests.unit.api.test_schemas import _job


def _marshmallow(schema: ma.Schema, obj: Any, **kwargs: Any) -> Any:
    return ma.Schema.dump(schema, obj, **kwargs)  # the path DirectDump replaces


class Inner(DirectDump):
    n = fields.Integer()


class Sample(DirectDump):
    renamed = fields.String(attribute="source")
    keyed = fields.Integer(data_key="outKey")
    computed = fields.Function(lambda obj: f"<{obj.source}>")
    absent = fields.String()  # no such attribute: left out, as marshmallow does
    absent_default = fields.String(dump_default="fallback")
    absent_callable = fields.Integer(dump_default=lambda: 7)
    number = fields.Float(allow_none=True)
    flag = fields.Boolean()
    when = fields.DateTime()
    inner = fields.Nested(Inner, allow_none=True)
    inners = fields.List(fields.Nested(Inner))


def _sample(**changes: Any) -> types.SimpleNamespace:
    values: dict[str, Any] = {
        "source": 12,
        "keyed": "3",
        "number": 1,
        "flag": 1,
        "when": dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC),
        "inner": types.SimpleNamespace(n="4"),
        "inners": [types.SimpleNamespace(n=1), types.SimpleNamespace(n=2.0)],
    }
    return types.SimpleNamespace(**(values | changes))


@pytest.mark.parametrize(
    "obj",
    [_sample(), _sample(number=None, inner=None, source=None), _sample(inners=[])],
    ids=["values", "nones", "empty-list"],
)
def test_same_body_as_marshmallow(obj: Any) -> None:
    schema = Sample()
    assert schema.dump(obj) == _marshmallow(schema, obj)
    assert list(schema.dump(obj)) == list(_marshmallow(schema, obj))  # same key order


def test_many() -> None:
    objs = [_sample(), _sample(source="x")]
    assert Sample(many=True).dump(objs) == _marshmallow(Sample(many=True), objs)
    assert Sample().dump(objs, many=True) == _marshmallow(Sample(), objs, many=True)


def test_a_mapping_takes_marshmallows_path() -> None:
    body = {"source": "s", "keyed": 1, "flag": True, "inners": []}
    assert Sample(only=("renamed", "keyed", "flag")).dump(body) == {
        "renamed": "s",
        "outKey": 1,
        "flag": True,
    }


def test_only_and_exclude_are_honoured() -> None:
    obj = _sample()
    for schema in (Sample(only=("keyed", "computed")), Sample(exclude=("inner", "when"))):
        assert schema.dump(obj) == _marshmallow(schema, obj)


def test_a_dump_hook_takes_marshmallows_path() -> None:
    class Hooked(Sample):
        @ma.post_dump
        def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {**data, "hooked": True}

    assert Hooked().dump(_sample())["hooked"] is True


def test_a_dotted_attribute_takes_marshmallows_path() -> None:
    class Dotted(DirectDump):
        n = fields.Integer(attribute="inner.n")

    assert Dotted().dump(_sample()) == {"n": 4}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"campaign_id": None, "cost": None, "status": "completed", "progress": 100},
        {
            "storage_state": "stored",
            "stored_files": {
                "video": {"key": "k", "size": 1, "sha256": "s", "content_type": "video/mp4"}
            },
            "video_url": "https://p/v.mp4",
        },
    ],
    ids=["new", "completed", "stored"],
)
def test_the_status_body_is_marshmallows(changes: dict[str, Any]) -> None:
    row = _job(**changes)
    job = types.SimpleNamespace(
        **{c.key: getattr(row, c.key) for c in row.__table__.columns},
        queue={"waiting": True, "position": 2, "slots": 4},
        webhook_deliveries=[],
    )
    schema = JobDetailSchema()
    assert schema.dump(job) == _marshmallow(schema, job)
