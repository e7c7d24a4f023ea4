"""The API process loads none of the workers' code: not at start-up, not when it enqueues.

It sends every message by task name (infra/messages.py), so what it sends cannot depend on
which worker modules happen to be imported. import-linter checks the imports written in
the code; this checks the process as gunicorn runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from models.accounts import ensure_user, issue_key
from tests.bodies import SPEC_T2V
from tests.stack import ROOT

SCRIPT = """
import json, sys
import wsgi  # what gunicorn loads: the app, built from the environment
loaded_at_start = sorted(m for m in sys.modules if m.split(".")[0] == "workers")
answer = wsgi.app.test_client().post(
    "/api/video/generate",
    json=json.loads(sys.argv[2]),
    headers={"Authorization": "Bearer " + sys.argv[1]},
)
assert answer.status_code == 202, answer.get_data(as_text=True)
with wsgi.app.extensions["celery"].connection_for_read() as conn:
    message = conn.default_channel.basic_get("submit")
print(json.dumps({
    "at_start": loaded_at_start,
    "after_enqueue": sorted(m for m in sys.modules if m.split(".")[0] == "workers"),
    "task": message.headers["task"] if message else None,
    "job": (message.headers.get("job_id") if message else None),
    "video_id": answer.get_json()["video_id"],
}))
"""


def test_the_api_imports_no_workers_module_at_start_or_on_enqueue(
    database_url, committed_sessions
) -> None:
    with committed_sessions.begin() as s:
        key = issue_key(s, ensure_user(s, 91, "pro")).secret
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BROKER_URL": "memory://",  # an in-process broker: the message is really sent
        "LOG_FORMAT": "text",
    }

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, key, json.dumps(SPEC_T2V)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["at_start"] == []
    assert seen["after_enqueue"] == []
    # ... and the job's submit message did go out, by name, naming the job.
    assert seen["task"] == "workers.tasks.submit_job"
    assert str(seen["job"]) == seen["video_id"]
