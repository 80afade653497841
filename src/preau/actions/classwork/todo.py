"""The pupil's to-do, the hottest read in Préau: a per-process cache kept coherent by
the read versions of :mod:`preau.actions.warm` (DESIGN.md §5).

Every classwork write bumps the versions of its scopes ("group:<id>" for homework,
"pupil:<id>" for a pupil's hand-ins, ticks and extensions) and announces them after the
commit. Each process keeps the pupil's groups (for ``MEMBERSHIP_SECONDS``) and an LRU of
built to-dos keyed by ``(school, pupil, groups, versions)``. A warm read is a few dict
look-ups and no database query. A to-do also expires at the next publish time of its
items, or right after their next due or cut-off time, since those change it without any
write.

:class:`HomeworkCache` keeps a pupil's own view of one homework under the same key.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.actions.warm import Entries, ReadVersions, content_etag, read_versions_of
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    hand_ins,
    homework,
    homework_attachments,
    homework_done,
    homework_extensions,
    homework_targets,
    schools,
)
from preau.domain.classwork import (
    HandInState,
    HandInView,
    HomeworkView,
    Todo,
    TodoSource,
    build_todo,
    own_view_changes_at,
)
from preau.domain.zones import zone_named

MEMBERSHIP_SECONDS = 60.0  # enrolment changes reach the cached to-do within this time
MAX_LIFETIME = timedelta(hours=6)  # even a to-do with no upcoming time is rebuilt now and then


def group_scope(group_id: int) -> str:
    return f"group:{group_id}"


def pupil_scope(pupil_id: int) -> str:
    return f"pupil:{pupil_id}"


class CachedTodo:
    """A built to-do and its rendered forms (JSON, pages per locale)."""

    __slots__ = ("etag", "json", "parts", "quoted_etag", "todo", "valid_until", "zone")

    def __init__(self, todo: Todo, *, valid_until: float, zone: ZoneInfo) -> None:
        self.todo = todo
        self.json = msgspec.json.encode(todo)
        # From the content alone: a to-do rebuilt unchanged (its pupil's groups are read
        # again every minute; a write elsewhere moved a version) keeps its ETag, so the
        # browser's copy still revalidates with a 304.
        etag = content_etag(self.json)
        self.etag = etag
        self.quoted_etag = b'"%s"' % etag.encode()  # as the ETag header carries it
        self.valid_until = valid_until
        self.zone = zone
        self.parts: dict[tuple[str, str], bytes] = {}


class Membership:
    __slots__ = ("expires", "group_ids", "scopes", "zone")

    def __init__(
        self, group_ids: tuple[int, ...], scopes: tuple[tuple[int, str], ...], zone: ZoneInfo,
        expires: float,
    ) -> None:  # fmt: skip
        self.group_ids = group_ids
        self.scopes = scopes
        self.zone = zone
        self.expires = expires


class TodoCache:
    def __init__(
        self, *, engine: AsyncEngine, versions: ReadVersions, max_entries: int = 50_000
    ) -> None:
        self.engine = engine
        self.registry = versions
        self.max_entries = max_entries
        # The registry's own dicts (it only ever updates them in place), one look-up away.
        self.versions = versions.versions
        self.changes = versions.changes
        self.memberships: dict[tuple[int, int], Membership] = {}
        self.entries: Entries[tuple[object, ...], CachedTodo] = Entries(max_entries)
        # The shortest warm path: (school, pupil) -> (entry, its key, the school's change
        # count when it was found, until when it holds). Any new version in the school
        # makes it look again through the versions.
        self._found: dict[tuple[int, int], tuple[CachedTodo, tuple[object, ...], int, float]] = {}

    # -- the warm path: no I/O -----------------------------------------------------------

    def current_key(self, school_id: int, pupil_id: int, now: float) -> tuple[object, ...] | None:
        """The pupil's to-do key ``(school, pupil, groups, versions)`` as this process knows
        it, or None once their groups are no longer known. Other caches that follow the
        to-do (:class:`HomeworkCache`) are served only while their key is this one."""
        membership = self.memberships.get((school_id, pupil_id))
        if membership is None or membership.expires <= now:
            return None
        versions = self.versions
        try:
            counted = tuple([versions[scope] for scope in membership.scopes])
        except KeyError:
            return None
        return (school_id, pupil_id, membership.group_ids, counted)

    def lookup(self, school_id: int, pupil_id: int, now: float) -> CachedTodo | None:
        found = self._found.get((school_id, pupil_id))
        if found is not None and found[2] == self.changes.get(school_id, 0) and now < found[3]:
            self.entries.move_to_end(found[1])
            return found[0]
        key = self.current_key(school_id, pupil_id, now)
        if key is None:
            return None
        entry = self.entries.fresh(key, now)
        if entry is None:
            return None
        membership = self.memberships[(school_id, pupil_id)]
        if len(self._found) >= self.max_entries:
            self._found.clear()
        self._found[(school_id, pupil_id)] = (
            entry,
            key,
            self.changes.get(school_id, 0),
            min(entry.valid_until, membership.expires),
        )
        return entry

    # -- the cold path -------------------------------------------------------------------

    async def todo(self, school_id: int, pupil_id: int, *, now: float) -> CachedTodo:
        """The pupil's to-do, from the cache or built with a fixed number of queries."""
        entry = self.lookup(school_id, pupil_id, now)
        if entry is not None:
            return entry
        moment = datetime.fromtimestamp(now, UTC)
        async with self.engine.connect() as connection:
            # 1. and 2. the pupil's groups, the school's zone, then the versions
            groups = await _membership(connection, school_id, pupil_id)
            # 3. the homework of those groups with this pupil's hand-in, tick and extension
            sources = await _todo_sources(connection, school_id, pupil_id, groups.group_ids, moment)
        todo, boundary = build_todo(pupil_id, sources, now=moment, zone=groups.zone)
        # The first instant it may look different, always after `moment`: the entry is
        # good strictly before it (`lookup` drops it once `valid_until <= now`).
        valid_until = min(boundary or moment + MAX_LIFETIME, moment + MAX_LIFETIME).timestamp()
        entry = CachedTodo(todo, valid_until=valid_until, zone=groups.zone)
        key = self._remember(school_id, pupil_id, groups, now=now)
        for evicted in self.entries.keep(key, entry):
            self._found.pop((evicted[0], evicted[1]), None)  # type: ignore[arg-type]  # the evicted key is a (school, pupil) pair whatever mypy infers
        return entry

    async def key_for_reading(
        self, school_id: int, pupil_id: int, *, now: float
    ) -> tuple[tuple[object, ...], ZoneInfo]:
        """The pupil's current to-do key and the school's zone, for a cold read about to
        load data under that key: from memory while their groups are known, else read
        (2 queries). Either way the versions are taken before the data they cover, so an
        entry is never kept under a key newer than its data."""
        key = self.current_key(school_id, pupil_id, now)
        if key is None:
            async with self.engine.connect() as connection:
                groups = await _membership(connection, school_id, pupil_id)
            key = self._remember(school_id, pupil_id, groups, now=now)
        return key, self.memberships[(school_id, pupil_id)].zone

    def _remember(
        self, school_id: int, pupil_id: int, groups: PupilGroups, *, now: float
    ) -> tuple[object, ...]:
        """Keep what was just read of the pupil's groups and their versions; returns the
        to-do key they make."""
        self.registry.apply(school_id, dict(zip(groups.scopes, groups.read, strict=True)))
        self._found.pop((school_id, pupil_id), None)
        keys = tuple((school_id, scope) for scope in groups.scopes)
        self.memberships[(school_id, pupil_id)] = Membership(
            groups.group_ids, keys, groups.zone, now + MEMBERSHIP_SECONDS
        )
        return (school_id, pupil_id, groups.group_ids, groups.read)


