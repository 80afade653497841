"""Timetable API: weeks, lessons, one-off changes, holidays and the calendar address."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody

from preau.actions import timetable
from preau.domain.bounds import Id, Input
from preau.domain.timetable import (
    ChangeDraft,
    Holiday,
    HolidayDraft,
    Lesson,
    LessonDraft,
    Occurrence,
    WeekView,
    monday_of,
    parse_week,
)
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdQuery
from preau.web.timetable import feed_address, find_week, load_week, own_week
from preau.web.warm import JSON, WarmRead

Req = Request[Any, Any, Any]


class FeedAddress(msgspec.Struct, kw_only=True):
    """Shown once: Préau keeps only a hash of the secret."""

    url: str


# One's own current week, answered warm before the router (see ``web/warm.py``).
WEEK_JSON = WarmRead(
    path="/api/v1/timetable/week",
    media_type=JSON,
    key=own_week,
    find=find_week,
    load=load_week,
    answer=lambda _services, entry, _scope: (entry.body, entry.quoted_etag),
)


@get(
    "/api/v1/timetable/week",
    tags=["timetable"],
    summary="One week of lessons",
    description=(
        "One's own week is served from a cache; send the `ETag` back as `If-None-Match` to "
        "get `304 Not Modified` when nothing changed."
    ),
    responses={
        200: ResponseSpec(data_container=WeekView, description="The week, day by day."),
        304: ResponseSpec(None, description="Unchanged since the ETag sent in If-None-Match."),
    },
)
async def week_get(
    request: Req,
    *,
    services: AppServices,
    actor: SignedInActor,
    week: FromQuery[str] = "",
    person_id: IdQuery = None,
    group_id: IdQuery = None,
) -> Response[bytes]:
    monday = parse_week(week) if week else monday_of(services.now().date())
    if group_id is None and person_id in (None, actor.person_id):
        return await WEEK_JSON.respond(request, services, actor, monday)
    view = await timetable.week(services, actor, monday, person_id=person_id, group_id=group_id)
    return Response(msgspec.json.encode(view), media_type=JSON.decode())


@post("/api/v1/timetable/lessons", tags=["timetable"], summary="Add a weekly lesson (admins)")
async def lesson_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[LessonDraft]
) -> Lesson:
    return await timetable.create_lesson(services, actor, data)


@post(
    "/api/v1/timetable/changes",
    tags=["timetable"],
    summary="Cancel, move or replace one lesson (its teacher, staff)",
)
async def change_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[ChangeDraft]
) -> Occurrence:
    return await timetable.change_occurrence(services, actor, data)


class VirtualChoice(Input, kw_only=True):
    lesson_id: Id
    day: date
    virtual: bool


@post(
    "/api/v1/timetable/virtual",
    tags=["timetable"],
    summary="Hold one lesson as a virtual class, or back in class",
    status_code=204,
)
async def virtual_set(
    services: AppServices, actor: SignedInActor, data: JSONBody[VirtualChoice]
) -> None:
    await timetable.set_virtual(
        services,
        actor,
        data.lesson_id,
        data.day,
        virtual=data.virtual,
    )


@post("/api/v1/timetable/holidays", tags=["timetable"], summary="Add holidays (admins)")
async def holiday_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[HolidayDraft]
) -> Holiday:
    return await timetable.add_holiday(services, actor, data)


@post(
    "/api/v1/timetable/feed",
    tags=["timetable"],
    summary="A new secret iCalendar address (the previous one stops working)",
)
async def feed_create(services: AppServices, actor: SignedInActor) -> FeedAddress:
    secret = await timetable.new_feed_secret(services, actor)
    return FeedAddress(url=feed_address(services.settings, secret))


@delete("/api/v1/timetable/feed", tags=["timetable"], summary="Stop my calendar address")
async def feed_revoke(services: AppServices, actor: SignedInActor) -> None:
    await timetable.revoke_feed(services, actor)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            week_get,
            lesson_create,
            change_create,
            virtual_set,
            holiday_create,
            feed_create,
            feed_revoke,
        ],
    )
]
