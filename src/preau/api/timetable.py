"""Timetable API: weeks, lessons, one-off changes, holidays and the calendar address."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody

from preau.actions import timetable
from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.api.accounts import require_session
from preau.asgi import Scope
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
from preau.web.render import services_of
from preau.web.timetable import feed_address, own_week_warm
from preau.web.warm import JSON, Warm, WarmLookup, cached_response

Req = Request[Any, Any, Any]


class FeedAddress(msgspec.Struct, kw_only=True):
    """Shown once: Préau keeps only a hash of the secret."""

    url: str


def warm_week(services: Services, session: Session, scope: Scope) -> Warm | None:
    """One's own current week as JSON from the cache, or None (see ``web/warm.py``)."""
    entry = own_week_warm(services, session, scope)
    if entry is None:
        return None
    return entry.body, entry.quoted_etag, JSON


WARM_READS: dict[str, WarmLookup] = {"/api/v1/timetable/week": warm_week}


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
    week: FromQuery[str] = "",
    person_id: FromQuery[int | None] = None,
    group_id: FromQuery[int | None] = None,
) -> Response[bytes]:
    services = services_of(request)
    actor = require_session(request).actor
    monday = parse_week(week) if week else monday_of(services.now().date())
    if group_id is None and person_id in (None, actor.person_id):
        entry = await services.week_cache.week(services, actor, monday)
        return cached_response(request, entry.body, f'"{entry.etag}"', JSON.decode())
    view = await timetable.week(services, actor, monday, person_id=person_id, group_id=group_id)
    return Response(msgspec.json.encode(view), media_type=JSON.decode())


@post("/api/v1/timetable/lessons", tags=["timetable"], summary="Add a weekly lesson (admins)")
async def lesson_create(request: Req, data: JSONBody[LessonDraft]) -> Lesson:
    return await timetable.create_lesson(services_of(request), require_session(request).actor, data)


@post(
    "/api/v1/timetable/changes",
    tags=["timetable"],
    summary="Cancel, move or replace one lesson (its teacher, staff)",
)
async def change_create(request: Req, data: JSONBody[ChangeDraft]) -> Occurrence:
    return await timetable.change_occurrence(
        services_of(request), require_session(request).actor, data
    )


class VirtualChoice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    lesson_id: int
    day: date
    virtual: bool


@post(
    "/api/v1/timetable/virtual",
    tags=["timetable"],
    summary="Hold one lesson as a virtual class, or back in class",
    status_code=204,
)
async def virtual_set(request: Req, data: JSONBody[VirtualChoice]) -> None:
    await timetable.set_virtual(
        services_of(request),
        require_session(request).actor,
        data.lesson_id,
        data.day,
        virtual=data.virtual,
    )


@post("/api/v1/timetable/holidays", tags=["timetable"], summary="Add holidays (admins)")
async def holiday_create(request: Req, data: JSONBody[HolidayDraft]) -> Holiday:
    return await timetable.add_holiday(services_of(request), require_session(request).actor, data)


@post(
    "/api/v1/timetable/feed",
    tags=["timetable"],
    summary="A new secret iCalendar address (the previous one stops working)",
)
async def feed_create(request: Req) -> FeedAddress:
    secret = await timetable.new_feed_secret(services_of(request), require_session(request).actor)
    return FeedAddress(url=feed_address(request, secret))


@delete("/api/v1/timetable/feed", tags=["timetable"], summary="Stop my calendar address")
async def feed_revoke(request: Req) -> None:
    await timetable.revoke_feed(services_of(request), require_session(request).actor)


routes = [
    week_get,
    lesson_create,
    change_create,
    virtual_set,
    holiday_create,
    feed_create,
    feed_revoke,
]