class CachedHomework:
    """A pupil's own view of one homework (the homework as they see it, their hand-in) and
    its pages per locale, with placeholders for the reader's CSRF token and the turn-in
    form's idempotency key (filled by the web layer)."""

    __slots__ = ("hand_in", "key", "pages", "valid_until", "work", "zone")

    def __init__(
        self, work: HomeworkView, hand_in: HandInView, *, key: tuple[object, ...],
        valid_until: float, zone: ZoneInfo,
    ) -> None:  # fmt: skip
        self.work = work
        self.hand_in = hand_in
        self.key = key
        self.valid_until = valid_until
        self.zone = zone
        self.pages: dict[str, bytes] = {}


class HomeworkCache:
    """Pupils' own views of one homework, per process (LRU). An entry is served only while
    the pupil's to-do key (:meth:`TodoCache.current_key`) is the one it was loaded under (same
    groups, same versions of the pupil's and groups' scopes), so every write that moves
    the to-do on moves this on too; and only until its due time or cut-off passes."""

    # About 5 KB an entry (a short homework, its hand-in, the page in one locale).
    def __init__(self, todos: TodoCache, *, max_entries: int = 10_000) -> None:
        self.todos = todos
        self.max_entries = max_entries
        self.entries: Entries[tuple[int, int, int], CachedHomework] = Entries(max_entries)

    def lookup(
        self, school_id: int, pupil_id: int, homework_id: int, now: float
    ) -> CachedHomework | None:
        entry = self.entries.fresh((school_id, pupil_id, homework_id), now)
        if entry is None or entry.key != self.todos.current_key(school_id, pupil_id, now):
            return None
        return entry

    def keep(
        self,
        school_id: int,
        key: tuple[object, ...],
        work: HomeworkView,
        hand_in: HandInView,
        *,
        zone: ZoneInfo,
        now: float,
    ) -> CachedHomework:
        """An entry for what a cold read loaded under ``key`` (taken before the data); kept
        only when the homework's group is one of the pupil's groups, whose version covers
        it (work set for chosen pupils stays visible to one who has left the group)."""
        moment = datetime.fromtimestamp(now, UTC)
        change = own_view_changes_at(hand_in, now=moment) or moment + MAX_LIFETIME
        # Good through that instant itself (late and closed begin once it has passed).
        valid_until = math.nextafter(min(change, moment + MAX_LIFETIME).timestamp(), math.inf)
        entry = CachedHomework(work, hand_in, key=key, valid_until=valid_until, zone=zone)
        group_ids = key[2]
        if isinstance(group_ids, tuple) and work.group_id in group_ids:
            self.entries.keep((school_id, hand_in.pupil_id, work.id), entry)
        return entry


