"""Homework in the cahier de textes: set (for a group or chosen pupils), edit, delete and copy
an item, and read one; each change writes its revision and moves the group's to-do on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_group_for_teaching, access_homework_by_id
from preau.actions.classwork.files import (
    TOO_MANY_FILES,
    Upload,
    file_view,
    own_files,
    record_files,
    stored_uploads,
)
from preau.actions.classwork.revisions import record_revision
from preau.actions.classwork.todo import group_scope
from preau.actions.context import Services
from preau.actions.warm import bump_versions
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    enrolments,
    exercises,
    files,
    groups,
    homework,
    homework_attachments,
    homework_targets,
    people,
    timetable_lessons,
    video_lessons,
)
from preau.domain.access import Action
from preau.domain.classwork import (
    MAX_ATTACHMENTS,
    CheckedHomework,
    FileView,
    HomeworkChanges,
    HomeworkCopy,
    HomeworkDraft,
    HomeworkView,
    InstructionsFormat,
    check_homework,
    render_instructions,
)
from preau.domain.errors import Forbidden, InvalidInput
from preau.domain.people import STAFF_PROFILES, Actor
from preau.i18n import lazy

Row = sa.Row[Any]

CHOOSE_PUPILS = lazy("Choose at least one pupil, or set the work for the whole class.")
NOT_IN_GROUP = lazy("Some of the chosen pupils are not in this class or group.")


def person_name(row: Any) -> str:
    """A pupil's or teacher's name as lists show it, from a row with both name columns."""
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
    exercise = (
        sa.select(exercises.c.id)
        .where(
            exercises.c.school_id == mapping["school_id"],
            exercises.c.homework_id == mapping["id"],
        )
        .scalar_subquery()
    )
    video = (
        sa.select(video_lessons.c.id)
        .where(
            video_lessons.c.school_id == mapping["school_id"],
            video_lessons.c.homework_id == mapping["id"],
        )
        .scalar_subquery()
    )
    names = (
        await connection.execute(
            sa.select(
                groups.c.name,
                people.c.given_name,
                people.c.family_name,
                exercise.label("exercise"),
                video.label("video"),
            )
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
        author_name=person_name(names),
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
        exercise_id=names.exercise,
        video_id=names.video,
        subject=mapping["subject"],
    )


def _columns(checked: CheckedHomework) -> dict[str, object]:
    """The homework columns a checked item fills, the same when it is set, copied or edited."""
    return {
        "title": checked.title,
        "instructions": checked.instructions,
        "instructions_format": checked.instructions_format.value,
        "publish_at": checked.publish_at,
        "due_at": checked.due_at,
        "cutoff_at": checked.cutoff_at,
        "estimated_minutes": checked.estimated_minutes,
        "hand_in_expected": checked.hand_in_expected,
        "subject": checked.subject,
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
        subject=mapping["subject"],
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
    await _insert_attachments(
        connection, actor.school_id, homework_id, new, first_position=len(existing)
    )
    return sorted(existing | set(new))


async def _insert_attachments(
    connection: AsyncConnection,
    school_id: int,
    homework_id: int,
    file_ids: list[str],
    *,
    first_position: int,
) -> None:
    """Attach ``file_ids`` to a homework item in that order, from ``first_position`` on."""
    if file_ids:
        await connection.execute(
            homework_attachments.insert(),
            [
                {
                    "school_id": school_id,
                    "homework_id": homework_id,
                    "file_id": file_id,
                    "position": first_position + index,
                }
                for index, file_id in enumerate(file_ids)
            ],
        )


async def taught_subject(connection: AsyncConnection, actor: Actor, group_id: int) -> str | None:
    """The subject a homework takes when its teacher gives none: theirs in the group (from
    the roster), the group's own (a "Maths 4e" group), or the one subject they teach the
    group in the timetable. A class taught several subjects by the same person gets none."""
    row = (
        await connection.execute(
            sa.select(enrolments.c.subject, groups.c.subject.label("group_subject"))
            .select_from(groups)
            .outerjoin(
                enrolments,
                sa.and_(
                    enrolments.c.group_id == groups.c.id,
                    enrolments.c.school_id == groups.c.school_id,
                    enrolments.c.person_id == actor.person_id,
                    enrolments.c.role == "teacher",
                ),
            )
            .where(groups.c.school_id == actor.school_id, groups.c.id == group_id)
            .limit(1)
        )
    ).first()
    if row is not None and (row.subject or row.group_subject):
        return str(row.subject or row.group_subject)
    subjects = (
        (
            await connection.execute(
                sa.select(timetable_lessons.c.subject)
                .where(
                    timetable_lessons.c.school_id == actor.school_id,
                    timetable_lessons.c.group_id == group_id,
                    timetable_lessons.c.teacher_id == actor.person_id,
                )
                .distinct()
                .limit(2)
            )
        )
        .scalars()
        .all()
    )
    return str(subjects[0]) if len(subjects) == 1 else None


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
            subject=draft.subject or await taught_subject(connection, actor, group.id),
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
    await services.versions.announce(actor.school_id, versions)
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
            **_columns(checked),
            chosen_pupils=targets is not None,
            revision=1,
            created_at=now,
            updated_at=now,
        )
    )
    homework_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
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
    await record_revision(
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
            subject=changes.subject if changes.subject is not None else current.subject,
        )
        revision = int(work.revision) + 1
        await connection.execute(
            homework.update()
            .where(homework.c.school_id == actor.school_id, homework.c.id == homework_id)
            .values(
                **_columns(checked),
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
        await record_revision(
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
    await services.versions.announce(actor.school_id, versions)
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
        await record_revision(
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
    await services.versions.announce(actor.school_id, versions)


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
            subject=current.subject,
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
        await _insert_attachments(
            connection, actor.school_id, new_id, attachment_ids, first_position=0
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
    await services.versions.announce(actor.school_id, versions)
    return view


async def get_homework(services: Services, actor: Actor, homework_id: int) -> HomeworkView:
    now = services.now()
    async with services.engine.connect() as connection:
        return await _view_by_id(connection, actor, homework_id, now=now)
