"""Virtual classes: rooms placed ahead of each virtual lesson on the Janus node with the
most spare capacity, tokens for those allowed in (capped by counting them), the nodes'
health, drain and fail-over, hands raised and the floor given.

Every process runs :class:`JanusPool`: it polls each node's Admin API, places the rooms of
lessons starting within ``janus_lead_minutes``, and moves the live rooms of a node that
stopped answering to another node. Rooms are claimed with compare-and-set updates, so
several processes doing this at once place each room once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_group_for_virtual_class,
    access_room_by_id,
    joinable_rooms,
)
from preau.actions.context import Services
from preau.actions.timetable import expand_lessons, load_lessons
from preau.actions.zones import school_zone
from preau.adapters.janus import JanusAdmin, JanusUnavailable
from preau.adapters.sql.schema import (
    enrolments,
    people,
    timetable_changes,
    timetable_lessons,
    virtual_guests,
    virtual_rooms,
    virtual_seats,
)
from preau.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from preau.domain.people import STAFF_PROFILES, Actor
from preau.domain.virtual import (
    AUDIO_BITRATE,
    NO_ROOM_FOR_CLASS,
    NOT_OPEN_YET,
    ROOM_FULL,
    ROOM_OVER,
    UNAVAILABLE,
    JoinGrant,
    Node,
    NodeLoad,
    Role,
    choose_node,
    core_token,
    join_window,
    parse_nodes,
    planned_bitrate,
    room_secret,
    room_token,
)
from preau.i18n import lazy
from preau.settings import Settings

log = logging.getLogger("preau.virtual")
Row = sa.Row[Any]

ONLY_HOST = lazy("Only the teacher of this virtual class can do this.")
GUEST_NOT_STAFF = lazy("Only staff of your school can be invited.")
BAD_MINUTES = lazy("A virtual class lasts between 10 and 240 minutes.")
SPEAK_MARKS = 6 * 3600  # seconds a raised hand or a given floor is remembered at most


class NodeHealth(msgspec.Struct, kw_only=True):
    healthy: bool = False
    accepting: bool = False
    misses: int = 0
    error: str = ""


class NodeStatus(msgspec.Struct, kw_only=True):
    name: str
    janus_url: str
    healthy: bool
    accepting: bool
    error: str
    rooms: int
    participants: int
    max_participants: int
    bitrate: int
    max_bitrate: int


class RoomView(msgspec.Struct, kw_only=True):
    id: int
    title: str
    group_id: int
    group_name: str
    starts_at: datetime
    ends_at: datetime
    node: str | None
    role: Role
    open_from: datetime
    open_now: bool
    over: bool


class Participant(msgspec.Struct, kw_only=True):
    person_id: int
    name: str
    role: str
    present: bool
    hand_raised: bool
    may_speak: bool


class Floor(msgspec.Struct, kw_only=True):
    """A participant's own state: hand raised, floor given."""

    hand_raised: bool
    may_speak: bool


# -- the pool ----------------------------------------------------------------------------


