"""Classwork (cahier de textes): teachers set homework, pupils hand in, teachers return.

Each action is one transaction. Every write bumps the read versions of what it changes
(``group:<id>`` for homework, ``pupil:<id>`` for one pupil's work) in that transaction,
and announces them after the commit so every process's cached to-do moves on.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_group_by_id,
    access_group_for_teaching,
    access_hand_in_by_id,
    access_hand_ins_by_homework_id,
    access_homework_by_id,
    access_person_by_id,
)
from preau.actions.classwork_files import (
    StoredFile,
    Upload,
    file_view,
    own_files,
    record_files,
    stored_uploads,
)
from preau.actions.classwork_todo import (
    CachedHomework,
    CachedTodo,
    bump_versions,
    group_scope,
    pupil_scope,
)
from preau.actions.context import Services
from preau.actions.marks import mark_from_hand_in
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    enrolments,
    files,
    groups,
    hand_in_events,
    hand_in_files,
    hand_ins,
    homework,
    homework_attachments,
    homework_done,
    homework_extensions,
    homework_revisions,
    homework_targets,
    idempotency_keys,
    people,
)
from preau.domain.access import Action
from preau.domain.classwork import (
    HOMEWORK_NOT_FOUND,
    MAX_ATTACHMENTS,
    MAX_HAND_IN_TEXT,
    NO_HAND_IN,
    CheckedHomework,
    ExtensionDraft,
    FileView,
    HandInAction,
    HandInEvent,
    HandInRight,
    HandInState,
    HandInView,
    HomeworkChanges,
    HomeworkCopy,
    HomeworkDraft,
    HomeworkSummary,
    HomeworkView,
    InstructionsFormat,
    Review,
    TeacherWeek,
    TurnIn,
    check_hand_in_open,
    check_homework,
    check_idempotency_key,
    check_long_text,
    check_review,
    effective_deadlines,
    in_utc,
    is_late,
    next_state,
    render_instructions,
    week_start,
)
from preau.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.i18n import lazy

Row = sa.Row[Any]

NOTHING_TO_TURN_IN = lazy("Write something or add a file before turning in.")
KEY_REUSED = lazy("This idempotency key was already used for another request.")
TOO_MANY_FILES = lazy("At most 20 files can be attached.")
CHOOSE_PUPILS = lazy("Choose at least one pupil, or set the work for the whole class.")
NOT_IN_GROUP = lazy("Some of the chosen pupils are not in this class or group.")
TAKE_BACK_CLOSED = lazy("The cut-off time has passed: work turned in can no longer be taken back.")
DONE_NEEDS_NO_HAND_IN = lazy(
    "This homework expects a hand-in: turn your work in instead of ticking it."
)
ONLY_PUPILS = lazy("Only pupils have a to-do list.")
LIST_NEEDS_GROUP = lazy("Choose a class or group to see its homework.")


# -- reading helpers ---------------------------------------------------------------------


def _name(row: Any) -> str:
    return f"{row.given_name} {row.family_name}"


async def _attachments(
    connection: AsyncConnection, school_id: int, homework_ids: list[int]
) -> dict[int, list[FileView]]:
    found: dict[int, list[FileView]] = {homework_id: [] for homework_id in homework_ids}
    if not homework_ids:
        return found
    rows = await connection.execute(
        sa.select(homework_attachments.c.homework_id, files)
        .join(files, files.c.id == homework_attachments.c.file_id)
        .where(
            homework_attachments.c.school_id == school_id,
            homework_attachments.c.homework_id.in_(homework_ids),
        )
        .order_by(homework_attachments.c.position, files.c.name)
    )
    for row in rows:
        found[row.homework_id].append(file_view(row))
    return found


async def _homework_view(connection: AsyncConnection, work: Row, *, now: datetime) -> HomeworkView:
    mapping = work._mapping
    names = (
        await connection.execute(
            sa.select(groups.c.name, people.c.given_name, people.c.family_name)
            .select_from(groups)
            .join(people, people.c.id == mapping["author_id"])
            .where(groups.c.id == mapping["group_id"], groups.c.school_id == mapping["school_id"])
        )
    ).one()
    pupil_ids = None
    if mapping["chosen_pupils"]:
        pupil_ids = sorted(
            (
                await connection.execute(
                    sa.select(homework_targets.c.pupil_id).where(
                        homework_targets.c.school_id == mapping["school_id"],
                        homework_targets.c.homework_id == mapping["id"],
                    )
                )
            ).scalars()
        )
    attachments = await _attachments(connection, mapping["school_id"], [mapping["id"]])
    publish_at = mapping["publish_at"]
    return HomeworkView(
        id=mapping["id"],
        group_id=mapping["group_id"],
        group_name=names.name,
        author_id=mapping["author_id"],
        author_name=_name(names),
        title=mapping["title"],
        instructions=mapping["instructions"],
        instructions_format=InstructionsFormat(mapping["instructions_format"]),
        instructions_html=render_instructions(
            mapping["instructions"], InstructionsFormat(mapping["instructions_format"])
        ),
        publish_at=publish_at,
        due_at=mapping["due_at"],
        cutoff_at=mapping["cutoff_at"],
        estimated_minutes=mapping["estimated_minutes"],
        hand_in_expected=mapping["hand_in_expected"],
        pupil_ids=pupil_ids,
        attachments=attachments[mapping["id"]],
        revision=mapping["revision"],
        changed=mapping["revision"] > 1,
        published=publish_at <= now,
        updated_at=mapping["updated_at"],
    )


def _snapshot(checked: CheckedHomework, attachment_ids: list[str]) -> dict[str, object]:
    return {
        "title": checked.title,
        "instructions": checked.instructions,
        "instructions_format": checked.instructions_format.value,
        "publish_at": checked.publish_at.isoformat(),
        "due_at": checked.due_at.isoformat(),
        "cutoff_at": checked.cutoff_at.isoformat() if checked.cutoff_at else None,
        "estimated_minutes": checked.estimated_minutes,
        "hand_in_expected": checked.hand_in_expected,
        "attachment_ids": attachment_ids,
    }


def _checked_from_row(work: Row) -> CheckedHomework:
    mapping = work._mapping
    return CheckedHomework(
        title=mapping["title"],
        instructions=mapping["instructions"],
        instructions_format=InstructionsFormat(mapping["instructions_format"]),
        publish_at=mapping["publish_at"],
        due_at=mapping["due_at"],
        cutoff_at=mapping["cutoff_at"],
        estimated_minutes=mapping["estimated_minutes"],
        hand_in_expected=mapping["hand_in_expected"],
    )


async def _check_targets(
    connection: AsyncConnection, school_id: int, group_id: int, pupil_ids: list[int] | None
) -> list[int] | None:
    if pupil_ids is None:
        return None
    wanted = set(pupil_ids)
    if not wanted:
        raise InvalidInput(CHOOSE_PUPILS, field="pupil_ids")
    enrolled = set(
        (
            await connection.execute(
                sa.select(enrolments.c.person_id).where(
                    enrolments.c.school_id == school_id,
                    enrolments.c.group_id == group_id,
                    enrolments.c.role == "pupil",
                    enrolments.c.person_id.in_(wanted),
                )
            )
        ).scalars()
    )
    if enrolled != wanted:
        raise InvalidInput(NOT_IN_GROUP, field="pupil_ids")
    return sorted(wanted)


async def _attach(
    connection: AsyncConnection,
    services: Services,
    actor: Actor,
    homework_id: int,
    file_ids: list[str],
    *,
    replace: bool,
) -> list[str]:
    rows = await own_files(connection, services, actor, file_ids)
    if replace:
        await connection.execute(
            homework_attachments.delete().where(
                homework_attachments.c.school_id == actor.school_id,
                homework_attachments.c.homework_id == homework_id,
            )
        )
    existing = set(
        (
            await connection.execute(
                sa.select(homework_attachments.c.file_id).where(
                    homework_attachments.c.school_id == actor.school_id,
                    homework_attachments.c.homework_id == homework_id,
                )
            )
        ).scalars()
    )
    new = [str(row.id) for row in rows if row.id not in existing]
    if len(existing) + len(new) > MAX_ATTACHMENTS:
        raise InvalidInput(TOO_MANY_FILES, field="attachment_ids")
    if new:
        await connection.execute(
            homework_attachments.insert(),
            [
                {
                    "school_id": actor.school_id,
                    "homework_id": homework_id,
                    "file_id": file_id,
                    "position": len(existing) + index,
                }
                for index, file_id in enumerate(new)
            ],
        )
    return sorted(existing | set(new))


# -- homework: set, edit, delete, copy ----------------------------------------------------


async def create_homework(
    services: Services, actor: Actor, draft: HomeworkDraft, uploads: list[Upload] | None = None
) -> HomeworkView:
    now = services.now()
    async with (
        stored_uploads(services, actor, uploads or []) as stored,
        services.engine.begin() as connection,
    ):
        group = await access_group_for_teaching(connection, actor, draft.group_id)
        zone = await school_zone(services, actor.school_id, connection)
        checked = check_homework(
            title=draft.title,
            instructions=draft.instructions,
            instructions_format=draft.instructions_format,
            publish_at=draft.publish_at,
            due_at=draft.due_at,
            cutoff_at=draft.cutoff_at,
            estimated_minutes=draft.estimated_minutes,
            hand_in_expected=draft.hand_in_expected,
            now=now,
            zone=zone,
        )
        targets = await _check_targets(connection, actor.school_id, group.id, draft.pupil_ids)
        homework_id = await _insert_homework(connection, actor, group.id, checked, targets, now=now)
        await record_files(connection, services, actor, stored)
        attached = await _attach(
            connection,
            services,
            actor,
            homework_id,
            [*draft.attachment_ids, *(item.id for item in stored)],
            replace=False,
        )
        view, versions = await _first_revision(
            connection,
            actor,
            homework_id,
            group_id=group.id,
            checked=checked,
            attachment_ids=attached,
            now=now,
        )
    await services.todo_cache.announce(actor.school_id, versions)
    return view


async def _insert_homework(
    connection: AsyncConnection,
    actor: Actor,
    group_id: int,
    checked: CheckedHomework,
    targets: list[int] | None,
    *,
    now: datetime,
) -> int:
    result = await connection.execute(
        homework.insert().values(
            school_id=actor.school_id,
            group_id=group_id,
            author_id=actor.person_id,
            title=checked.title,
            instructions=checked.instructions,
            instructions_format=checked.instructions_format.value,
            publish_at=checked.publish_at,
            due_at=checked.due_at,
            cutoff_at=checked.cutoff_at,
            estimated_minutes=checked.estimated_minutes,
            hand_in_expected=checked.hand_in_expected,
            chosen_pupils=targets is not None,
            revision=1,
            created_at=now,
            updated_at=now,
        )
    )
    homework_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    if targets:
        await connection.execute(
            homework_targets.insert(),
            [
                {"school_id": actor.school_id, "homework_id": homework_id, "pupil_id": pupil}
                for pupil in targets
            ],
        )
    return homework_id


async def _first_revision(
    connection: AsyncConnection,
    actor: Actor,
    homework_id: int,
    *,
    group_id: int,
    checked: CheckedHomework,
    attachment_ids: list[str],
    now: datetime,
) -> tuple[HomeworkView, dict[str, int]]:
    """A new homework item (set or copied): its first revision, the group's to-do version
    bumped in the same transaction, and its view. Announce the versions after commit."""
    await _revision(
        connection,
        actor,
        homework_id,
        revision=1,
        change="created",
        checked=checked,
        attachment_ids=attachment_ids,
        now=now,
    )
    versions = await bump_versions(connection, actor.school_id, [group_scope(group_id)], now=now)
    return await _view_by_id(connection, actor, homework_id, now=now), versions


async def _revision(
    connection: AsyncConnection,
    actor: Actor,
    homework_id: int,
    *,
    revision: int,
    change: str,
    checked: CheckedHomework,
    attachment_ids: list[str],
    now: datetime,
) -> None:
    await connection.execute(
        homework_revisions.insert().values(
            school_id=actor.school_id,
            homework_id=homework_id,
            revision=revision,
            change=change,
            editor_id=actor.person_id,
            changed_at=now,
            snapshot=_snapshot(checked, attachment_ids),
        )
    )


async def _view_by_id(
    connection: AsyncConnection, actor: Actor, homework_id: int, *, now: datetime
) -> HomeworkView:
    work = await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
    return await _homework_view(connection, work, now=now)


async def update_homework(
    services: Services,
    actor: Actor,
    homework_id: int,
    changes: HomeworkChanges,
    uploads: list[Upload] | None = None,
) -> HomeworkView:
    now = services.now()
    async with (
        stored_uploads(services, actor, uploads or []) as stored,
        services.engine.begin() as connection,
    ):
        work = await access_homework_by_id(connection, actor, homework_id, Action.CHANGE, now=now)
        zone = await school_zone(services, actor.school_id, connection)
        current = _checked_from_row(work)
        cutoff = None if changes.clear_cutoff else (changes.cutoff_at or current.cutoff_at)
        checked = check_homework(
            title=changes.title if changes.title is not None else current.title,
            instructions=(
                changes.instructions if changes.instructions is not None else current.instructions
            ),
            instructions_format=changes.instructions_format or current.instructions_format,
            publish_at=changes.publish_at or current.publish_at,
            due_at=changes.due_at or current.due_at,
            cutoff_at=cutoff,
            estimated_minutes=(
                changes.estimated_minutes
                if changes.estimated_minutes is not None
                else current.estimated_minutes
            ),
            hand_in_expected=(
                changes.hand_in_expected
                if changes.hand_in_expected is not None
                else current.hand_in_expected
            ),
            now=now,
            zone=zone,
        )
        revision = int(work.revision) + 1
        await connection.execute(
            homework.update()
            .where(homework.c.school_id == actor.school_id, homework.c.id == homework_id)
            .values(
                title=checked.title,
                instructions=checked.instructions,
                instructions_format=checked.instructions_format.value,
                publish_at=checked.publish_at,
                due_at=checked.due_at,
                cutoff_at=checked.cutoff_at,
                estimated_minutes=checked.estimated_minutes,
                hand_in_expected=checked.hand_in_expected,
                revision=revision,
                updated_at=now,
            )
        )
        await record_files(connection, services, actor, stored)
        new_ids = [item.id for item in stored]
        if changes.attachment_ids is not None:
            attached = await _attach(
                connection,
                services,
                actor,
                homework_id,
                [*changes.attachment_ids, *new_ids],
                replace=True,
            )
        else:
            attached = await _attach(
                connection, services, actor, homework_id, new_ids, replace=False
            )
        await _revision(
            connection,
            actor,
            homework_id,
            revision=revision,
            change="edited",
            checked=checked,
            attachment_ids=attached,
            now=now,
        )
        versions = await bump_versions(
            connection, actor.school_id, [group_scope(work.group_id)], now=now
        )
        view = await _view_by_id(connection, actor, homework_id, now=now)
    await services.todo_cache.announce(actor.school_id, versions)
    return view


async def delete_homework(services: Services, actor: Actor, homework_id: int) -> None:
    now = services.now()
    async with services.engine.begin() as connection:
        work = await access_homework_by_id(connection, actor, homework_id, Action.CHANGE, now=now)
        revision = int(work.revision) + 1
        await connection.execute(
            homework.update()
            .where(homework.c.school_id == actor.school_id, homework.c.id == homework_id)
            .values(deleted_at=now, updated_at=now, revision=revision)
        )
        await _revision(
            connection,
            actor,
            homework_id,
            revision=revision,
            change="deleted",
            checked=_checked_from_row(work),
            attachment_ids=[],
            now=now,
        )
        versions = await bump_versions(
            connection, actor.school_id, [group_scope(work.group_id)], now=now
        )
    await services.todo_cache.announce(actor.school_id, versions)


async def copy_homework(
    services: Services, actor: Actor, homework_id: int, copy: HomeworkCopy
) -> HomeworkView:
    now = services.now()
    async with services.engine.begin() as connection:
        source = await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        if actor.profile not in STAFF_PROFILES:
            raise Forbidden("Only a teacher of this class or group can do this.")
        group = await access_group_for_teaching(connection, actor, copy.group_id)
        zone = await school_zone(services, actor.school_id, connection)
        current = _checked_from_row(source)
        checked = check_homework(
            title=current.title,
            instructions=current.instructions,
            instructions_format=current.instructions_format,
            publish_at=copy.publish_at or max(current.publish_at, now),
            due_at=copy.due_at or current.due_at,
            cutoff_at=copy.cutoff_at or current.cutoff_at,
            estimated_minutes=current.estimated_minutes,
            hand_in_expected=current.hand_in_expected,
            now=now,
            zone=zone,
        )
        new_id = await _insert_homework(connection, actor, group.id, checked, None, now=now)
        attachment_ids = [
            str(file_id)
            for file_id in (
                await connection.execute(
                    sa.select(homework_attachments.c.file_id)
                    .where(
                        homework_attachments.c.school_id == actor.school_id,
                        homework_attachments.c.homework_id == homework_id,
                    )
                    .order_by(homework_attachments.c.position)
                )
            ).scalars()
        ]
        if attachment_ids:
            await connection.execute(
                homework_attachments.insert(),
                [
                    {
                        "school_id": actor.school_id,
                        "homework_id": new_id,
                        "file_id": file_id,
                        "position": index,
                    }
                    for index, file_id in enumerate(attachment_ids)
                ],
            )
        view, versions = await _first_revision(
            connection,
            actor,
            new_id,
            group_id=group.id,
            checked=checked,
            attachment_ids=attachment_ids,
            now=now,
        )
    await services.todo_cache.announce(actor.school_id, versions)
    return view


class RevisionView(msgspec.Struct, kw_only=True):
    revision: int
    change: str
    editor_id: int
    changed_at: datetime
    snapshot: dict[str, Any]


async def homework_revisions_of(
    services: Services, actor: Actor, homework_id: int
) -> list[RevisionView]:
    now = services.now()
    async with services.engine.connect() as connection:
        await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        rows = await connection.execute(
            sa.select(homework_revisions)
            .where(
                homework_revisions.c.school_id == actor.school_id,
                homework_revisions.c.homework_id == homework_id,
            )
            .order_by(homework_revisions.c.revision)
        )
        return [
            RevisionView(
                revision=row.revision,
                change=row.change,
                editor_id=row.editor_id,
                changed_at=row.changed_at,
                snapshot=row.snapshot,
            )
            for row in rows
        ]


async def get_homework(services: Services, actor: Actor, homework_id: int) -> HomeworkView:
    now = services.now()
    async with services.engine.connect() as connection:
        return await _view_by_id(connection, actor, homework_id, now=now)


async def teachable_groups(services: Services, actor: Actor) -> list[Any]:
    """The classes and groups the actor teaches (to set homework for)."""
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(groups.c.id, groups.c.name, groups.c.subject)
            .join(enrolments, enrolments.c.group_id == groups.c.id)
            .where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.person_id == actor.person_id,
                enrolments.c.role == "teacher",
                groups.c.active.is_(True),
            )
            .order_by(groups.c.name)
        )
        return list(rows.all())


async def group_pupils(services: Services, actor: Actor, group_id: int) -> list[Row]:
    async with services.engine.connect() as connection:
        await access_group_for_teaching(connection, actor, group_id)
        return list(
            await connection.execute(
                sa.select(people.c.id, people.c.given_name, people.c.family_name)
                .join(enrolments, enrolments.c.person_id == people.c.id)
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == group_id,
                    enrolments.c.role == "pupil",
                )
                .order_by(people.c.family_name, people.c.given_name)
            )
        )


async def teacher_homework(
    services: Services,
    actor: Actor,
    *,
    group_id: int | None = None,
    week_of: datetime | None = None,
) -> list[TeacherWeek]:
    """Homework by week (of its due time) for the groups the actor teaches, or for one
    group; staff and administrators name the group."""
    if actor.profile not in STAFF_PROFILES:
        raise Forbidden("Only a teacher of this class or group can do this.")
    now = services.now()
    async with services.engine.connect() as connection:
        zone = await school_zone(services, actor.school_id, connection)
        conditions: list[sa.ColumnElement[bool]] = [
            homework.c.school_id == actor.school_id,
            homework.c.deleted_at.is_(None),
        ]
        if group_id is not None:
            await access_group_by_id(connection, actor, group_id, Action.READ)
            conditions.append(homework.c.group_id == group_id)
        elif actor.profile is Profile.TEACHER:
            conditions.append(
                homework.c.group_id.in_(
                    sa.select(enrolments.c.group_id).where(
                        enrolments.c.school_id == actor.school_id,
                        enrolments.c.person_id == actor.person_id,
                        enrolments.c.role == "teacher",
                    )
                )
            )
        else:
            raise InvalidInput(LIST_NEEDS_GROUP, field="group_id")
        if week_of is not None:
            start_day = week_start(in_utc(week_of, zone), zone)
            start = datetime.combine(start_day, datetime.min.time(), zone)
            conditions.append(homework.c.due_at >= start)
            conditions.append(homework.c.due_at < start + timedelta(days=7))
        rows = (
            await connection.execute(
                sa.select(homework, groups.c.name.label("group_name"))
                .join(groups, groups.c.id == homework.c.group_id)
                .where(*conditions)
                .order_by(homework.c.due_at.desc(), homework.c.id)
                .limit(500)
            )
        ).all()
        ids = [row.id for row in rows]
        states: dict[int, Counter[str]] = {homework_id: Counter() for homework_id in ids}
        if ids:
            for homework_id, state, late, count in await connection.execute(
                sa.select(
                    hand_ins.c.homework_id, hand_ins.c.state, hand_ins.c.late, sa.func.count()
                )
                .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.homework_id.in_(ids))
                .group_by(hand_ins.c.homework_id, hand_ins.c.state, hand_ins.c.late)
            ):
                states[homework_id][state] += count
                if late:
                    states[homework_id]["late"] += count
        pupils = await _pupil_counts(connection, actor.school_id, rows)
    weeks: dict[Any, list[HomeworkSummary]] = {}
    for row in rows:
        counts = states[row.id]
        total = pupils.get(row.id, 0)
        counted = sum(counts[s.value] for s in HandInState if s is not HandInState.ASSIGNED)
        assigned = max(total - counted, 0)
        due = row.due_at
        late = counts["late"] + (assigned if row.hand_in_expected and now > due else 0)
        summary = HomeworkSummary(
            id=row.id,
            group_id=row.group_id,
            group_name=row.group_name,
            title=row.title,
            publish_at=row.publish_at,
            due_at=due,
            hand_in_expected=row.hand_in_expected,
            published=row.publish_at <= now,
            assigned=assigned,
            turned_in=counts[HandInState.TURNED_IN.value],
            late=late,
            returned=counts[HandInState.RETURNED.value],
            missing=counts[HandInState.MISSING.value],
            excused=counts[HandInState.EXCUSED.value],
        )
        weeks.setdefault(week_start(due, zone), []).append(summary)
    return [TeacherWeek(week_start=start, items=items) for start, items in weeks.items()]


async def _pupil_counts(
    connection: AsyncConnection, school_id: int, rows: Sequence[Row]
) -> dict[int, int]:
    counts: dict[int, int] = {}
    chosen = [row.id for row in rows if row.chosen_pupils]
    if chosen:
        for homework_id, count in await connection.execute(
            sa.select(homework_targets.c.homework_id, sa.func.count())
            .where(
                homework_targets.c.school_id == school_id,
                homework_targets.c.homework_id.in_(chosen),
            )
            .group_by(homework_targets.c.homework_id)
        ):
            counts[homework_id] = count  # noqa: PERF403  # a query, then a dict
    group_ids = {row.group_id for row in rows if not row.chosen_pupils}
    if group_ids:
        sizes: dict[int, int] = dict(
            (
                await connection.execute(
                    sa.select(enrolments.c.group_id, sa.func.count())
                    .where(
                        enrolments.c.school_id == school_id,
                        enrolments.c.group_id.in_(group_ids),
                        enrolments.c.role == "pupil",
                    )
                    .group_by(enrolments.c.group_id)
                )
            ).all()
        )
        for row in rows:
            if not row.chosen_pupils:
                counts[row.id] = sizes.get(row.group_id, 0)
    return counts


# -- hand-ins ------------------------------------------------------------------------------


async def _deadlines(
    connection: AsyncConnection, work: Row, pupil_id: int
) -> tuple[datetime, datetime | None, bool]:
    extension = (
        await connection.execute(
            sa.select(homework_extensions.c.due_at, homework_extensions.c.cutoff_at).where(
                homework_extensions.c.school_id == work.school_id,
                homework_extensions.c.homework_id == work.id,
                homework_extensions.c.pupil_id == pupil_id,
            )
        )
    ).first()
    due, cutoff = effective_deadlines(
        work.due_at,
        work.cutoff_at,
        extension.due_at if extension else None,
        extension.cutoff_at if extension else None,
    )
    return due, cutoff, extension is not None


async def _hand_in_row(
    connection: AsyncConnection, actor: Actor, work: Row, pupil_id: int, *, existing: Row | None,
    now: datetime,
) -> Row:  # fmt: skip
    """The hand-in row, created in the assigned state on the first action."""
    if existing is not None:
        return existing
    try:
        async with connection.begin_nested():
            await connection.execute(
                hand_ins.insert().values(
                    school_id=actor.school_id,
                    homework_id=work.id,
                    pupil_id=pupil_id,
                    state=HandInState.ASSIGNED.value,
                    updated_at=now,
                )
            )
    except IntegrityError:
        pass  # created by a request running at the same time
    return (
        await connection.execute(
            sa.select(hand_ins).where(
                hand_ins.c.school_id == actor.school_id,
                hand_ins.c.homework_id == work.id,
                hand_ins.c.pupil_id == pupil_id,
            )
        )
    ).one()


async def _event(
    connection: AsyncConnection, actor: Actor, hand_in: Row, *, to_state: HandInState,
    late: bool, now: datetime,
) -> None:  # fmt: skip
    await connection.execute(
        hand_in_events.insert().values(
            school_id=actor.school_id,
            hand_in_id=hand_in.id,
            actor_id=actor.person_id,
            from_state=hand_in.state,
            to_state=to_state.value,
            late=late,
            at=now,
        )
    )


async def _hand_in_view(
    connection: AsyncConnection,
    work: Row,
    pupil_id: int,
    *,
    now: datetime,
    with_events: bool = True,
) -> HandInView:
    row = (
        await connection.execute(
            sa.select(hand_ins).where(
                hand_ins.c.school_id == work.school_id,
                hand_ins.c.homework_id == work.id,
                hand_ins.c.pupil_id == pupil_id,
            )
        )
    ).first()
    pupil = (
        await connection.execute(
            sa.select(people.c.given_name, people.c.family_name).where(
                people.c.school_id == work.school_id, people.c.id == pupil_id
            )
        )
    ).one()
    due, cutoff, extended = await _deadlines(connection, work, pupil_id)
    handed: list[FileView] = []
    events: list[HandInEvent] = []
    if row is not None:
        handed = [
            file_view(item)
            for item in await connection.execute(
                sa.select(files)
                .join(hand_in_files, hand_in_files.c.file_id == files.c.id)
                .where(
                    hand_in_files.c.school_id == work.school_id,
                    hand_in_files.c.hand_in_id == row.id,
                )
                .order_by(files.c.created_at, files.c.name)
            )
        ]
        if with_events:
            events = [
                HandInEvent(
                    from_state=HandInState(event.from_state),
                    to_state=HandInState(event.to_state),
                    at=event.at,
                    late=event.late,
                    actor_id=event.actor_id,
                )
                for event in await connection.execute(
                    sa.select(hand_in_events)
                    .where(
                        hand_in_events.c.school_id == work.school_id,
                        hand_in_events.c.hand_in_id == row.id,
                    )
                    .order_by(hand_in_events.c.id)
                )
            ]
    return _view(
        work,
        pupil_id=pupil_id,
        pupil_name=_name(pupil),
        row=row,
        handed=handed,
        events=events,
        due=due,
        cutoff=cutoff,
        extended=extended,
        now=now,
    )


def _view(
    work: Any,
    *,
    pupil_id: int,
    pupil_name: str,
    row: Any,
    handed: list[FileView],
    events: list[HandInEvent],
    due: datetime,
    cutoff: datetime | None,
    extended: bool,
    now: datetime,
) -> HandInView:
    state = HandInState(row.state) if row is not None else HandInState.ASSIGNED
    waiting = state in (HandInState.ASSIGNED, HandInState.MISSING)
    late = (bool(row.late) if row is not None and not waiting else False) or (
        waiting and work.hand_in_expected and now > due
    )
    return HandInView(
        homework_id=work.id,
        pupil_id=pupil_id,
        pupil_name=pupil_name,
        state=state,
        text=row.text if row is not None else "",
        files=handed,
        turned_in_at=row.turned_in_at if row is not None else None,
        late=late,
        returned_at=row.returned_at if row is not None else None,
        feedback=row.feedback if row is not None else "",
        mark=row.mark if row is not None else None,
        mark_out_of=row.mark_out_of if row is not None else None,
        due_at=due,
        cutoff_at=cutoff,
        extended=extended,
        open=bool(work.hand_in_expected) and (cutoff is None or now <= cutoff),
        events=events,
    )


async def get_hand_in(
    services: Services, actor: Actor, homework_id: int, pupil_id: int
) -> HandInView:
    now = services.now()
    async with services.engine.connect() as connection:
        work, _row = await access_hand_in_by_id(
            connection, actor, homework_id, pupil_id, HandInRight.READ, now=now
        )
        return await _hand_in_view(connection, work, pupil_id, now=now)


async def own_homework(services: Services, actor: Actor, homework_id: int) -> CachedHomework:
    """A pupil's own view of one homework (the homework and their hand-in): from this
    process's cache while their to-do key holds, no query; else read with the same access
    checks as :func:`get_homework` and :func:`get_hand_in`, the to-do key taken first."""
    if actor.profile is not Profile.PUPIL:
        raise NotFound(HOMEWORK_NOT_FOUND)
    now = services.clock()
    cache = services.homework_cache
    entry = cache.lookup(actor.school_id, actor.person_id, homework_id, now)
    if entry is not None:
        return entry
    key, zone = await services.todo_cache.key_for_reading(actor.school_id, actor.person_id, now=now)
    entry = cache.lookup(actor.school_id, actor.person_id, homework_id, now)
    if entry is not None:  # the pupil's groups were read again and nothing else changed
        return entry
    work = await get_homework(services, actor, homework_id)
    hand_in = await get_hand_in(services, actor, homework_id, actor.person_id)
    return cache.keep(actor.school_id, key, work, hand_in, zone=zone, now=now)


async def turn_in(
    services: Services,
    actor: Actor,
    homework_id: int,
    submission: TurnIn,
    uploads: list[Upload] | None = None,
) -> HandInView:
    """The pupil turns work in: text and files. Late is decided here, from the due time
    with the pupil's extension; after the cut-off nothing is accepted, whatever the route."""
    now = services.now()
    key = check_idempotency_key(submission.idempotency_key)
    action_name = f"turn_in:{homework_id}"
    text = check_long_text(submission.text, "text", MAX_HAND_IN_TEXT)
    try:
        async with (
            stored_uploads(services, actor, uploads or []) as stored,
            services.engine.begin() as connection,
        ):
            work, existing = await access_hand_in_by_id(
                connection, actor, homework_id, actor.person_id, HandInRight.TURN_IN, now=now
            )
            if not work.hand_in_expected:
                raise Conflict(NO_HAND_IN)
            due, cutoff, _extended = await _deadlines(connection, work, actor.person_id)
            check_hand_in_open(now, cutoff)
            if key is not None:
                replay = await _replayed(connection, actor, key, action_name)
                if replay is not None:
                    for item in stored:  # a retry's files are already in the first answer
                        await services.files.delete(item.key)
                    return replay
            view, versions = await _do_turn_in(
                    connection, services, actor, work=work, existing=existing, text=text,
                    submission=submission, stored=stored, due=due, now=now,
                )  # fmt: skip
            if key is not None:
                await connection.execute(
                    idempotency_keys.insert().values(
                        school_id=actor.school_id,
                        person_id=actor.person_id,
                        key=key,
                        action=action_name,
                        result=msgspec.json.encode(view),
                        created_at=now,
                    )
                )
    except IntegrityError:
        # The same key arrived twice at once: the first one won; answer as it did.
        if key is None:
            raise
        async with services.engine.connect() as connection:
            replay = await _replayed(connection, actor, key, action_name)
        if replay is None:
            raise
        return replay
    await services.todo_cache.announce(actor.school_id, versions)
    return view


