"""Virtual classes API: my rooms, starting one, joining (tokens), hands and the floor,
who is there, recording."""

from __future__ import annotations

from litestar import Router, get, post
from litestar.params import JSONBody

from preau.actions import virtual
from preau.actions.virtual.hands import Floor, Participant
from preau.actions.virtual.recordings import RecordingView, recording, set_recording
from preau.actions.virtual.rooms import RoomView
from preau.api import virtual_room
from preau.domain.bounds import Id, Input
from preau.domain.virtual import JoinGrant
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath


class StartRequest(Input, kw_only=True):
    group_id: Id
    title: str = ""
    minutes: int = 55


class GuestRequest(Input, kw_only=True):
    person_id: Id


class HandRequest(Input, kw_only=True):
    raised: bool


class FloorRequest(Input, kw_only=True):
    person_id: Id
    allowed: bool


@get("/api/v1/virtual/rooms", tags=["virtual"], summary="My virtual classes, today and next")
async def rooms_list(services: AppServices, actor: SignedInActor) -> list[RoomView]:
    return await virtual.my_rooms(services, actor)


@post("/api/v1/virtual/rooms", tags=["virtual"], summary="Start an unscheduled virtual class")
async def room_start(
    services: AppServices, actor: SignedInActor, data: JSONBody[StartRequest]
) -> RoomView:
    return await virtual.start_unscheduled(
        services,
        actor,
        data.group_id,
        title=data.title,
        minutes=data.minutes,
    )


@get("/api/v1/virtual/rooms/{room_id:int}", tags=["virtual"], summary="One virtual class")
async def room_get(services: AppServices, actor: SignedInActor, room_id: IdPath) -> RoomView:
    return await virtual.get_room(services, actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/join",
    tags=["virtual"],
    summary="Tokens to enter the room (they expire when the lesson ends)",
    status_code=200,
)
async def room_join(services: AppServices, actor: SignedInActor, room_id: IdPath) -> JoinGrant:
    return await virtual.join(services, actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/guests",
    tags=["virtual"],
    summary="Invite a member of staff (the teacher)",
    status_code=204,
)
async def room_invite(
    services: AppServices,
    actor: SignedInActor,
    room_id: IdPath,
    data: JSONBody[GuestRequest],
) -> None:
    await virtual.invite(services, actor, room_id, data.person_id)


@get(
    "/api/v1/virtual/rooms/{room_id:int}/participants",
    tags=["virtual"],
    summary="Who is there, hands raised, who may speak (the teacher)",
)
async def room_participants(
    services: AppServices, actor: SignedInActor, room_id: IdPath
) -> list[Participant]:
    return await virtual.participants(services, actor, room_id)


@get("/api/v1/virtual/rooms/{room_id:int}/floor", tags=["virtual"], summary="My hand and floor")
async def floor_get(services: AppServices, actor: SignedInActor, room_id: IdPath) -> Floor:
    return await virtual.floor(services, actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/hand",
    tags=["virtual"],
    summary="Raise or lower my hand",
    status_code=200,
)
async def hand_set(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[HandRequest]
) -> Floor:
    return await virtual.raise_hand(services, actor, room_id, raised=data.raised)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/floor",
    tags=["virtual"],
    summary="Let a pupil speak, or stop them (the teacher)",
    status_code=204,
)
async def floor_set(
    services: AppServices,
    actor: SignedInActor,
    room_id: IdPath,
    data: JSONBody[FloorRequest],
) -> None:
    await virtual.give_floor(
        services,
        actor,
        room_id,
        data.person_id,
        allowed=data.allowed,
    )


class RecordingRequest(Input, kw_only=True):
    recording: bool


@get(
    "/api/v1/virtual/rooms/{room_id:int}/recording",
    tags=["virtual"],
    summary="The class's latest recording and its replay (the teacher)",
)
async def recording_get(
    services: AppServices, actor: SignedInActor, room_id: IdPath
) -> RecordingView:
    return await recording(services, actor, room_id)


@post(
    "/api/v1/virtual/rooms/{room_id:int}/recording",
    tags=["virtual"],
    summary="Start or stop recording; a stopped recording becomes a video lesson (the teacher)",
    status_code=200,
)
async def recording_set(
    services: AppServices,
    actor: SignedInActor,
    room_id: IdPath,
    data: JSONBody[RecordingRequest],
) -> RecordingView:
    return await set_recording(services, actor, room_id, on=data.recording)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            rooms_list,
            room_start,
            room_get,
            room_join,
            room_invite,
            room_participants,
            floor_get,
            hand_set,
            floor_set,
            recording_get,
            recording_set,
            *virtual_room.handlers,
        ],
    )
]