class JanusPool:
    """The Janus nodes of the settings, their health, and the background loop, talking to
    the nodes through ``admin`` (built by the composition root; closed by :meth:`stop`)."""

    def __init__(self, settings: Settings, admin: JanusAdmin) -> None:
        self.settings = settings
        self.nodes: list[Node] = parse_nodes(settings.janus_nodes)
        self.by_name = {node.name: node for node in self.nodes}
        self.health: dict[str, NodeHealth] = {node.name: NodeHealth() for node in self.nodes}
        self.admin = admin
        self._task: asyncio.Task[None] | None = None
        self._services: Services | None = None
        self._ticks = 0

    @property
    def configured(self) -> bool:
        return bool(self.nodes)

    def healthy(self, name: str | None) -> bool:
        return name is not None and name in self.health and self.health[name].healthy

    def any_available(self) -> bool:
        return any(health.healthy and health.accepting for health in self.health.values())

    async def check(self, node: Node) -> None:
        health = self.health[node.name]
        try:
            info = await self.admin.info(node)
        except JanusUnavailable as error:
            health.misses += 1
            health.error = str(error)[:200]
            if health.misses >= self.settings.janus_dead_after:
                if health.healthy:
                    log.warning("janus node %s stopped answering: %s", node.name, error)
                health.healthy = False
            return
        if not health.healthy:
            log.info("janus node %s is answering", node.name)
        health.healthy, health.misses, health.error = True, 0, ""
        health.accepting = bool(info.get("accepting-new-sessions", True))

    async def refresh(self) -> None:
        """Poll every node once (concurrently)."""
        await asyncio.gather(*(self.check(node) for node in self.nodes))

    async def start(self, services: Services) -> None:
        if not self.nodes:
            return
        self._services = services
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="janus-pool")

    async def _loop(self) -> None:
        assert self._services is not None
        every = max(1, int(30 / max(self.settings.janus_poll_seconds, 0.1)))
        while True:
            await asyncio.sleep(self.settings.janus_poll_seconds)
            try:
                await self.refresh()
                await relocate_rooms(self._services)
                if self._ticks % every == 0:
                    await place_upcoming(self._services)
                self._ticks += 1
            except Exception:  # the loop must outlive any one failure; logged
                log.exception("janus pool iteration failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.admin.close()


def pool_of(services: Services) -> JanusPool:
    pool = services.janus
    assert pool is not None
    return pool


# -- placement ---------------------------------------------------------------------------


async def node_loads(
    connection: AsyncConnection, pool: JanusPool, now: datetime
) -> dict[str, NodeLoad]:
    rows = await connection.execute(
        sa.select(
            virtual_rooms.c.node,
            sa.func.coalesce(sa.func.sum(virtual_rooms.c.expected), 0).label("participants"),
            sa.func.count().label("rooms"),
            # The same egress as planned_bitrate: the teacher's stream to every other one.
            sa.func.coalesce(
                sa.func.sum(
                    (virtual_rooms.c.expected - 1) * (virtual_rooms.c.bitrate + AUDIO_BITRATE)
                ),
                0,
            ).label("bitrate"),
        )
        .where(
            virtual_rooms.c.node.is_not(None),
            virtual_rooms.c.ends_at > now,
            virtual_rooms.c.ended_at.is_(None),
        )
        .group_by(virtual_rooms.c.node)
    )
    used = {row.node: row for row in rows}
    loads = {}
    for node in pool.nodes:
        health = pool.health[node.name]
        row = used.get(node.name)
        loads[node.name] = NodeLoad(
            name=node.name,
            healthy=health.healthy,
            accepting=health.accepting,
            participants=int(row.participants) if row else 0,
            bitrate=int(row.bitrate) if row else 0,
        )
    return loads


async def place_room(services: Services, room_id: int, *, from_node: str | None = None) -> str:
    """Put the room on the node with the most spare capacity and create it there.

    ``from_node`` is the node it is leaving (fail-over), or None for a first placement;
    the claim only succeeds if the room is still where the caller saw it.
    """
    pool = pool_of(services)
    tried: set[str] = set()
    while True:
        async with services.engine.begin() as connection:
            room = (
                await connection.execute(
                    sa.select(virtual_rooms).where(virtual_rooms.c.id == room_id)
                )
            ).one()
            if room.node != from_node:
                return str(room.node)  # someone else placed or moved it
            loads = await node_loads(connection, pool, services.now())
            for name in tried:
                loads.pop(name, None)
            if from_node is not None:
                loads.pop(from_node, None)
            node = choose_node(
                pool.nodes,
                loads,
                room.expected,
                planned_bitrate(room.expected, room.bitrate),
            )
            if node is None:
                raise ServiceUnavailable(NO_ROOM_FOR_CLASS if pool.any_available() else UNAVAILABLE)
            claim = virtual_rooms.update().where(virtual_rooms.c.id == room_id)
            claim = claim.where(
                virtual_rooms.c.node.is_(None)
                if from_node is None
                else virtual_rooms.c.node == from_node
            )
            claimed = await connection.execute(
                claim.values(node=node.name, placed_at=services.now())
            )
            if claimed.rowcount != 1:
                continue
        try:
            await pool.admin.create_room(
                node,
                janus_room=room.janus_room,
                description=room.title,
                bitrate=room.bitrate,
                room_secret=room_secret(services.settings.janus_token_secret, room.janus_room),
            )
        except JanusUnavailable as error:
            log.warning("could not create room %s on %s: %s", room_id, node.name, error)
            tried.add(node.name)
            async with services.engine.begin() as connection:
                await connection.execute(
                    virtual_rooms.update()
                    .where(virtual_rooms.c.id == room_id, virtual_rooms.c.node == node.name)
                    .values(node=from_node)
                )
            continue
        log.info("room %s placed on %s (was %s)", room_id, node.name, from_node)
        return node.name


async def _expected(connection: AsyncConnection, school_id: int, group_id: int) -> int:
    pupils = (
        await connection.execute(
            sa.select(sa.func.count())
            .select_from(enrolments)
            .where(
                enrolments.c.school_id == school_id,
                enrolments.c.group_id == group_id,
                enrolments.c.role == "pupil",
            )
        )
    ).scalar_one()
    return int(pupils) + 1


def new_janus_room() -> int:
    """A random id below 2**53, so the page's JavaScript reads it exactly."""
    return secrets.randbelow(2**53 - 2**20) + 2**20


async def _insert_room(
    services: Services,
    connection: AsyncConnection,
    *,
    school_id: int,
    group_id: int,
    teacher_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    lesson_id: int | None = None,
    day: date | None = None,
) -> int:
    expected = await _expected(connection, school_id, group_id)
    result = await connection.execute(
        virtual_rooms.insert().values(
            school_id=school_id,
            group_id=group_id,
            lesson_id=lesson_id,
            day=day,
            teacher_id=teacher_id,
            title=title[:200],
            starts_at=starts_at.astimezone(UTC),
            ends_at=ends_at.astimezone(UTC),
            janus_room=new_janus_room(),
            expected=expected,
            capacity=max(services.settings.janus_room_cap, 2),
            bitrate=services.settings.janus_room_bitrate,
            created_at=services.now(),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]  # one key


async def place_upcoming(services: Services, now: datetime | None = None) -> list[int]:
    """Create the rooms of virtual lessons starting within the lead time (or under way),
    then place every room due and not yet placed. Returns the rooms placed now."""
    now = now or services.now()
    lead = timedelta(minutes=services.settings.janus_lead_minutes)
    async with services.engine.begin() as connection:
        # A system query across schools: which lessons can be virtual at all.
        flagged = await connection.execute(
            sa.select(timetable_lessons.c.school_id, timetable_lessons.c.id).where(
                sa.or_(
                    timetable_lessons.c.virtual.is_(True),
                    timetable_lessons.c.id.in_(
                        sa.select(timetable_changes.c.lesson_id).where(
                            timetable_changes.c.virtual.is_(True)
                        )
                    ),
                )
            )
        )
        by_school: dict[int, list[int]] = defaultdict(list)
        for row in flagged:
            by_school[row.school_id].append(row.id)
        for school_id, lesson_ids in by_school.items():
            lessons = await load_lessons(connection, school_id, lesson_ids=lesson_ids)
            zone = await school_zone(services, school_id, connection)
            today = now.astimezone(zone).date()
            occurrences = await expand_lessons(connection, school_id, lessons, today, 2, zone=zone)
            for item in occurrences:
                if not item.virtual or item.status == "cancelled" or item.teacher_id is None:
                    continue
                if not item.starts_at - lead <= now < item.ends_at:
                    continue
                exists = await connection.execute(
                    sa.select(virtual_rooms.c.id).where(
                        virtual_rooms.c.lesson_id == item.lesson_id,
                        virtual_rooms.c.day == item.day,
                    )
                )
                if exists.first() is not None:
                    continue
                try:
                    async with connection.begin_nested():
                        await _insert_room(
                            services,
                            connection,
                            school_id=school_id,
                            group_id=item.group_id,
                            teacher_id=item.teacher_id,
                            title=f"{item.subject} — {item.group_name}",
                            starts_at=item.starts_at,
                            ends_at=item.ends_at,
                            lesson_id=item.lesson_id,
                            day=item.day,
                        )
                except IntegrityError:
                    continue  # another process created it first
        due = await connection.execute(
            sa.select(virtual_rooms.c.id).where(
                virtual_rooms.c.node.is_(None),
                virtual_rooms.c.ended_at.is_(None),
                virtual_rooms.c.starts_at <= now + lead,
                virtual_rooms.c.ends_at > now,
            )
        )
        due_ids = [row.id for row in due]
    placed: list[int] = []
    if not pool_of(services).configured:
        return placed
    for room_id in due_ids:
        try:
            await place_room(services, room_id)
            placed.append(room_id)
        except ServiceUnavailable as error:
            log.warning("room %s not placed: %s", room_id, error.message)
    return placed


async def relocate_rooms(services: Services) -> list[int]:
    """Re-create on another node every live room of a node that stopped answering."""
    pool = pool_of(services)
    dead = [node.name for node in pool.nodes if not pool.health[node.name].healthy]
    if not dead:
        return []
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(virtual_rooms.c.id, virtual_rooms.c.node).where(
                virtual_rooms.c.node.in_(dead),
                virtual_rooms.c.ends_at > services.now(),
                virtual_rooms.c.ended_at.is_(None),
            )
        )
        stranded = [(row.id, row.node) for row in rows]
    moved = []
    for room_id, node in stranded:
        try:
            await place_room(services, room_id, from_node=node)
            moved.append(room_id)
        except ServiceUnavailable as error:
            log.warning("room %s stays on dead node %s: %s", room_id, node, error.message)
    return moved


async def drain_node(services: Services, name: str, *, draining: bool) -> NodeStatus:
    """Stop (or resume) new rooms and new sessions on a node; rooms there run on."""
    pool = pool_of(services)
    node = pool.by_name.get(name)
    if node is None:
        raise NotFound(lazy("There is no video server with this name."))
    try:
        await pool.admin.set_accepting(node, accept=not draining)
    except JanusUnavailable as error:
        raise ServiceUnavailable(UNAVAILABLE) from error
    await pool.check(node)
    return next(status for status in await node_statuses(services) if status.name == name)


async def node_statuses(services: Services) -> list[NodeStatus]:
    pool = pool_of(services)
    now = services.now()
    async with services.engine.connect() as connection:
        loads = await node_loads(connection, pool, now)
        counted = await connection.execute(
            sa.select(virtual_rooms.c.node, sa.func.count().label("rooms"))
            .where(virtual_rooms.c.ends_at > now, virtual_rooms.c.node.is_not(None))
            .group_by(virtual_rooms.c.node)
        )
        counts = {str(row.node): int(row.rooms) for row in counted}
    return [
        NodeStatus(
            name=node.name,
            janus_url=node.janus_url,
            healthy=pool.health[node.name].healthy,
            accepting=pool.health[node.name].accepting,
            error=pool.health[node.name].error,
            rooms=int(counts.get(node.name, 0)),
            participants=loads[node.name].participants,
            max_participants=node.max_participants,
            bitrate=loads[node.name].bitrate,
            max_bitrate=node.max_bitrate,
        )
        for node in pool.nodes
    ]


# -- rooms for people --------------------------------------------------------------------


def _view(services: Services, room: Row, role: Role, now: datetime) -> RoomView:
    opens, closes = join_window(
        room.starts_at,
        room.ends_at,
        role=role,
        early_minutes=services.settings.janus_join_early_minutes,
        lead_minutes=services.settings.janus_lead_minutes,
    )
    return RoomView(
        id=room.id,
        title=room.title,
        group_id=room.group_id,
        group_name=room.group_name,
        starts_at=room.starts_at,
        ends_at=room.ends_at,
        node=room.node,
        role=role,
        open_from=opens,
        open_now=opens <= now < closes and room.ended_at is None,
        over=now >= closes or room.ended_at is not None,
    )


async def my_rooms(services: Services, actor: Actor) -> list[RoomView]:
    """Today's and upcoming virtual classes the actor may join (host, pupil, guest)."""
    now = services.now()
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(virtual_rooms.c.id)
            .where(
                virtual_rooms.c.school_id == actor.school_id,
                virtual_rooms.c.ends_at > now,
                virtual_rooms.c.ended_at.is_(None),
                joinable_rooms(actor),
            )
            .order_by(virtual_rooms.c.starts_at)
            .limit(50)
        )
        views = []
        for row in rows.all():
            room, role = await access_room_by_id(connection, actor, row.id)
            views.append(_view(services, room, role, now))
    return views


