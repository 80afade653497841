"""Virtual classes API: my rooms, starting one, joining (tokens), hands and the floor,
who is there."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from preau.actions import virtual
from preau.actions.virtual.hands import Floor, Participant
from preau.actions.virtual.rooms import RoomView
from preau.api.accounts import require_session
from preau.domain.virtual import JoinGrant
from preau.web.render import services_of

Req = Request[Any, Any, Any]


class StartRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    group_id: int
    title: str = ""
    minutes: int = 55


class GuestRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    person_id: int


class HandRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    raised: bool


class FloorRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    person_id: int
    allowed: bool


@get("/api/v1/virtual/rooms", tags=["virtual"], summary="My virtual classes, today and next")
async def rooms_list(request: Req) -> list[RoomView]:
    return await virtual.my_rooms(services_of(request), require_session(request).actor)


@post("/api/v1/virtual/rooms", tags=["virtual"], summary="Start an unscheduled virtual class")
async def room_start(request: Req, data: JSONBody[StartRequest]) -> RoomView:
    return await virtual.start_unscheduled(
        services_of(request),
        require_session(request).actor,
        data.group_id,
        title=data.title,
        minutes=data.minutes,
    )


@get("/api/v1/virtual/rooms/{room_id:int}", tags=["virtual"], summary="One virtual class")
async def room_get(request: Req, room_id: FromPath[int]) -> RoomView:
    return await virtual.get_room(services_of(request), require_session(request).actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/join",
    tags=["virtual"],
    summary="Tokens to enter the room (they expire when the lesson ends)",
    status_code=200,
)
async def room_join(request: Req, room_id: FromPath[int]) -> JoinGrant:
    return await virtual.join(services_of(request), require_session(request).actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/guests",
    tags=["virtual"],
    summary="Invite a member of staff (the teacher)",
    status_code=204,
)
async def room_invite(request: Req, room_id: FromPath[int], data: JSONBody[GuestRequest]) -> None:
    await virtual.invite(
        services_of(request), require_session(request).actor, room_id, data.person_id
    )


@get(
    "/api/v1/virtual/rooms/{room_id:int}/participants",
    tags=["virtual"],
    summary="Who is there, hands raised, who may speak (the teacher)",
)
async def room_participants(request: Req, room_id: FromPath[int]) -> list[Participant]:
    return await virtual.participants(services_of(request), require_session(request).actor, room_id)


@get("/api/v1/virtual/rooms/{room_id:int}/floor", tags=["virtual"], summary="My hand and floor")
async def floor_get(request: Req, room_id: FromPath[int]) -> Floor:
    return await virtual.floor(services_of(request), require_session(request).actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/hand",
    tags=["virtual"],
    summary="Raise or lower my hand",
    status_code=200,
)
async def hand_set(request: Req, room_id: FromPath[int], data: JSONBody[HandRequest]) -> Floor:
    return await virtual.raise_hand(
        services_of(request), require_session(request).actor, room_id, raised=data.raised
    )


@post(
    "/api/v1/virtual/rooms/{room_id:int}/floor",
    tags=["virtual"],
    summary="Let a pupil speak, or stop them (the teacher)",
    status_code=204,
)
async def floor_set(request: Req, room_id: FromPath[int], data: JSONBody[FloorRequest]) -> None:
    await virtual.give_floor(
        services_of(request),
        require_session(request).actor,
        room_id,
        data.person_id,
        allowed=data.allowed,
    )


routes = [
    rooms_list,
    room_start,
    room_get,
    room_join,
    room_invite,
    room_participants,
    floor_get,
    hand_set,
    floor_set,
]
