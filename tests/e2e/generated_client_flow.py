"""The spec's flow through a client generated from /api/openapi.json by openapi-python-client.

tests/e2e/test_generated_client.py runs it beside the generated package `videogen_api`, and
checks it with `mypy --strict` first: no cast and no ignore, and each annotated assignment
below proves a field is typed as always present (or, where it may be null, as str | None).
Usage: python generated_client_flow.py API_BASE_URL API_KEY; prints one JSON object.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any

from videogen_api import AuthenticatedClient
from videogen_api.api.videos import (
    get_api_video_library,
    get_api_video_status_video_id,
    post_api_video_generate,
)
from videogen_api.models import (
    AspectRatio,
    GenerateImageToVideoOnPiapiWanx13B,
    GenerateImageToVideoOnPiapiWanx13BGenerationMode,
    GenerateImageToVideoOnPiapiWanx13BProvider,
    GenerateTextToVideo,
    GenerateTextToVideoGenerationMode,
    Job,
    JobDetail,
    LibraryPage,
    Status,
    Style,
)

FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELED)


def text_to_video() -> GenerateTextToVideo:
    """The spec's "Testing the Workflow" body."""
    return GenerateTextToVideo(
        generation_mode=GenerateTextToVideoGenerationMode.TEXT_TO_VIDEO,
        script="A cat playing with a ball",
        campaign_id="123",
        style=Style.SOCIAL,
        duration=5,
        aspect_ratio=AspectRatio.ASPECT_RATIO_16_9,
    )


def image_to_video() -> GenerateImageToVideoOnPiapiWanx13B:
    """The spec's image-to-video body."""
    return GenerateImageToVideoOnPiapiWanx13B(
        generation_mode=GenerateImageToVideoOnPiapiWanx13BGenerationMode.IMAGE_TO_VIDEO,
        provider=GenerateImageToVideoOnPiapiWanx13BProvider.PIAPI_WANX_1_3B,
        image_url="https://example.com/product.jpg",
        script="Animate this product with subtle movement and professional lighting",
        campaign_id=123,
        style=Style.MARKETING,
        duration=5,
        aspect_ratio=AspectRatio.ASPECT_RATIO_16_9,
    )


def generate(
    client: AuthenticatedClient, body: GenerateTextToVideo | GenerateImageToVideoOnPiapiWanx13B
) -> Job:
    answer = post_api_video_generate.sync(client=client, body=body)
    if not isinstance(answer, Job):
        raise SystemExit(f"generate answered {answer!r}")
    return answer


def until_finished(client: AuthenticatedClient, video_id: str) -> JobDetail:
    deadline = time.monotonic() + 120
    while True:
        job = get_api_video_status_video_id.sync(video_id, client=client)
        if not isinstance(job, JobDetail):
            raise SystemExit(f"status answered {job!r}")
        status: Status = job.status
        progress: int = job.progress
        if status in FINISHED or time.monotonic() > deadline:
            return job
        assert 0 <= progress <= 100
        time.sleep(0.2)


def seen(job: Job | JobDetail) -> dict[str, Any]:
    """The job's fields, each through an annotation that says it is always there."""
    video_id: str = job.video_id
    status: str = job.status
    progress: int = job.progress
    mode: str = job.generation_mode
    provider: str = job.provider
    model_name: str = job.model_name
    created_at: dt.datetime = job.created_at
    duration: int = job.duration
    cost_estimated: bool = job.cost_estimated
    campaign_id: str | None = job.campaign_id
    video_url: str | None = job.video_url
    completed_at: dt.datetime | None = job.completed_at
    return {
        "video_id": video_id,
        "status": status,
        "progress": progress,
        "generation_mode": mode,
        "provider": provider,
        "model_name": model_name,
        "created_at": created_at.isoformat(),
        "duration": duration,
        "cost_estimated": cost_estimated,
        "campaign_id": campaign_id,
        "video_url": video_url,
        "completed": completed_at is not None,
    }


def main(base_url: str, key: str) -> None:
    with AuthenticatedClient(base_url=base_url, token=key) as client:
        accepted = [generate(client, text_to_video()), generate(client, image_to_video())]
        finished = [until_finished(client, job.video_id) for job in accepted]
        page = get_api_video_library.sync(client=client, per_page=100)
        if not isinstance(page, LibraryPage):
            raise SystemExit(f"library answered {page!r}")
        videos: list[Job] = page.videos
        number: int = page.page
        per_page: int = page.per_page
        total: int = page.total
        next_cursor: str | None = page.next_cursor
        sys.stdout.write(
            json.dumps(
                {
                    "accepted": [seen(job) for job in accepted],
                    "finished": [seen(job) for job in finished],
                    "library": {
                        "ids": [job.video_id for job in videos],
                        "page": number,
                        "per_page": per_page,
                        "total": total,
                        "next_cursor": next_cursor,
                    },
                }
            )
            + "\n"
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