async def get_room(services: Services, actor: Actor, room_id: int) -> RoomView:
    async with services.engine.connect() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
    return _view(services, room, role, services.now())


async def start_unscheduled(
    services: Services, actor: Actor, group_id: int, *, title: str, minutes: int = 55
) -> RoomView:
    """A teacher opens a virtual class for a class or group they teach, now; it is
    placed at once."""
    if not 10 <= minutes <= 240:
        raise InvalidInput(BAD_MINUTES, field="minutes")
    title = " ".join(title.split())[:200]
    now = services.now()
    async with services.engine.begin() as connection:
        group = await access_group_for_virtual_class(connection, actor, group_id)
        room_id = await _insert_room(
            services,
            connection,
            school_id=actor.school_id,
            group_id=group_id,
            teacher_id=actor.person_id,
            title=title or group.name,
            starts_at=now,
            ends_at=now + timedelta(minutes=minutes),
        )
    if pool_of(services).configured:
        await place_room(services, room_id)
    return await get_room(services, actor, room_id)


async def invite(services: Services, actor: Actor, room_id: int, person_id: int) -> None:
    async with services.engine.begin() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        if role is not Role.TEACHER:
            raise Forbidden(ONLY_HOST)
        guest = (
            await connection.execute(
                sa.select(people.c.profile).where(
                    people.c.id == person_id, people.c.school_id == actor.school_id
                )
            )
        ).first()
        if guest is None or guest.profile not in {p.value for p in STAFF_PROFILES}:
            raise InvalidInput(GUEST_NOT_STAFF, field="person_id")
        try:
            async with connection.begin_nested():
                await connection.execute(
                    virtual_guests.insert().values(
                        school_id=actor.school_id, room_id=room_id, person_id=person_id
                    )
                )
        except IntegrityError:
            pass  # already invited


