"""Unread counts (cached per person for the warm reads) and the live event that tells every
process the new counts after a commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.actions.messages.queries import chunks
from preau.actions.messages.rules import load_rules
from preau.actions.warm import content_etag, kept_for_person
from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    conversation_participants,
)
from preau.domain.messages import UnreadCounts, is_quiet
from preau.domain.people import Actor
from preau.live import LiveEvent

_json = msgspec.json.Encoder()


async def counts_for(
    connection: AsyncConnection, school_id: int, person_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Unread messages and announcements of each person: two grouped queries per chunk."""
    counts = {person_id: [0, 0] for person_id in person_ids}
    for chunk in chunks(list(counts)):
        message_rows = await connection.execute(
            sa.select(
                conversation_participants.c.person_id,
                sa.func.sum(conversation_participants.c.unread_count).label("n"),
            )
            .where(
                conversation_participants.c.school_id == school_id,
                conversation_participants.c.person_id.in_(chunk),
            )
            .group_by(conversation_participants.c.person_id)
        )
        for row in message_rows:
            counts[int(row.person_id)][0] = int(row.n or 0)
        announcement_rows = await connection.execute(
            sa.select(announcement_recipients.c.person_id, sa.func.count().label("n"))
            .join(announcements, announcements.c.id == announcement_recipients.c.announcement_id)
            .where(
                announcement_recipients.c.school_id == school_id,
                announcements.c.school_id == school_id,
                announcement_recipients.c.person_id.in_(chunk),
                announcement_recipients.c.read_at.is_(None),
                announcements.c.hidden_at.is_(None),
            )
            .group_by(announcement_recipients.c.person_id)
        )
        for row in announcement_rows:
            counts[int(row.person_id)][1] = int(row.n)
    return {person_id: (pair[0], pair[1]) for person_id, pair in counts.items()}


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
        counts = await counts_for(connection, school_id, unique)
        rules, zone = await load_rules(connection, school_id)
    notify = not is_quiet(rules, services.now().astimezone(zone))
    await services.live.publish(
        services.state,
        LiveEvent(
            kind=kind, origin="", school_id=school_id, counts=counts, notify=notify, title=title
        ),
    )