async def _replayed(
    connection: AsyncConnection, actor: Actor, key: str, action_name: str
) -> HandInView | None:
    stored = (
        await connection.execute(
            sa.select(idempotency_keys.c.action, idempotency_keys.c.result).where(
                idempotency_keys.c.school_id == actor.school_id,
                idempotency_keys.c.person_id == actor.person_id,
                idempotency_keys.c.key == key,
            )
        )
    ).first()
    if stored is None:
        return None
    if stored.action != action_name:
        raise Conflict(KEY_REUSED, field="idempotency_key")
    return msgspec.json.decode(stored.result, type=HandInView)


async def _do_turn_in(
    connection: AsyncConnection,
    services: Services,
    actor: Actor,
    *,
    work: Row,
    existing: Row | None,
    text: str,
    submission: TurnIn,
    stored: list[StoredFile],
    due: datetime,
    now: datetime,
) -> tuple[HandInView, dict[str, int]]:
    row = await _hand_in_row(connection, actor, work, actor.person_id, existing=existing, now=now)
    target = next_state(HandInState(row.state), HandInAction.TURN_IN)
    await record_files(connection, services, actor, stored)
    chosen = await own_files(connection, services, actor, submission.file_ids)
    new_ids = [str(item.id) for item in chosen] + [item.id for item in stored]
    already = set(
        (
            await connection.execute(
                sa.select(hand_in_files.c.file_id).where(
                    hand_in_files.c.school_id == actor.school_id,
                    hand_in_files.c.hand_in_id == row.id,
                )
            )
        ).scalars()
    )
    to_add = [file_id for file_id in dict.fromkeys(new_ids) if file_id not in already]
    if not text and not already and not to_add:
        raise InvalidInput(NOTHING_TO_TURN_IN, field="text")
    if len(already) + len(to_add) > MAX_ATTACHMENTS:
        raise InvalidInput(TOO_MANY_FILES, field="file_ids")
    if to_add:
        await connection.execute(
            hand_in_files.insert(),
            [
                {"school_id": actor.school_id, "hand_in_id": row.id, "file_id": file_id}
                for file_id in to_add
            ],
        )
    late = is_late(now, due)
    await connection.execute(
        hand_ins.update()
        .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
        .values(state=target.value, text=text, turned_in_at=now, late=late, updated_at=now)
    )
    await _event(connection, actor, row, to_state=target, late=late, now=now)
    versions = await bump_versions(
        connection, actor.school_id, [pupil_scope(actor.person_id)], now=now
    )
    view = await _hand_in_view(connection, work, actor.person_id, now=now)
    return view, versions


