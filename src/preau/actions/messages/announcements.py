"""Class announcements: posted to the pupils of groups (and their parents), listed, read,
with read receipts for their author and the staff. Reached only through
``access_announcement_by_id``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_announcement_by_id, access_groups_for_announcement
from preau.actions.context import Services
from preau.actions.messages.queries import people_columns, person_ref
from preau.actions.messages.recipients import EMPTY_GROUPS, TOO_MANY_GROUPS, parents_of, pupils_of
from preau.actions.messages.unread import announce_change
from preau.adapters.sql.schema import (
    announcement_groups,
    announcement_recipients,
    announcements,
    groups,
    people,
)
from preau.domain.directory import check_paging
from preau.domain.errors import Forbidden, InvalidInput
from preau.domain.messages import (
    MAX_GROUPS,
    MODERATORS,
    AnnouncementAction,
    AnnouncementDraft,
    AnnouncementsPage,
    AnnouncementView,
    GroupRef,
    Receipt,
    Receipts,
    announcement_refusal,
    check_body,
    check_subject,
)
from preau.domain.people import Actor
from preau.i18n import lazy

NO_GROUP_CHOSEN = lazy("Choose at least one class or group.")


async def post_announcement(services: Services, actor: Actor, draft: AnnouncementDraft) -> int:
    """Post to the pupils of classes or groups (and their parents); returns its id."""
    title = check_subject(draft.title, "title")
    body = check_body(draft.body)
    group_ids = sorted(set(draft.group_ids))
    if (refusal := announcement_refusal(actor, teaches_every_group=True)) is not None:
        raise Forbidden(refusal)
    if not group_ids:
        raise InvalidInput(NO_GROUP_CHOSEN, field="group_ids")
    if len(group_ids) > MAX_GROUPS:
        raise InvalidInput(TOO_MANY_GROUPS, field="group_ids", limit=MAX_GROUPS)
    now = services.now()
    async with services.engine.begin() as connection:
        await access_groups_for_announcement(connection, actor, group_ids)
        pupils = await pupils_of(connection, actor.school_id, group_ids)
        parents = (
            await parents_of(connection, actor.school_id, pupils) if draft.include_parents else []
        )
        recipients = dict.fromkeys(pupils, False)
        recipients.update({person_id: True for person_id in parents if person_id not in recipients})
        recipients.pop(actor.person_id, None)
        if not recipients:
            raise InvalidInput(EMPTY_GROUPS, field="group_ids")
        await services.sending.hit(actor.school_id, actor.person_id)
        result = await connection.execute(
            announcements.insert().values(
                school_id=actor.school_id,
                author_id=actor.person_id,
                title=title,
                body=body,
                include_parents=draft.include_parents,
                created_at=now,
            )
        )
        announcement_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        await connection.execute(
            announcement_groups.insert(),
            [
                {"school_id": actor.school_id, "announcement_id": announcement_id, "group_id": g}
                for g in group_ids
            ],
        )
        await connection.execute(
            announcement_recipients.insert(),
            [
                {
                    "school_id": actor.school_id,
                    "announcement_id": announcement_id,
                    "person_id": person_id,
                    "as_parent": as_parent,
                }
                for person_id, as_parent in recipients.items()
            ],
        )
    await announce_change(
        services, actor.school_id, [actor.person_id, *recipients], "announcement", title=title
    )
    return announcement_id


async def _groups_of(
    connection: AsyncConnection, school_id: int, announcement_ids: Sequence[int]
) -> dict[int, list[GroupRef]]:
    found: dict[int, list[GroupRef]] = {}
    if not announcement_ids:
        return found
    rows = await connection.execute(
        sa.select(announcement_groups.c.announcement_id, groups.c.id, groups.c.name)
        .join(groups, groups.c.id == announcement_groups.c.group_id)
        .where(
            announcement_groups.c.school_id == school_id,
            groups.c.school_id == school_id,
            announcement_groups.c.announcement_id.in_(announcement_ids),
        )
        .order_by(groups.c.name)
    )
    for row in rows:
        found.setdefault(int(row.announcement_id), []).append(
            GroupRef(id=int(row.id), name=row.name)
        )
    return found


async def _receipt_counts(
    connection: AsyncConnection, school_id: int, announcement_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    if not announcement_ids:
        return {}
    rows = await connection.execute(
        sa.select(
            announcement_recipients.c.announcement_id,
            sa.func.count().label("total"),
            sa.func.count(announcement_recipients.c.read_at).label("read"),
        )
        .where(
            announcement_recipients.c.school_id == school_id,
            announcement_recipients.c.announcement_id.in_(announcement_ids),
        )
        .group_by(announcement_recipients.c.announcement_id)
    )
    return {int(row.announcement_id): (int(row.total), int(row.read)) for row in rows}


async def list_announcements(
    services: Services, actor: Actor, *, sent: bool = False, page: int = 1, page_size: int = 30
) -> AnnouncementsPage:
    """Announcements the actor received (newest first), or those they sent, with counts."""
    check_paging(page, page_size)
    author = people.alias("author")
    columns = [
        announcements.c.id,
        announcements.c.title,
        announcements.c.body,
        announcements.c.include_parents,
        announcements.c.created_at,
        *people_columns(author, "author_"),
    ]
    conditions: list[sa.ColumnElement[bool]] = [
        announcements.c.school_id == actor.school_id,
        announcements.c.hidden_at.is_(None),
    ]
    if sent:
        source: sa.FromClause = announcements.join(author, author.c.id == announcements.c.author_id)
        conditions.append(announcements.c.author_id == actor.person_id)
        read_column: sa.ColumnElement[Any] = sa.null().label("read_at")
    else:
        source = announcements.join(
            announcement_recipients,
            sa.and_(
                announcement_recipients.c.announcement_id == announcements.c.id,
                announcement_recipients.c.school_id == actor.school_id,
                announcement_recipients.c.person_id == actor.person_id,
            ),
        ).join(author, author.c.id == announcements.c.author_id)
        read_column = announcement_recipients.c.read_at
    async with services.engine.connect() as connection:
        total = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(source).where(*conditions)
            )
        ).scalar_one()
        rows = (
            await connection.execute(
                sa.select(*columns, read_column)
                .select_from(source)
                .where(*conditions)
                .order_by(announcements.c.created_at.desc(), announcements.c.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
        ids = [int(row.id) for row in rows]
        group_refs = await _groups_of(connection, actor.school_id, ids)
        receipts = await _receipt_counts(connection, actor.school_id, ids) if sent else {}
    items = [
        AnnouncementView(
            id=int(row.id),
            title=row.title,
            body=row.body,
            author=person_ref(row, "author_"),
            groups=group_refs.get(int(row.id), []),
            include_parents=bool(row.include_parents),
            created_at=row.created_at,
            read_at=row.read_at,
            recipient_count=receipts[int(row.id)][0] if sent and int(row.id) in receipts else None,
            read_count=receipts[int(row.id)][1] if sent and int(row.id) in receipts else None,
        )
        for row in rows
    ]
    return AnnouncementsPage(page=page, page_size=page_size, total=total, items=items)


async def get_announcement(
    services: Services, actor: Actor, announcement_id: int
) -> AnnouncementView:
    async with services.engine.connect() as connection:
        row, recipient = await access_announcement_by_id(
            connection, actor, announcement_id, AnnouncementAction.READ
        )
        author = (
            await connection.execute(
                sa.select(*people_columns(people, "")).where(
                    people.c.school_id == actor.school_id,
                    people.c.id == row.author_id,
                )
            )
        ).one()
        group_refs = await _groups_of(connection, actor.school_id, [announcement_id])
        overseer = row.author_id == actor.person_id or actor.profile in MODERATORS
        counts = (
            await _receipt_counts(connection, actor.school_id, [announcement_id])
            if overseer
            else {}
        )
    total, read = counts.get(announcement_id, (0, 0))
    return AnnouncementView(
        id=announcement_id,
        title=str(row.title),
        body=str(row.body),
        author=person_ref(author),
        groups=group_refs.get(announcement_id, []),
        include_parents=bool(row.include_parents),
        created_at=row.created_at,
        read_at=recipient.read_at if recipient is not None else None,
        recipient_count=total if overseer else None,
        read_count=read if overseer else None,
    )


async def mark_announcement_read(services: Services, actor: Actor, announcement_id: int) -> None:
    """Record that a recipient read it (once: the first reading is the receipt)."""
    async with services.engine.begin() as connection:
        _row, recipient = await access_announcement_by_id(
            connection, actor, announcement_id, AnnouncementAction.MARK_READ
        )
        if recipient is None or recipient.read_at is not None:
            return
        await connection.execute(
            announcement_recipients.update()
            .where(
                announcement_recipients.c.school_id == actor.school_id,
                announcement_recipients.c.announcement_id == announcement_id,
                announcement_recipients.c.person_id == actor.person_id,
                announcement_recipients.c.read_at.is_(None),
            )
            .values(read_at=services.now())
        )
    await announce_change(services, actor.school_id, [actor.person_id], "read")


async def open_announcement(
    services: Services, actor: Actor, announcement_id: int
) -> AnnouncementView:
    """What the page shows: the announcement, read by a recipient who opens it."""
    view = await get_announcement(services, actor, announcement_id)
    if view.read_at is None:
        async with services.engine.connect() as connection:
            _row, recipient = await access_announcement_by_id(
                connection, actor, announcement_id, AnnouncementAction.READ
            )
        if recipient is not None:
            await mark_announcement_read(services, actor, announcement_id)
            view = await get_announcement(services, actor, announcement_id)
    return view


async def announcement_receipts(services: Services, actor: Actor, announcement_id: int) -> Receipts:
    async with services.engine.connect() as connection:
        await access_announcement_by_id(
            connection, actor, announcement_id, AnnouncementAction.RECEIPTS
        )
        rows = await connection.execute(
            sa.select(
                announcement_recipients.c.as_parent,
                announcement_recipients.c.read_at,
                *people_columns(people, ""),
            )
            .join(people, people.c.id == announcement_recipients.c.person_id)
            .where(
                announcement_recipients.c.school_id == actor.school_id,
                people.c.school_id == actor.school_id,
                announcement_recipients.c.announcement_id == announcement_id,
            )
            .order_by(people.c.family_name, people.c.given_name)
        )
        receipts = [
            Receipt(person=person_ref(row), as_parent=bool(row.as_parent), read_at=row.read_at)
            for row in rows
        ]
    read_by = [receipt for receipt in receipts if receipt.read_at is not None]
    return Receipts(
        announcement_id=announcement_id,
        total=len(receipts),
        read=len(read_by),
        not_read=[receipt for receipt in receipts if receipt.read_at is None],
        read_by=read_by,
    )
