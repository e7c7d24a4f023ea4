"""The CLI's exit codes, so scripts can tell outcomes apart (docs/api.md lists them)."""

from __future__ import annotations

OK = 0
JOB_FAILED = 1  # the job ended failed (watch, submit --watch)
USAGE = 2  # bad arguments or no key (argparse uses 2 as well)
REFUSED = 3  # the API answered 4xx: the request is wrong, retrying cannot help
UNAVAILABLE = 4  # no answer, or a 5xx: try again later
JOB_CANCELED = 5  # the job ended canceled
NOT_READY = 6  # download of a job that has no video (yet)
LOCAL = 7  # something on this side failed, e.g. the file cannot be written
INTERRUPTED = 130