async def take_back(services: Services, actor: Actor, homework_id: int) -> HandInView:
    now = services.now()
    async with services.engine.begin() as connection:
        work, existing = await access_hand_in_by_id(
            connection, actor, homework_id, actor.person_id, HandInRight.TURN_IN, now=now
        )
        _due, cutoff, _extended = await _deadlines(connection, work, actor.person_id)
        if cutoff is not None and now > cutoff:
            raise Conflict(TAKE_BACK_CLOSED)
        row = await _hand_in_row(
            connection, actor, work, actor.person_id, existing=existing, now=now
        )
        target = next_state(HandInState(row.state), HandInAction.TAKE_BACK)
        await connection.execute(
            hand_ins.update()
            .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
            .values(state=target.value, late=False, updated_at=now)
        )
        await _event(connection, actor, row, to_state=target, late=False, now=now)
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(actor.person_id)], now=now
        )
        view = await _hand_in_view(connection, work, actor.person_id, now=now)
    await services.todo_cache.announce(actor.school_id, versions)
    return view


async def set_done(services: Services, actor: Actor, homework_id: int, *, done: bool) -> None:
    """The pupil's tick on work that expects no hand-in."""
    now = services.now()
    async with services.engine.begin() as connection:
        work, _row = await access_hand_in_by_id(
            connection, actor, homework_id, actor.person_id, HandInRight.TURN_IN, now=now
        )
        if work.hand_in_expected:
            raise Conflict(DONE_NEEDS_NO_HAND_IN)
        await connection.execute(
            homework_done.delete().where(
                homework_done.c.school_id == actor.school_id,
                homework_done.c.homework_id == homework_id,
                homework_done.c.pupil_id == actor.person_id,
            )
        )
        if done:
            await connection.execute(
                homework_done.insert().values(
                    school_id=actor.school_id,
                    homework_id=homework_id,
                    pupil_id=actor.person_id,
                    done_at=now,
                )
            )
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(actor.person_id)], now=now
        )
    await services.todo_cache.announce(actor.school_id, versions)