async def join(services: Services, actor: Actor, room_id: int) -> JoinGrant:
    """Tokens for the actor's seat in the room, which expire when the lesson ends.

    The first join of each person takes a seat; seats beyond the room's capacity are
    refused (Janus itself would let anyone with a token in). Joining again, after a
    reload or a fail-over, reuses the seat.
    """
    pool = services.janus
    if pool is None or not pool.configured:
        raise ServiceUnavailable(UNAVAILABLE)
    now = services.now()
    async with services.engine.begin() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        view = _view(services, room, role, now)
        if view.over:
            raise Conflict(ROOM_OVER)
        if not view.open_now:
            minutes = (
                services.settings.janus_lead_minutes
                if role is Role.TEACHER
                else services.settings.janus_join_early_minutes
            )
            raise Conflict(NOT_OPEN_YET, minutes=minutes)
        # Hold the room row while counting seats, so two joins cannot both take the last.
        await connection.execute(
            sa.select(virtual_rooms.c.id).where(virtual_rooms.c.id == room_id).with_for_update()
        )
        seated = (
            await connection.execute(
                sa.select(virtual_seats.c.role).where(
                    virtual_seats.c.room_id == room_id,
                    virtual_seats.c.person_id == actor.person_id,
                )
            )
        ).first()
        if seated is None:
            taken = (
                await connection.execute(
                    sa.select(sa.func.count())
                    .select_from(virtual_seats)
                    .where(virtual_seats.c.room_id == room_id)
                )
            ).scalar_one()
            if taken >= room.capacity and role is not Role.TEACHER:
                raise Conflict(ROOM_FULL)
            await connection.execute(
                virtual_seats.insert().values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    person_id=actor.person_id,
                    role=role.value,
                    issued_at=now,
                )
            )
        me = (
            await connection.execute(
                sa.select(people.c.given_name, people.c.family_name).where(
                    people.c.id == actor.person_id
                )
            )
        ).one()
    node_name = room.node
    if not pool.healthy(node_name):
        # Placed on demand: an unscheduled class, a room whose node just died, or one
        # the scheduler has not reached yet.
        node_name = await place_room(services, room_id, from_node=node_name)
    node = pool.by_name[node_name]
    secret = services.settings.janus_token_secret
    ends_at = room.ends_at
    return JoinGrant(
        room_id=room_id,
        janus_room=room.janus_room,
        janus_url=node.janus_url,
        node=node.name,
        core_token=core_token(secret, ends_at),
        room_token=room_token(secret, ends_at, room.janus_room),
        role=role,
        display=f"{role.value}:{actor.person_id}:{me.given_name} {me.family_name}"[:100],
        expires_at=ends_at,
        title=room.title,
    )


