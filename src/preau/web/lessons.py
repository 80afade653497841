"""Video lesson pages and files: the player page (the quality a pupil picks, captions,
resuming where they stopped), the teacher's upload form and who watched, and the video
files served by byte ranges so a player seeks without downloading everything."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream

from preau import i18n
from preau.actions.lessons import videos
from preau.domain.errors import InvalidInput, NotFound, PreauError
from preau.domain.lessons import NOT_A_VIDEO
from preau.domain.people import STAFF_PROFILES, Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]
QUALITIES = [i18n.lazy("low"), i18n.lazy("medium"), i18n.lazy("high")]  # shown through _(name)
NAMES = ("low.mp4", "medium.mp4", "high.mp4", "poster.jpg", "captions.vtt")


def chosen_file(upload: object) -> UploadFile:
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput(NOT_A_VIDEO, field="file")
    return upload


@get("/videos/{video_id:int}/{name:str}", include_in_schema=False)
async def video_file(
    request: Req, services: AppServices, actor: SignedInActor, video_id: IdPath,
    name: FromPath[str],
) -> Response[Any]:  # fmt: skip
    if name not in NAMES:
        raise NotFound("This file does not exist.")
    served = await videos.serve_file(services, actor, video_id, name, request.headers.get("range"))
    if served.redirect is not None:
        return Redirect(served.redirect, status_code=307)
    headers = {
        "accept-ranges": "bytes",
        "cache-control": "private, max-age=3600",
        "x-content-type-options": "nosniff",
    }
    length = served.size
    if served.byte_range is not None:
        start, end = served.byte_range
        length = end - start + 1
        headers["content-range"] = f"bytes {start}-{end}/{served.size}"
    headers["content-length"] = str(length)
    return Stream(
        videos.file_bytes(services, served),
        status_code=served.status,
        media_type=served.content_type,
        headers=headers,
    )


@get("/videos/{video_id:int}", include_in_schema=False)
async def video_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    video_id: IdPath,
    quality: FromQuery[str] = "",
) -> Response[Any]:
    video = await videos.get_video(services, actor, video_id)
    names = [source.name for source in video.sources]
    chosen = quality if quality in names else ("medium" if "medium" in names else "low")
    watchers = None
    if actor.profile in STAFF_PROFILES:
        try:
            watchers = await videos.viewers(services, actor, video_id)
        except PreauError:
            watchers = None  # staff who read it without teaching the group
    return render(
        request,
        "lessons/video.html",
        video=video,
        chosen=chosen,
        viewers=watchers,
        pupil=actor.profile is Profile.PUPIL,
    )


@get("/homework/{homework_id:int}/video", include_in_schema=False)
async def upload_form(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    existing = await videos.video_of_homework(services, actor, homework_id)
    if existing is not None:
        return Redirect(f"/videos/{existing}")
    return render(request, "lessons/upload.html", homework_id=homework_id, error=None)


@post(
    "/homework/{homework_id:int}/video",
    include_in_schema=False,
    request_max_body_size=2 * 1024 * 1024 * 1024,
)
async def upload_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    form = await request.form()
    upload = form.get("file")
    try:
        path = await videos.receive_upload(
            chosen_file(upload).read,
            services.settings.video_max_upload_mb * 1_000_000,
            Path(tempfile.gettempdir()),
        )
        video = await videos.upload_video(services, actor, homework_id, path)
    except InvalidInput as error:
        return render(
            request,
            "lessons/upload.html",
            status_code=error.status,
            homework_id=homework_id,
            error=translate_error(error),
        )
    return Redirect(f"/videos/{video.id}")


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[video_file, video_page, upload_form, upload_page],
    )
]
