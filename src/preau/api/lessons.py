"""Video lessons API: upload a video as a homework's content (the raw file as the body,
streamed to disk and refused as soon as it passes the limit), read it, report how far a
pupil watched, who watched how much (teachers), captions. The files themselves are served
at ``/videos/{id}/{low|medium|high}.mp4`` with byte ranges (``web/lessons.py``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from litestar import Request, Router, get, post, put
from litestar.params import JSONBody

from preau.actions.lessons import videos
from preau.actions.lessons.videos import Progress, VideoView, Viewer
from preau.domain.errors import NotFound
from preau.i18n import lazy
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath

TAGS = ["lessons"]
NO_VIDEO = lazy("This homework has no video.")
# The route's own bound; the school's limit (PREAU_VIDEO_MAX_UPLOAD_MB) is checked while
# the body is read.
MAX_BODY = 2 * 1024 * 1024 * 1024


async def received(request: Request[Any, Any, Any], limit_mb: int) -> Path:
    stream = request.stream()

    async def read(_size: int) -> bytes:
        return await anext(stream, b"")

    return await videos.receive_upload(read, limit_mb * 1_000_000, Path(tempfile.gettempdir()))


@post(
    "/api/v1/homework/{homework_id:int}/video",
    tags=TAGS,
    summary="Upload the homework's video lesson (its teachers): the file is the body",
    description="Send the video file itself as the request body (any Content-Type). It is "
    "checked at once (a file that is not a video is refused) and converted in the "
    "background: `state` goes from `queued` to `ready` (or `failed`, with a sentence).",
    request_max_body_size=MAX_BODY,
)
async def video_upload(
    request: Request[Any, Any, Any],
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
) -> VideoView:
    path = await received(request, services.settings.video_max_upload_mb)
    return await videos.upload_video(services, actor, homework_id, path)


@get("/api/v1/homework/{homework_id:int}/video", tags=TAGS, summary="A homework's video lesson")
async def homework_video_get(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> VideoView:
    video_id = await videos.video_of_homework(services, actor, homework_id)
    if video_id is None:
        raise NotFound(NO_VIDEO)
    return await videos.get_video(services, actor, video_id)


@get(
    "/api/v1/videos/{video_id:int}",
    tags=TAGS,
    summary="A video lesson: its state, sources by quality, and where the reader stopped",
)
async def video_get(services: AppServices, actor: SignedInActor, video_id: IdPath) -> VideoView:
    return await videos.get_video(services, actor, video_id)


@put(
    "/api/v1/videos/{video_id:int}/progress",
    tags=TAGS,
    summary="Report what the player just played and where it is (pupils)",
)
async def progress_put(
    services: AppServices, actor: SignedInActor, video_id: IdPath, data: JSONBody[Progress]
) -> VideoView:
    return await videos.save_progress(services, actor, video_id, data)


@get(
    "/api/v1/videos/{video_id:int}/viewers",
    tags=TAGS,
    summary="Who watched how much (teachers of the group, staff)",
)
async def viewers_get(
    services: AppServices, actor: SignedInActor, video_id: IdPath
) -> list[Viewer]:
    return await videos.viewers(services, actor, video_id)


@put(
    "/api/v1/videos/{video_id:int}/captions",
    tags=TAGS,
    summary="Set the captions (a WebVTT file as the body)",
    request_max_body_size=2_000_000,
)
async def captions_put(
    request: Request[Any, Any, Any],
    services: AppServices,
    actor: SignedInActor,
    video_id: IdPath,
) -> VideoView:
    return await videos.set_captions(services, actor, video_id, await request.body())


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            video_upload,
            homework_video_get,
            video_get,
            progress_put,
            viewers_get,
            captions_put,
        ],
    )
]