# -- hands and the floor -----------------------------------------------------------------


def _hand_key(room_id: int, person_id: int) -> str:
    return f"virtual:hand:{room_id}:{person_id}"


def _floor_key(room_id: int, person_id: int) -> str:
    return f"virtual:floor:{room_id}:{person_id}"


async def raise_hand(services: Services, actor: Actor, room_id: int, *, raised: bool) -> Floor:
    async with services.engine.connect() as connection:
        await access_room_by_id(connection, actor, room_id)
    if raised:
        await services.state.set(_hand_key(room_id, actor.person_id), b"1", ttl_seconds=SPEAK_MARKS)
    else:
        await services.state.delete(_hand_key(room_id, actor.person_id))
    return await floor(services, actor, room_id)


async def floor(services: Services, actor: Actor, room_id: int) -> Floor:
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
    hand = await services.state.get(_hand_key(room_id, actor.person_id))
    allowed = await services.state.get(_floor_key(room_id, actor.person_id))
    return Floor(
        hand_raised=hand is not None,
        may_speak=role is not Role.PUPIL or allowed is not None,
    )


async def give_floor(
    services: Services, actor: Actor, room_id: int, person_id: int, *, allowed: bool
) -> None:
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
    if role is not Role.TEACHER:
        raise Forbidden(ONLY_HOST)
    if allowed:
        await services.state.set(_floor_key(room_id, person_id), b"1", ttl_seconds=SPEAK_MARKS)
        await services.state.delete(_hand_key(room_id, person_id))
    else:
        await services.state.delete(_floor_key(room_id, person_id))