async def review_hand_in(
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    *,
    action: HandInAction,
    review: Review | None = None,
) -> HandInView:
    """The teacher returns work (with feedback and a mark), marks it missing or excused,
    or sets it back to assigned."""
    if action in (HandInAction.TURN_IN, HandInAction.TAKE_BACK):
        raise Forbidden("Only a teacher of this class or group can do this.")
    checked = check_review(review or Review()) if action is HandInAction.RETURN else None
    now = services.now()
    async with services.engine.begin() as connection:
        work, existing = await access_hand_in_by_id(
            connection, actor, homework_id, pupil_id, HandInRight.REVIEW, now=now
        )
        row = await _hand_in_row(connection, actor, work, pupil_id, existing=existing, now=now)
        target = next_state(HandInState(row.state), action)
        values: dict[str, object] = {"state": target.value, "updated_at": now}
        if checked is not None:
            values.update(
                feedback=checked.feedback,
                mark=checked.mark,
                mark_out_of=checked.mark_out_of,
                returned_at=now,
            )
        await connection.execute(
            hand_ins.update()
            .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
            .values(**values)
        )
        await _event(connection, actor, row, to_state=target, late=bool(row.late), now=now)
        await mark_from_hand_in(connection, actor, work.id, pupil_id, checked, now=now)
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(pupil_id)], now=now
        )
        view = await _hand_in_view(connection, work, pupil_id, now=now)
    await services.todo_cache.announce(actor.school_id, versions)
    return view


