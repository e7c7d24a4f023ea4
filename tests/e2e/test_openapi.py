"""Schemathesis against the running API: every answer is one the OpenAPI document promises.

For every operation in /api/openapi.json, schema-valid and schema-invalid requests (sent with
the valid API key) must get a status the operation documents explicitly, the documented
content type, a body that matches the documented schema, and never a 5xx.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Stack

MAX_EXAMPLES = 30


def explicitly_documented_status(ctx: CheckContext, response: Response, case: Case) -> None:
    """Stricter than status_code_conformance, which accepts anything once `default` exists.

    flask-smorest documents a `default` Error response on every operation (true: an
    unexpected failure is a 500 in that shape), so each status a request can provoke must
    be listed on its own.
    """
    documented = {code for code in case.operation.responses.status_codes if code != "default"}
    if str(response.status_code) not in documented:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, "
            f"which it does not document (documented: {', '.join(sorted(documented))})"
        )


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    explicitly_documented_status,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(stack: Stack) -> Any:
    if stack.database_url.startswith("sqlite"):
        pytest.skip("the OpenAPI contract does not depend on the backend; run on postgres-redis")
    config = SchemathesisConfig.from_dict(
        {
            "base-url": stack.api,
            "headers": {"Authorization": f"Bearer {stack.key}"},
            "generation": {
                "mode": "all",  # schema-valid and schema-invalid requests
                "max-examples": MAX_EXAMPLES,
                "with-security-parameters": False,  # always the valid key
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "request-timeout": 10,
        }
    )
    return schemathesis.openapi.from_url(f"{stack.api}/api/openapi.json", config=config, timeout=10)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_answer_matches_the_openapi_document(case: Case) -> None:
    case.call_and_validate(checks=CHECKS, timeout=10)
