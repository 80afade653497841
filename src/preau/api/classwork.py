"""Classwork API: homework, hand-ins, the to-do, files. Same actions and authorization as
the pages; errors are application/problem+json."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath, FromQuery, JSONBody

from preau import i18n
from preau.actions import classwork
from preau.actions.classwork.files import Upload, download, upload_file
from preau.actions.classwork.revisions import RevisionView
from preau.actions.context import Services
from preau.domain.classwork import (
    ExtensionDraft,
    FileView,
    HandInAction,
    HandInView,
    HomeworkChanges,
    HomeworkCopy,
    HomeworkDraft,
    HomeworkView,
    Review,
    TeacherWeek,
    Todo,
    TurnIn,
)
from preau.domain.errors import Forbidden
from preau.domain.people import Actor, Profile
from preau.web.classwork import download_response, find_todo, load_todo, own_todo, zip_response
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, IdQuery
from preau.web.warm import JSON, WarmRead

Req = Request[Any, Any, Any]
TAGS = ["classwork"]


class Done(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    done: bool = True


@dataclass
class FileUpload:
    file: UploadFile


# The pupil's own to-do, answered warm before the router (see ``web/warm.py``).
TODO_JSON = WarmRead(
    path="/api/v1/todo",
    media_type=JSON,
    key=own_todo,
    find=find_todo,
    load=load_todo,
    answer=lambda _services, entry, _scope: (entry.json, entry.quoted_etag),
)


TODO_RESPONSES = {
    200: ResponseSpec(data_container=Todo, description="The to-do, grouped by due day."),
    304: ResponseSpec(None, description="Unchanged since the ETag sent in If-None-Match."),
}


@get(
    "/api/v1/todo",
    tags=TAGS,
    summary="My to-do (pupils): everything across my classes, by due day",
    description=(
        "Served from a cache kept coherent by version counters. Send the `ETag` back as "
        "`If-None-Match` to get `304 Not Modified` when nothing changed."
    ),
    responses=TODO_RESPONSES,
)
async def todo(request: Req, services: AppServices, actor: SignedInActor) -> Response[bytes]:
    if actor.profile is not Profile.PUPIL:
        raise Forbidden(i18n.lazy("Only pupils have a to-do list. Parents see their children's."))
    return await TODO_JSON.respond(request, services, actor, actor.person_id)


@get(
    "/api/v1/pupils/{pupil_id:int}/todo",
    tags=TAGS,
    summary="A pupil's to-do, read-only (their parents, staff)",
    responses=TODO_RESPONSES,
)
async def pupil_todo(
    request: Req, services: AppServices, actor: SignedInActor, pupil_id: IdPath
) -> Response[bytes]:
    return await TODO_JSON.respond(request, services, actor, pupil_id)


@get("/api/v1/homework", tags=TAGS, summary="Homework I set, by week (teachers and staff)")
async def homework_list(
    services: AppServices,
    actor: SignedInActor,
    group_id: IdQuery = None,
    week_of: FromQuery[datetime | None] = None,
) -> list[TeacherWeek]:
    return await classwork.teacher_homework(services, actor, group_id=group_id, week_of=week_of)


@post("/api/v1/homework", tags=TAGS, summary="Set homework for a class, a group or chosen pupils")
async def homework_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[HomeworkDraft]
) -> HomeworkView:
    return await classwork.create_homework(services, actor, data)


@get("/api/v1/homework/{homework_id:int}", tags=TAGS, summary="One homework")
async def homework_get(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> HomeworkView:
    return await classwork.get_homework(services, actor, homework_id)


@patch("/api/v1/homework/{homework_id:int}", tags=TAGS, summary="Edit homework (kept in history)")
async def homework_patch(
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    data: JSONBody[HomeworkChanges],
) -> HomeworkView:
    return await classwork.update_homework(services, actor, homework_id, data)


@delete("/api/v1/homework/{homework_id:int}", tags=TAGS, summary="Delete homework", status_code=204)
async def homework_delete(services: AppServices, actor: SignedInActor, homework_id: IdPath) -> None:
    await classwork.delete_homework(services, actor, homework_id)


@post(
    "/api/v1/homework/{homework_id:int}/copy",
    tags=TAGS,
    summary="Copy homework to another class or group",
)
async def homework_copy(
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    data: JSONBody[HomeworkCopy],
) -> HomeworkView:
    return await classwork.copy_homework(services, actor, homework_id, data)


@get(
    "/api/v1/homework/{homework_id:int}/revisions",
    tags=TAGS,
    summary="The history of a homework's changes",
)
async def homework_history(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> list[RevisionView]:
    return await classwork.homework_revisions_of(services, actor, homework_id)


@get(
    "/api/v1/homework/{homework_id:int}/hand-ins",
    tags=TAGS,
    summary="Every pupil's hand-in: turned in, late, missing, excused (teachers)",
)
async def hand_in_list(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> list[HandInView]:
    return await classwork.hand_ins_of(services, actor, homework_id)


@get(
    "/api/v1/homework/{homework_id:int}/hand-ins.zip",
    tags=TAGS,
    summary="Every hand-in as a zip (teachers)",
    media_type="application/zip",
)
async def hand_in_zip(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[bytes]:
    return await zip_response(services, actor, homework_id)


@get(
    "/api/v1/homework/{homework_id:int}/hand-ins/{pupil_id:int}",
    tags=TAGS,
    summary="One pupil's hand-in with its history (the pupil, their parents, teachers)",
)
async def hand_in_get(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, pupil_id: IdPath
) -> HandInView:
    return await classwork.get_hand_in(services, actor, homework_id, pupil_id)


@post(
    "/api/v1/homework/{homework_id:int}/turn-in",
    tags=TAGS,
    summary="Turn my work in (pupils); send an idempotency key so a retry is harmless",
    status_code=200,
)
async def turn_in(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, data: JSONBody[TurnIn]
) -> HandInView:
    return await classwork.turn_in(services, actor, homework_id, data)


@post(
    "/api/v1/homework/{homework_id:int}/take-back",
    tags=TAGS,
    summary="Take back work turned in but not yet returned (pupils)",
    status_code=200,
)
async def take_back(services: AppServices, actor: SignedInActor, homework_id: IdPath) -> HandInView:
    return await classwork.take_back(services, actor, homework_id)


@post(
    "/api/v1/homework/{homework_id:int}/done",
    tags=TAGS,
    summary="Tick work without hand-in as done, or not (pupils)",
    status_code=204,
)
async def done(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, data: JSONBody[Done]
) -> None:
    await classwork.set_done(services, actor, homework_id, done=data.done)


@post(
    "/api/v1/homework/{homework_id:int}/hand-ins/{pupil_id:int}/return",
    tags=TAGS,
    summary="Return work with feedback and an optional mark (teachers)",
    status_code=200,
)
async def hand_in_return(
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil_id: IdPath,
    data: JSONBody[Review],
) -> HandInView:
    return await classwork.review_hand_in(
        services,
        actor,
        homework_id,
        pupil_id,
        action=HandInAction.RETURN,
        review=data,
    )


async def _state(
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    action: HandInAction,
) -> HandInView:
    return await classwork.review_hand_in(services, actor, homework_id, pupil_id, action=action)


@post(
    "/api/v1/homework/{homework_id:int}/hand-ins/{pupil_id:int}/missing",
    tags=TAGS,
    summary="Mark work missing (teachers)",
    status_code=200,
)
async def hand_in_missing(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, pupil_id: IdPath
) -> HandInView:
    return await _state(services, actor, homework_id, pupil_id, HandInAction.MARK_MISSING)


@post(
    "/api/v1/homework/{homework_id:int}/hand-ins/{pupil_id:int}/excused",
    tags=TAGS,
    summary="Excuse a pupil from this work (teachers)",
    status_code=200,
)
async def hand_in_excused(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, pupil_id: IdPath
) -> HandInView:
    return await _state(services, actor, homework_id, pupil_id, HandInAction.MARK_EXCUSED)


@post(
    "/api/v1/homework/{homework_id:int}/hand-ins/{pupil_id:int}/reset",
    tags=TAGS,
    summary="Set missing or excused work back to assigned (teachers)",
    status_code=200,
)
async def hand_in_reset(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, pupil_id: IdPath
) -> HandInView:
    return await _state(services, actor, homework_id, pupil_id, HandInAction.RESET)


@put(
    "/api/v1/homework/{homework_id:int}/extensions/{pupil_id:int}",
    tags=TAGS,
    summary="Give one pupil a later due time and cut-off (teachers)",
)
async def extension_put(
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil_id: IdPath,
    data: JSONBody[ExtensionDraft],
) -> HandInView:
    return await classwork.grant_extension(services, actor, homework_id, pupil_id, draft=data)


@delete(
    "/api/v1/homework/{homework_id:int}/extensions/{pupil_id:int}",
    tags=TAGS,
    summary="Remove a pupil's extension (teachers)",
    status_code=204,
)
async def extension_delete(
    services: AppServices, actor: SignedInActor, homework_id: IdPath, pupil_id: IdPath
) -> None:
    await classwork.grant_extension(services, actor, homework_id, pupil_id, draft=None)


@post(
    "/api/v1/files",
    tags=TAGS,
    summary="Upload a file (multipart field `file`), then attach it by its id",
    description=(
        "The type is read from the content, not from the name or the client; accepted "
        "types and the size limit (20 MB by default) are set by the operator."
    ),
)
async def file_upload(
    services: AppServices,
    actor: SignedInActor,
    data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> FileView:
    upload = Upload(name=data.file.filename or "", data=await data.file.read())
    return await upload_file(services, actor, upload)


@get(
    "/api/v1/files/{file_id:str}",
    tags=TAGS,
    summary="Download a file (always as an attachment)",
    media_type="application/octet-stream",
)
async def file_download(
    services: AppServices, actor: SignedInActor, file_id: FromPath[str]
) -> Response[Any]:
    return download_response(await download(services, actor, file_id[:64]))


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            todo,
            pupil_todo,
            homework_list,
            homework_create,
            homework_get,
            homework_patch,
            homework_delete,
            homework_copy,
            homework_history,
            hand_in_list,
            hand_in_zip,
            hand_in_get,
            turn_in,
            take_back,
            done,
            hand_in_return,
            hand_in_missing,
            hand_in_excused,
            hand_in_reset,
            extension_put,
            extension_delete,
            file_upload,
            file_download,
        ],
    )
]