async def grant_extension(
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    *,
    draft: ExtensionDraft | None,
) -> HandInView:
    """Give one pupil a later due time (and cut-off); ``None`` removes the extension."""
    now = services.now()
    async with services.engine.begin() as connection:
        work, _row = await access_hand_in_by_id(
            connection, actor, homework_id, pupil_id, HandInRight.REVIEW, now=now
        )
        zone = await school_zone(services, actor.school_id, connection)
        await connection.execute(
            homework_extensions.delete().where(
                homework_extensions.c.school_id == actor.school_id,
                homework_extensions.c.homework_id == homework_id,
                homework_extensions.c.pupil_id == pupil_id,
            )
        )
        if draft is not None:
            due = in_utc(draft.due_at, zone)
            cutoff = in_utc(draft.cutoff_at, zone) if draft.cutoff_at else None
            if due <= work.due_at:
                raise InvalidInput(
                    "An extension must end after the homework's due time.", field="due_at"
                )
            if cutoff is not None and cutoff < due:
                raise InvalidInput(
                    "The cut-off cannot come before the due time.", field="cutoff_at"
                )
            await connection.execute(
                homework_extensions.insert().values(
                    school_id=actor.school_id,
                    homework_id=homework_id,
                    pupil_id=pupil_id,
                    due_at=due,
                    cutoff_at=cutoff,
                    granted_by=actor.person_id,
                    granted_at=now,
                )
            )
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(pupil_id)], now=now
        )
        view = await _hand_in_view(connection, work, pupil_id, now=now)
    await services.todo_cache.announce(actor.school_id, versions)
    return view


