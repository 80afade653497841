"""Attendance API: a lesson's roll call (read, prefilled for virtual lessons; saved at
once), absences the office records over a period, parents' justifications with a
document, the office's answers, a pupil's and a class's half-days, a parent's limited
access. docs/attendance.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Response, Router, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Stream

from preau.actions import attendance
from preau.actions.attendance.reads import LessonToCall, Office
from preau.actions.classwork.files import Upload
from preau.domain.attendance import (
    Answer,
    AuditEntry,
    ClassAttendance,
    PeriodDraft,
    PupilAttendance,
    RollCall,
    RollCallDraft,
)
from preau.domain.classwork import attachment_disposition
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath

TAGS = ["attendance"]


class SavedRollCall(msgspec.Struct, kw_only=True):
    changed: int  # entries written by this request (0 when sent again unchanged)
    roll_call: RollCall


class ParentAccess(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    limited: bool


class Created(msgspec.Struct, kw_only=True):
    id: int


@dataclass
class Justification:
    reason: str
    comment: str = ""
    file: UploadFile | None = None


@get(
    "/api/v1/attendance/lessons/{lesson_id:int}/{day:date}",
    tags=TAGS,
    summary="A lesson's roll call on one day (its original day)",
    description="Before it is first saved, everyone is present except pupils the office "
    "recorded absent and, for a virtual lesson, as the room saw them: no seat is absent, "
    "a seat taken more than 5 minutes late is late, a pupil last seen more than 5 minutes "
    "before the end left early (`from_room` marks these suggestions).",
)
async def roll_call_get(
    services: AppServices, actor: SignedInActor, lesson_id: IdPath, day: FromPath[date]
) -> RollCall:
    return await attendance.get_roll_call(services, actor, lesson_id, day)


@put(
    "/api/v1/attendance/lessons/{lesson_id:int}/{day:date}",
    tags=TAGS,
    summary="Save a lesson's roll call (teachers of the lesson, the office)",
    description="One transaction: if one entry is refused (a pupil not in the group, late "
    "without minutes), nothing is saved. Pupils not sent keep their entry (present on a "
    "first save). Idempotent: only changed entries are written and audited; parents of a "
    "pupil newly absent get a notice (messages, the daily digest, quiet hours kept).",
)
async def roll_call_put(
    services: AppServices,
    actor: SignedInActor,
    lesson_id: IdPath,
    day: FromPath[date],
    data: JSONBody[RollCallDraft],
) -> SavedRollCall:
    found, changed = await attendance.save_roll_call(services, actor, lesson_id, day, data.entries)
    return SavedRollCall(changed=changed, roll_call=found)


@get(
    "/api/v1/attendance/today",
    tags=TAGS,
    summary="My lessons of a day (teachers), with whether each roll call is taken",
)
async def lessons_today(
    services: AppServices, actor: SignedInActor, day: FromQuery[date | None] = None
) -> list[LessonToCall]:
    return await attendance.lessons_of_day(services, actor, day)


@post(
    "/api/v1/attendance/absences",
    tags=TAGS,
    summary="Record a pupil absent from a half-day to a half-day (the office)",
    description="With a `reason` (the parents phoned), the absence is justified at once; "
    "without, the parents are told and may justify it online.",
)
async def absence_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[PeriodDraft]
) -> Created:
    return Created(id=await attendance.record_period(services, actor, data))


@post(
    "/api/v1/attendance/absences/{absence_id:int}/justification",
    tags=TAGS,
    summary="Justify an absence (parents): a reason, a comment, an optional document",
    description="Multipart fields `reason` (illness, family, appointment, transport, "
    "other), `comment` and `file`. The file's type is read from its content; accepted "
    "types and the size limit are the operator's (as every upload).",
    status_code=200,
)
async def absence_justify(
    services: AppServices,
    actor: SignedInActor,
    absence_id: IdPath,
    data: Annotated[Justification, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> PupilAttendance:
    upload = None
    if data.file is not None and data.file.filename:
        upload = Upload(name=data.file.filename, data=await data.file.read())
    pupil_id = await attendance.justify(
        services, actor, absence_id, reason=data.reason, comment=data.comment, upload=upload
    )
    return await attendance.pupil_attendance(services, actor, pupil_id)


@post(
    "/api/v1/attendance/absences/{absence_id:int}/answer",
    tags=TAGS,
    summary="Accept or refuse a justification (the office), with a sentence to the parents",
    status_code=200,
)
async def absence_answer(
    services: AppServices, actor: SignedInActor, absence_id: IdPath, data: JSONBody[Answer]
) -> PupilAttendance:
    pupil_id = await attendance.answer(services, actor, absence_id, data)
    return await attendance.pupil_attendance(services, actor, pupil_id)


@get(
    "/api/v1/attendance/absences/{absence_id:int}/document",
    tags=TAGS,
    summary="The parents' document of an absence (always as an attachment)",
    media_type="application/octet-stream",
)
async def absence_document(
    services: AppServices, actor: SignedInActor, absence_id: IdPath
) -> Response[Any]:
    return document_response(await attendance.open_document(services, actor, absence_id))


def document_response(found: attendance.absences.Document) -> Stream:
    return Stream(
        found.chunks,
        media_type=found.content_type,
        headers={
            "content-disposition": attachment_disposition(found.name),
            "content-length": str(found.size),
            "cache-control": "private, no-store",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


@get(
    "/api/v1/attendance/pupils/{pupil_id:int}",
    tags=TAGS,
    summary="A pupil's absences, lateness and half-days missed since the school year began",
    description="Half-days: before or after 12:00 school time; one is missed when an "
    "absence overlaps it, justified when all of them are. `flagged` marks a month with 4 "
    "or more unjustified half-days.",
)
async def pupil_get(
    services: AppServices, actor: SignedInActor, pupil_id: IdPath
) -> PupilAttendance:
    return await attendance.pupil_attendance(services, actor, pupil_id)


@get(
    "/api/v1/attendance/pupils/{pupil_id:int}/history",
    tags=TAGS,
    summary="Who changed a pupil's attendance, when, from what to what (the office)",
)
async def pupil_history(
    services: AppServices, actor: SignedInActor, pupil_id: IdPath
) -> list[AuditEntry]:
    return await attendance.history(services, actor, pupil_id)


@get(
    "/api/v1/attendance/groups/{group_id:int}",
    tags=TAGS,
    summary="A class's half-days missed, unjustified, pending and lateness per pupil",
)
async def group_get(
    services: AppServices, actor: SignedInActor, group_id: IdPath
) -> ClassAttendance:
    return await attendance.class_attendance(services, actor, group_id)


@get(
    "/api/v1/attendance/office",
    tags=TAGS,
    summary="The office's desk: justifications waiting, pupils past the threshold",
)
async def office_get(services: AppServices, actor: SignedInActor) -> Office:
    return await attendance.office(services, actor)


@put(
    "/api/v1/attendance/parents/{parent_id:int}/children/{child_id:int}",
    tags=TAGS,
    summary="Limit (or restore) a parent's access to a child's attendance (administrators)",
)
async def parent_access_put(
    services: AppServices,
    actor: SignedInActor,
    parent_id: IdPath,
    child_id: IdPath,
    data: JSONBody[ParentAccess],
) -> ParentAccess:
    limited = await attendance.limit_parent_access(
        services, actor, parent_id, child_id, limited=data.limited
    )
    return ParentAccess(limited=limited)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            roll_call_get,
            roll_call_put,
            lessons_today,
            absence_create,
            absence_justify,
            absence_answer,
            absence_document,
            pupil_get,
            pupil_history,
            group_get,
            office_get,
            parent_access_put,
        ],
    )
]
