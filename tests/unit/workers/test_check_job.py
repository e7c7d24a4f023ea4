"""check_job: PiAPI said the task changed; a check PiAPI cannot answer is asked again."""

from __future__ import annotations

import types
from collections.abc import Callable

import pytest

from tests.fakes import RecordingMessages
from workers import tasks
from workers.polling import STOP, PollOutcome

UNANSWERED = PollOutcome(1.5, is_retry=True)


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[PollOutcome]], int]:
    """Run check_job against poll_once answers given in order (STOP once they run out).

    Returns how many times PiAPI was asked.
    """
    resources = types.SimpleNamespace(
        sessions=None, piapi=None, plan_poll=None, messages=RecordingMessages()
    )
    monkeypatch.setattr(tasks, "current", lambda: resources)

    def run(answers: list[PollOutcome]) -> int:
        asked = []

        def poll_once(*_args: object, **_kwargs: object) -> PollOutcome:
            asked.append(1)
            return answers.pop(0) if answers else STOP

        monkeypatch.setattr(tasks, "poll_once", poll_once)
        tasks.check_job.apply(args=(7,))
        return len(asked)

    return run


def test_a_check_piapi_could_not_answer_is_asked_again(check) -> None:  # type: ignore[no-untyped-def]
    assert check([UNANSWERED]) == 2


def test_an_answered_check_is_not_repeated(check) -> None:  # type: ignore[no-untyped-def]
    assert check([PollOutcome(None)]) == 1


def test_a_check_is_asked_again_at_most_a_few_times(check) -> None:  # type: ignore[no-untyped-def]
    assert check([UNANSWERED] * 50) == 1 + tasks.CHECK_RETRIES