def _pupils_with_hand_ins(pupil_ids: sa.Select[tuple[int]]) -> sa.Select[Any]:
    """The pupils ``pupil_ids`` selects, in name order, each with their hand-in and
    extension (if any) for the homework ``:homework_id``."""
    return (
        sa.select(
            people.c.id.label("pupil_id"),
            people.c.given_name,
            people.c.family_name,
            hand_ins,
            homework_extensions.c.due_at.label("extension_due"),
            homework_extensions.c.cutoff_at.label("extension_cutoff"),
        )
        .select_from(people)
        .outerjoin(
            hand_ins,
            sa.and_(
                hand_ins.c.homework_id == sa.bindparam("homework_id"),
                hand_ins.c.pupil_id == people.c.id,
            ),
        )
        .outerjoin(
            homework_extensions,
            sa.and_(
                homework_extensions.c.homework_id == sa.bindparam("homework_id"),
                homework_extensions.c.pupil_id == people.c.id,
            ),
        )
        .where(people.c.school_id == sa.bindparam("school_id"), people.c.id.in_(pupil_ids))
        .order_by(people.c.family_name, people.c.given_name)
    )


# The teacher's list of hand-ins is the costliest read of the morning load
# (docs/performance.md): its statements are built once, so a request neither builds them
# again nor walks them for SQLAlchemy's cache key (a built statement keeps its key), and
# it runs 4 statements whatever the class size: the homework, whether the reader teaches
# its group, the pupils with their hand-ins and extensions, the files handed in.
_HAND_INS_OF_GROUP = _pupils_with_hand_ins(
    sa.select(enrolments.c.person_id).where(
        enrolments.c.school_id == sa.bindparam("school_id"),
        enrolments.c.group_id == sa.bindparam("group_id"),
        enrolments.c.role == "pupil",
    )
)
_HAND_INS_OF_CHOSEN = _pupils_with_hand_ins(
    sa.select(homework_targets.c.pupil_id).where(
        homework_targets.c.school_id == sa.bindparam("school_id"),
        homework_targets.c.homework_id == sa.bindparam("homework_id"),
    )
)
_HANDED_IN_FILES = (
    sa.select(hand_in_files.c.hand_in_id, files)
    .join(files, files.c.id == hand_in_files.c.file_id)
    .join(hand_ins, hand_ins.c.id == hand_in_files.c.hand_in_id)
    .where(
        hand_in_files.c.school_id == sa.bindparam("school_id"),
        hand_ins.c.school_id == sa.bindparam("school_id"),
        hand_ins.c.homework_id == sa.bindparam("homework_id"),
    )
    .order_by(files.c.name)
)


