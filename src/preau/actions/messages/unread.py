"""Unread counts (cached per person for the warm reads) and the live event that tells every
process the new counts after a commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.actions.messages.queries import chunks
from preau.actions.messages.rules import RULES_COLUMNS, RULES_FROM, rules_from
from preau.actions.warm import content_etag, kept_for_person
from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    conversation_participants,
    people,
    schools,
)
from preau.domain.messages import SchoolMessaging, UnreadCounts, is_quiet
from preau.domain.people import Actor
from preau.live import LiveEvent

_json = msgspec.json.Encoder()


def _counts_statement() -> sa.Select[Any]:
    """Built once: the school's rules and time zone, and the unread messages and
    announcements of each person asked for (one row each; a row without a person when
    none is in the school), by indexed subqueries per person."""
    unread_messages = (
        sa.select(sa.func.coalesce(sa.func.sum(conversation_participants.c.unread_count), 0))
        .where(
            conversation_participants.c.school_id == schools.c.id,
            conversation_participants.c.person_id == people.c.id,
        )
        .scalar_subquery()
    )
    unread_announcements = (
        sa.select(sa.func.count())
        .select_from(announcement_recipients)
        .join(announcements, announcements.c.id == announcement_recipients.c.announcement_id)
        .where(
            announcement_recipients.c.school_id == schools.c.id,
            announcements.c.school_id == schools.c.id,
            announcement_recipients.c.person_id == people.c.id,
            announcement_recipients.c.read_at.is_(None),
            announcements.c.hidden_at.is_(None),
        )
        .scalar_subquery()
    )
    return (
        sa.select(
            *RULES_COLUMNS,
            people.c.id.label("person_id"),
            unread_messages.label("unread_messages"),
            unread_announcements.label("unread_announcements"),
        )
        .select_from(
            RULES_FROM.outerjoin(
                people,
                sa.and_(
                    people.c.school_id == schools.c.id,
                    people.c.id.in_(sa.bindparam("person_ids", expanding=True)),
                ),
            )
        )
        .where(schools.c.id == sa.bindparam("school_id", type_=sa.Integer))
    )


_COUNTS = _counts_statement()


async def counts_and_rules(
    connection: AsyncConnection, school_id: int, person_ids: Sequence[int]
) -> tuple[dict[int, tuple[int, int]], SchoolMessaging, ZoneInfo]:
    """Unread messages and announcements of each person, and the school's rules and time
    zone (for quiet hours): one statement per chunk of people."""
    counts = dict.fromkeys(person_ids, (0, 0))
    rules_row = None
    for chunk in chunks(list(counts)):
        rows = (
            await connection.execute(_COUNTS, {"school_id": school_id, "person_ids": list(chunk)})
        ).all()
        rules_row = rows[0] if rows else None
        for row in rows:
            if row.person_id is not None:
                counts[int(row.person_id)] = (
                    int(row.unread_messages or 0),
                    int(row.unread_announcements or 0),
                )
    rules, zone = rules_from(rules_row)
    return counts, rules, zone


async def counts_for(
    connection: AsyncConnection, school_id: int, person_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Unread messages and announcements of each person: one statement per chunk."""
    counts, _rules, _zone = await counts_and_rules(connection, school_id, person_ids)
    return counts


async def unread_counts(services: Services, actor: Actor) -> UnreadCounts:
    async with services.engine.connect() as connection:
        messages_count, announcements_count = (
            await counts_for(connection, actor.school_id, [actor.person_id])
        )[actor.person_id]
    return UnreadCounts(messages=messages_count, announcements=announcements_count)


def etag_of(body: bytes) -> str:
    """The quoted ETag of a JSON body (as :func:`kept_for_person` makes them)."""
    return f'"{content_etag(body)}"'


async def unread_counts_cached(services: Services, actor: Actor) -> tuple[bytes, str]:
    """The unread counts as JSON and their ETag, from this process's cache when warm."""

    async def build() -> bytes:
        return _json.encode(await unread_counts(services, actor))

    return await kept_for_person(services.live.cache, actor.person_id, "unread", build)


async def announce_change(
    services: Services,
    school_id: int,
    person_ids: Iterable[int],
    kind: str,
    *,
    title: str = "",
) -> None:
    """After the commit: tell every process the new counts of the people concerned."""
    unique = sorted(set(person_ids))
    if not unique:
        return
    async with services.engine.connect() as connection:
        counts, rules, zone = await counts_and_rules(connection, school_id, unique)
    notify = not is_quiet(rules, services.now().astimezone(zone))
    await services.live.publish(
        services.state,
        LiveEvent(
            kind=kind, origin="", school_id=school_id, counts=counts, notify=notify, title=title
        ),
    )
