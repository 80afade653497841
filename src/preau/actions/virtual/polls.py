"""Polls in a virtual class: the teacher asks (one question, 2 to 6 choices, one answer
each), pupils who joined answer (a changed answer replaces the first), the teacher sees
the results live and shows them to everyone when they choose."""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_poll_by_id, access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.limits import room_limits
from preau.actions.virtual.rooms import require_host
from preau.adapters.sql.schema import virtual_poll_answers, virtual_polls, virtual_seats
from preau.domain.errors import Conflict, Forbidden, InvalidInput
from preau.domain.people import Actor
from preau.domain.virtual import Role
from preau.domain.virtual_room import (
    POLL_CHOICE_UNKNOWN,
    POLL_CLOSED,
    POLL_NOT_IN_ROOM,
    POLL_TOO_FAST,
    check_poll,
    tally,
)

_choices = msgspec.json.Decoder(list[str])


class PollView(msgspec.Struct, kw_only=True):
    id: int
    question: str
    choices: list[str]
    results_shown: bool
    closed: bool
    created_at: datetime
    counts: list[int] | None  # the teacher's, or everyone's once shown
    answers: int | None
    my_choice: int | None = None


async def _counts(connection: AsyncConnection, poll_id: int, choices: int) -> list[int]:
    rows = await connection.execute(
        sa.select(virtual_poll_answers.c.choice).where(virtual_poll_answers.c.poll_id == poll_id)
    )
    return tally(choices, (row.choice for row in rows))


async def _view(
    connection: AsyncConnection, poll: sa.Row[object], actor: Actor, role: Role
) -> PollView:
    choices = _choices.decode(poll.choices)
    sees = role is Role.TEACHER or poll.results_shown
    counts = await _counts(connection, poll.id, len(choices)) if sees else None
    mine = (
        await connection.execute(
            sa.select(virtual_poll_answers.c.choice).where(
                virtual_poll_answers.c.poll_id == poll.id,
                virtual_poll_answers.c.person_id == actor.person_id,
            )
        )
    ).scalar_one_or_none()
    return PollView(
        id=poll.id,
        question=poll.question,
        choices=choices,
        results_shown=poll.results_shown,
        closed=poll.closed_at is not None,
        created_at=poll.created_at,
        counts=counts,
        answers=sum(counts) if counts is not None else None,
        my_choice=mine,
    )


def _public(view: PollView) -> PollView:
    """What every page may receive: the results only once shown, never anyone's choice."""
    hidden = not view.results_shown
    return msgspec.structs.replace(
        view,
        counts=None if hidden else view.counts,
        answers=None if hidden else view.answers,
        my_choice=None,
    )


async def ask(
    services: Services, actor: Actor, room_id: int, question: str, choices: list[str]
) -> PollView:
    """A new poll; the previous open one in the room closes."""
    text, kept = check_poll(question, choices)
    now = services.now()
    async with services.engine.begin() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        await connection.execute(
            virtual_polls.update()
            .where(virtual_polls.c.room_id == room_id, virtual_polls.c.closed_at.is_(None))
            .values(closed_at=now)
        )
        poll_id = (
            await connection.execute(
                virtual_polls.insert()
                .values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    question=text,
                    choices=msgspec.json.encode(kept).decode(),
                    results_shown=False,
                    created_at=now,
                )
                .returning(virtual_polls.c.id)
            )
        ).scalar_one()
        poll, _ = await access_poll_by_id(connection, actor, room_id, poll_id)
        view = await _view(connection, poll, actor, role)
    await services.room_live.publish(services.state, room_id, "poll", _public(view))
    return view


async def answer(
    services: Services, actor: Actor, room_id: int, poll_id: int, choice: int
) -> PollView:
    """A pupil's answer; answering again replaces it. Only pupils who joined the class
    (a seat) answer; the teacher sees the new counts at once."""
    async with services.engine.connect() as connection:
        poll, role = await access_poll_by_id(connection, actor, room_id, poll_id)
        seated = (
            await connection.execute(
                sa.select(virtual_seats.c.person_id).where(
                    virtual_seats.c.room_id == room_id,
                    virtual_seats.c.person_id == actor.person_id,
                )
            )
        ).first()
    if role is not Role.PUPIL or seated is None:
        raise Forbidden(POLL_NOT_IN_ROOM)
    if poll.closed_at is not None:
        raise Conflict(POLL_CLOSED)
    if not 0 <= choice < len(_choices.decode(poll.choices)):
        raise InvalidInput(POLL_CHOICE_UNKNOWN, field="choice")
    await room_limits(services).hit("answer", room_id, actor.person_id, POLL_TOO_FAST)
    async with services.engine.begin() as connection:
        await connection.execute(
            virtual_poll_answers.delete().where(
                virtual_poll_answers.c.poll_id == poll_id,
                virtual_poll_answers.c.person_id == actor.person_id,
            )
        )
        await connection.execute(
            virtual_poll_answers.insert().values(
                school_id=actor.school_id,
                poll_id=poll_id,
                person_id=actor.person_id,
                choice=choice,
                answered_at=services.now(),
            )
        )
        view = await _view(connection, poll, actor, Role.TEACHER)
    room = await _teacher_of(services, actor, room_id)
    await services.room_live.publish(
        services.state,
        room_id,
        "results",
        msgspec.structs.replace(view, my_choice=None),
        to=None if poll.results_shown else [room],
    )
    mine = msgspec.structs.replace(view, my_choice=choice)
    return _own(mine)


def _own(view: PollView) -> PollView:
    """A pupil's own answer back, without the counts while they are hidden."""
    if view.results_shown:
        return view
    return msgspec.structs.replace(view, counts=None, answers=None)


async def _teacher_of(services: Services, actor: Actor, room_id: int) -> int:
    async with services.engine.connect() as connection:
        room, _role = await access_room_by_id(connection, actor, room_id)
    return int(room.teacher_id)


async def show(
    services: Services, actor: Actor, room_id: int, poll_id: int, *, shown: bool, close: bool
) -> PollView:
    """The teacher shows (or hides) the results to everyone, and may close the poll."""
    async with services.engine.begin() as connection:
        poll, role = await access_poll_by_id(connection, actor, room_id, poll_id)
        require_host(role)
        values: dict[str, object] = {"results_shown": shown}
        if close and poll.closed_at is None:
            values["closed_at"] = services.now()
        await connection.execute(
            virtual_polls.update().where(virtual_polls.c.id == poll_id).values(**values)
        )
        poll, _ = await access_poll_by_id(connection, actor, room_id, poll_id)
        view = await _view(connection, poll, actor, role)
    await services.room_live.publish(services.state, room_id, "results", _public(view))
    return view


async def current(services: Services, actor: Actor, room_id: int) -> PollView | None:
    """The room's newest poll as the actor may see it, or None."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        poll = (
            await connection.execute(
                sa.select(virtual_polls)
                .where(virtual_polls.c.room_id == room_id)
                .order_by(virtual_polls.c.id.desc())
                .limit(1)
            )
        ).first()
        if poll is None:
            return None
        return await _view(connection, poll, actor, role)