async def hand_ins_of(services: Services, actor: Actor, homework_id: int) -> list[HandInView]:
    """Every pupil the homework is set for, with their hand-in (teachers and staff)."""
    now = services.now()
    async with services.engine.connect() as connection:
        work = await access_hand_ins_by_homework_id(connection, actor, homework_id, now=now)
        keys = {"school_id": actor.school_id, "homework_id": homework_id}
        if work.chosen_pupils:
            listing = _HAND_INS_OF_CHOSEN
        else:
            listing = _HAND_INS_OF_GROUP
            keys["group_id"] = work.group_id
        rows = (await connection.execute(listing, keys)).all()
        handed: dict[int, list[FileView]] = {row.id: [] for row in rows if row.id is not None}
        if handed:
            for item in await connection.execute(_HANDED_IN_FILES, keys):
                if item.hand_in_id in handed:
                    handed[item.hand_in_id].append(file_view(item))
    due_at, cutoff_at = work.due_at, work.cutoff_at
    views = []
    for row in rows:
        due, cutoff = effective_deadlines(
            due_at,
            cutoff_at,
            row.extension_due,
            row.extension_cutoff,
        )
        views.append(
            _view(
                work,
                pupil_id=row.pupil_id,
                pupil_name=_name(row),
                row=row if row.id is not None else None,
                handed=handed.get(row.id, []) if row.id is not None else [],
                events=[],
                due=due,
                cutoff=cutoff,
                extended=row.extension_due is not None,
                now=now,
            )
        )
    return views


