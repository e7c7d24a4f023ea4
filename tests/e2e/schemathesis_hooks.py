"""Checks of our own for schemathesis (loaded through SCHEMATHESIS_HOOKS by test_openapi.py)."""

from __future__ import annotations

import os

import requests
import schemathesis
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.generation.meta import TestPhase


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


# The fuzzing phase draws {video_id} at random, so it reaches a real job only by chance,
# and the stateful phase reaches cancel (or delete) only on draws that follow a job there:
# at 45 scenarios a fresh-clone CI run still drew none, and the "missing test data" warning
# (kept as a failure) failed it. About half the valid cases each operation on one job gets
# therefore name a job made for it, in the state the operation serves: in flight for
# status and cancel, canceled for delete. Invalid cases keep what was drawn.
_ON_ONE_JOB = {
    ("GET", "/api/video/status/{video_id}"),
    ("POST", "/api/video/{video_id}/cancel"),
    ("DELETE", "/api/video/{video_id}"),
}


def _fresh_job(delete: bool) -> str:
    api, key = os.environ["SCHEMATHESIS_API"], os.environ["SCHEMATHESIS_KEY"]
    auth = {"Authorization": f"Bearer {key}"}
    body = {"generation_mode": "text_to_video", "script": "A lighthouse at dusk"}
    made = requests.post(f"{api}/api/video/generate", json=body, headers=auth, timeout=10)
    made.raise_for_status()
    video_id = made.json()["video_id"]
    if delete:
        canceled = requests.post(f"{api}/api/video/{video_id}/cancel", headers=auth, timeout=10)
        canceled.raise_for_status()
    return str(video_id)


@schemathesis.hook
def map_case(ctx: schemathesis.HookContext, case: Case) -> Case:
    operation = (case.operation.method.upper(), case.operation.path)
    drawn = (case.path_parameters or {}).get("video_id")
    if (
        operation in _ON_ONE_JOB
        and case.meta is not None
        and case.meta.phase.name == TestPhase.FUZZING
        and case.meta.generation.mode == GenerationMode.POSITIVE
        and str(drawn).isdigit()
        and int(drawn) % 2 == 0
    ):
        case.path_parameters["video_id"] = _fresh_job(delete=operation[0] == "DELETE")
    return case
