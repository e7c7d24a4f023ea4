"""Checks of our own for schemathesis (loaded through SCHEMATHESIS_HOOKS by test_openapi.py)."""

from __future__ import annotations

import schemathesis
from schemathesis import Case, CheckContext, Response


@schemathesis.check
def explicitly_documented_status(ctx: CheckContext, response: Response, case: Case) -> None:
    """Stricter than status_code_conformance, which accepts anything once `default` exists.

    flask-smorest documents a `default` Error response on every operation (true: an
    unexpected failure is a 500 in that shape), so each status a request can provoke must
    be listed on its own.
    """
    if case.method.upper() != case.operation.method.upper():
        return  # a probe with a method the path does not take: unsupported_method checks it
    documented = {code for code in case.operation.responses.status_codes if code != "default"}
    if str(response.status_code) not in documented:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, "
            f"which it does not document (documented: {', '.join(sorted(documented))})"
        )