async def hand_ins_zip(services: Services, actor: Actor, homework_id: int) -> tuple[str, bytes]:
    """Every hand-in of a homework in one zip: a folder per pupil with their text and files."""
    views = await hand_ins_of(services, actor, homework_id)
    work = await get_homework(services, actor, homework_id)
    async with services.engine.connect() as connection:
        keys = dict(
            (
                await connection.execute(
                    sa.select(files.c.id, files.c.storage_key).where(
                        files.c.school_id == actor.school_id,
                        files.c.id.in_([f.id for view in views for f in view.files]),
                    )
                )
            ).all()
        )
    contents: list[tuple[str, bytes]] = []
    for view in views:
        if view.state is HandInState.ASSIGNED and not view.files and not view.text:
            continue
        folder = f"{view.pupil_name} ({view.pupil_id})".replace("/", "_")
        if view.text:
            contents.append((f"{folder}/texte.txt", view.text.encode()))
        seen: set[str] = set()
        for item in view.files:
            name = item.name
            while name in seen:
                name = "_" + name
            seen.add(name)
            data = b"".join([chunk async for chunk in services.files.open(keys[item.id])])
            contents.append((f"{folder}/{name}", data))

    def build() -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in contents:
                archive.writestr(name, data)
        return buffer.getvalue()

    title = "".join(c if c.isalnum() or c in " -_" else "_" for c in work.title)[:60].strip()
    return f"{title or 'homework'} - hand-ins.zip", await asyncio.to_thread(build)


# -- the to-do for parents and staff -------------------------------------------------------


async def todo_of(services: Services, actor: Actor, pupil_id: int) -> CachedTodo:
    """A pupil's to-do as someone who may see that pupil reads it (the pupil, a parent,
    staff). Served from the same cache as the pupil's own."""
    if not (actor.profile is Profile.PUPIL and actor.person_id == pupil_id):
        async with services.engine.connect() as connection:
            person = await access_person_by_id(connection, actor, pupil_id, Action.READ)
        if person.profile != Profile.PUPIL.value:
            raise NotFound(ONLY_PUPILS)
    elif actor.profile is not Profile.PUPIL:
        raise NotFound(ONLY_PUPILS)
    return await services.todo_cache.todo(actor.school_id, pupil_id, now=services.clock())
