"""The teacher's list of hand-ins for one homework (every pupil it is set for, in a fixed
number of queries) and the same hand-ins as one zip."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import sqlalchemy as sa

from preau.actions.access import access_hand_ins_by_homework_id
from preau.actions.classwork.files import file_view
from preau.actions.classwork.hand_ins import hand_in_view_from
from preau.actions.classwork.homework import get_homework, person_name
from preau.actions.context import Services
from preau.adapters.sql.schema import (
    enrolments,
    files,
    hand_in_files,
    hand_ins,
    homework_extensions,
    homework_targets,
    people,
)
from preau.domain.classwork import (
    FileView,
    HandInState,
    HandInView,
    effective_deadlines,
    zip_entry_part,
)
from preau.domain.people import Actor


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
            hand_in_view_from(
                work,
                pupil_id=row.pupil_id,
                pupil_name=person_name(row),
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
        folder = zip_entry_part(f"{view.pupil_name} ({view.pupil_id})")
        if view.text:
            contents.append((f"{folder}/texte.txt", view.text.encode()))
        seen: set[str] = set()
        for item in view.files:
            name = zip_entry_part(item.name)
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