async def participants(services: Services, actor: Actor, room_id: int) -> list[Participant]:
    """Who was given a seat, who is in the room now (as Janus sees it), hands and floor."""
    pool = services.janus
    async with services.engine.connect() as connection:
        room, role = await access_room_by_id(connection, actor, room_id)
        if role is not Role.TEACHER:
            raise Forbidden(ONLY_HOST)
        rows = (
            await connection.execute(
                sa.select(
                    virtual_seats.c.person_id,
                    virtual_seats.c.role,
                    people.c.given_name,
                    people.c.family_name,
                )
                .join(people, people.c.id == virtual_seats.c.person_id)
                .where(virtual_seats.c.room_id == room_id)
                .order_by(people.c.family_name, people.c.given_name)
            )
        ).all()
    present: set[int] = set()
    if pool is not None and pool.healthy(room.node):
        try:
            for item in await pool.admin.participants(pool.by_name[room.node], room.janus_room):
                parts = str(item.get("display", "")).split(":", 2)
                if len(parts) == 3 and parts[1].isdigit():
                    present.add(int(parts[1]))
        except JanusUnavailable:
            pass
    found: list[Participant] = []
    for row in rows:
        found.append(  # noqa: PERF401  # awaits inside: a comprehension would hide them
            Participant(
                person_id=row.person_id,
                name=f"{row.given_name} {row.family_name}",
                role=row.role,
                present=row.person_id in present,
                hand_raised=await services.state.get(_hand_key(room_id, row.person_id)) is not None,
                may_speak=row.role != Role.PUPIL.value
                or await services.state.get(_floor_key(room_id, row.person_id)) is not None,
            )
        )
    return found
