"""The chat of a virtual class: public messages and messages to the teacher, kept with the
lesson (members read them afterwards); the teacher deletes a message or mutes a pupil."""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa

from preau.actions.access import access_chat_message_by_id, access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.limits import room_limits
from preau.actions.virtual.rooms import require_host
from preau.adapters.sql.schema import people, virtual_chat, virtual_seats
from preau.domain.errors import Forbidden, InvalidInput
from preau.domain.people import Actor
from preau.domain.virtual import Role
from preau.domain.virtual_room import (
    CHAT_KEPT,
    CHAT_MUTED,
    CHAT_TOO_FAST,
    check_chat_body,
)
from preau.i18n import lazy

MUTE_REMEMBERED = 12 * 3600
NOT_A_PUPIL_HERE = lazy("Only a pupil who has joined this virtual class can be muted.")


class ChatMessage(msgspec.Struct, kw_only=True):
    id: int
    author_id: int
    author: str
    to_teacher: bool
    body: str
    created_at: datetime
    deleted: bool = False


def _mute_key(room_id: int, person_id: int) -> str:
    return f"virtual:mute:{room_id}:{person_id}"


def _name(given: str, family: str) -> str:
    return f"{given} {family}"


async def post_message(
    services: Services, actor: Actor, room_id: int, body: str, *, to_teacher: bool
) -> ChatMessage:
    text = check_chat_body(body)
    async with services.engine.connect() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
    if role is not Role.TEACHER and await services.state.get(_mute_key(room_id, actor.person_id)):
        raise Forbidden(CHAT_MUTED)
    await room_limits(services).hit("chat", room_id, actor.person_id, CHAT_TOO_FAST)
    private = to_teacher and role is not Role.TEACHER
    now = services.now()
    async with services.engine.begin() as connection:
        message_id = (
            await connection.execute(
                virtual_chat.insert()
                .values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    author_id=actor.person_id,
                    to_teacher=private,
                    body=text,
                    created_at=now,
                )
                .returning(virtual_chat.c.id)
            )
        ).scalar_one()
        me = (
            await connection.execute(
                sa.select(people.c.given_name, people.c.family_name).where(
                    people.c.id == actor.person_id
                )
            )
        ).one()
    message = ChatMessage(
        id=message_id,
        author_id=actor.person_id,
        author=_name(me.given_name, me.family_name),
        to_teacher=private,
        body=text,
        created_at=now,
    )
    await services.room_live.publish(
        services.state,
        room_id,
        "chat",
        message,
        to=[actor.person_id, room.teacher_id] if private else None,
    )
    return message


async def chat_history(services: Services, actor: Actor, room_id: int) -> list[ChatMessage]:
    """The newest messages the actor may read, oldest first: public ones, and private ones
    they wrote (or all of them, for the teacher). Deleted ones stay as a blank mark."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        query = (
            sa.select(virtual_chat, people.c.given_name, people.c.family_name)
            .join(people, people.c.id == virtual_chat.c.author_id)
            .where(virtual_chat.c.room_id == room_id, virtual_chat.c.school_id == actor.school_id)
            .order_by(virtual_chat.c.id.desc())
            .limit(CHAT_KEPT)
        )
        if role is not Role.TEACHER:
            query = query.where(
                sa.or_(
                    virtual_chat.c.to_teacher.is_(False),
                    virtual_chat.c.author_id == actor.person_id,
                )
            )
        rows = (await connection.execute(query)).all()
    return [
        ChatMessage(
            id=row.id,
            author_id=row.author_id,
            author=_name(row.given_name, row.family_name),
            to_teacher=row.to_teacher,
            body="" if row.deleted_at is not None else row.body,
            created_at=row.created_at,
            deleted=row.deleted_at is not None,
        )
        for row in reversed(rows)
    ]


async def delete_message(services: Services, actor: Actor, room_id: int, message_id: int) -> None:
    async with services.engine.begin() as connection:
        message, _role = await access_chat_message_by_id(
            connection, actor, room_id, message_id, delete=True
        )
        await connection.execute(
            virtual_chat.update()
            .where(virtual_chat.c.id == message.id)
            .values(deleted_at=services.now(), body="")
        )
    await services.room_live.publish(services.state, room_id, "chat-deleted", {"id": message_id})


async def mute(
    services: Services, actor: Actor, room_id: int, person_id: int, *, muted: bool
) -> None:
    """The teacher mutes (or lets speak again) a pupil who has a seat in the room."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        seated = (
            await connection.execute(
                sa.select(virtual_seats.c.person_id).where(
                    virtual_seats.c.room_id == room_id,
                    virtual_seats.c.person_id == person_id,
                    virtual_seats.c.role == Role.PUPIL.value,
                )
            )
        ).first()
    if seated is None:
        raise InvalidInput(NOT_A_PUPIL_HERE, field="person_id")
    if muted:
        await services.state.set(_mute_key(room_id, person_id), b"1", ttl_seconds=MUTE_REMEMBERED)
    else:
        await services.state.delete(_mute_key(room_id, person_id))
    await services.room_live.publish(
        services.state, room_id, "muted", {"muted": muted}, to=[person_id]
    )