class PupilGroups(NamedTuple):
    group_ids: tuple[int, ...]
    scopes: list[str]  # the pupil's scope, then each group's
    read: tuple[int, ...]  # their versions, in the same order
    zone: ZoneInfo


async def _membership(connection: AsyncConnection, school_id: int, pupil_id: int) -> PupilGroups:
    """Two queries: the pupil's groups and the school's zone, then the versions of the
    pupil's and groups' scopes (read before any data they cover)."""
    rows = (
        await connection.execute(
            sa.select(schools.c.timezone, enrolments.c.group_id)
            .select_from(schools)
            .outerjoin(
                enrolments,
                sa.and_(
                    enrolments.c.school_id == schools.c.id,
                    enrolments.c.person_id == pupil_id,
                    enrolments.c.role == "pupil",
                ),
            )
            .where(schools.c.id == school_id)
        )
    ).all()
    zone = zone_named(rows[0].timezone if rows else None)
    group_ids = tuple(sorted({row.group_id for row in rows if row.group_id is not None}))
    scopes = [pupil_scope(pupil_id), *(group_scope(g) for g in group_ids)]
    known = await read_versions_of(connection, school_id, scopes)
    return PupilGroups(group_ids, scopes, tuple(known[scope] for scope in scopes), zone)


async def _todo_sources(
    connection: AsyncConnection,
    school_id: int,
    pupil_id: int,
    group_ids: tuple[int, ...],
    now: datetime,
) -> list[TodoSource]:
    if not group_ids:
        return []
    horizon = now - timedelta(days=45)  # extensions can reach past the to-do's 30 days
    attachment_count = (
        sa.select(sa.func.count())
        .select_from(homework_attachments)
        .where(
            homework_attachments.c.school_id == school_id,
            homework_attachments.c.homework_id == homework.c.id,
        )
        .scalar_subquery()
    )
    joined = (
        homework.join(groups, groups.c.id == homework.c.group_id)
        .outerjoin(
            homework_targets,
            sa.and_(
                homework_targets.c.homework_id == homework.c.id,
                homework_targets.c.pupil_id == pupil_id,
            ),
        )
        .outerjoin(
            hand_ins,
            sa.and_(hand_ins.c.homework_id == homework.c.id, hand_ins.c.pupil_id == pupil_id),
        )
        .outerjoin(
            homework_done,
            sa.and_(
                homework_done.c.homework_id == homework.c.id, homework_done.c.pupil_id == pupil_id
            ),
        )
        .outerjoin(
            homework_extensions,
            sa.and_(
                homework_extensions.c.homework_id == homework.c.id,
                homework_extensions.c.pupil_id == pupil_id,
            ),
        )
    )
    rows = await connection.execute(
        sa.select(
            homework.c.id,
            homework.c.title,
            groups.c.name.label("group_name"),
            sa.func.coalesce(homework.c.subject, groups.c.subject).label("subject"),
            homework.c.publish_at,
            homework.c.due_at,
            homework.c.cutoff_at,
            homework.c.estimated_minutes,
            homework.c.hand_in_expected,
            homework.c.revision,
            attachment_count.label("attachment_count"),
            hand_ins.c.state,
            hand_ins.c.late,
            hand_ins.c.mark,
            hand_ins.c.mark_out_of,
            homework_done.c.done_at,
            homework_extensions.c.due_at.label("extension_due"),
            homework_extensions.c.cutoff_at.label("extension_cutoff"),
        )
        .select_from(joined)
        .where(
            homework.c.school_id == school_id,
            homework.c.group_id.in_(group_ids),
            homework.c.deleted_at.is_(None),
            sa.or_(homework.c.due_at >= horizon, homework_extensions.c.due_at >= horizon),
            sa.or_(homework.c.chosen_pupils.is_(False), homework_targets.c.pupil_id.is_not(None)),
        )
    )
    return [
        TodoSource(
            homework_id=row.id,
            title=row.title,
            group_name=row.group_name,
            subject=row.subject,
            publish_at=row.publish_at,
            due_at=row.due_at,
            cutoff_at=row.cutoff_at,
            estimated_minutes=row.estimated_minutes,
            hand_in_expected=row.hand_in_expected,
            revision=row.revision,
            attachment_count=row.attachment_count,
            state=HandInState(row.state or HandInState.ASSIGNED),
            handed_in_late=bool(row.late),
            done=row.done_at is not None,
            mark=row.mark,
            mark_out_of=row.mark_out_of,
            extension_due=row.extension_due,
            extension_cutoff=row.extension_cutoff,
        )
        for row in rows
    ]
