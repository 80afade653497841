"""The inbox: a person's conversations, newest first, searched or archived, and its first
page cached for the warm reads."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from preau.actions.context import Services
from preau.actions.messages.queries import like_patterns, people_columns, person_ref
from preau.actions.warm import kept_for_person
from preau.adapters.sql.schema import conversation_participants, conversations, messages, people
from preau.domain.directory import check_paging
from preau.domain.messages import ConversationSummary, InboxPage
from preau.domain.people import Actor

INBOX_PAGE_SIZE = 30
_json = msgspec.json.Encoder()


async def list_inbox(
    services: Services,
    actor: Actor,
    *,
    archived: bool = False,
    query: str = "",
    page: int = 1,
    page_size: int = INBOX_PAGE_SIZE,
) -> InboxPage:
    """The actor's conversations, newest first; a search looks in subjects and in the
    messages of the actor's own conversations, archived or not."""
    check_paging(page, page_size)
    conditions: list[sa.ColumnElement[bool]] = [
        conversation_participants.c.school_id == actor.school_id,
        conversation_participants.c.person_id == actor.person_id,
    ]
    patterns = like_patterns(query)
    if patterns:
        conditions.extend(
            sa.or_(
                sa.func.lower(conversations.c.subject).like(pattern),
                conversations.c.id.in_(
                    sa.select(messages.c.conversation_id).where(
                        messages.c.school_id == actor.school_id,
                        messages.c.hidden_at.is_(None),
                        sa.func.lower(messages.c.body).like(pattern),
                    )
                ),
            )
            for pattern in patterns
        )
    else:
        conditions.append(conversation_participants.c.archived.is_(archived))
    starter = people.alias("starter")
    joined = conversation_participants.join(
        conversations,
        sa.and_(
            conversations.c.id == conversation_participants.c.conversation_id,
            conversations.c.school_id == actor.school_id,
        ),
    ).join(starter, starter.c.id == conversations.c.started_by)
    async with services.engine.connect() as connection:
        total = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(joined).where(*conditions)
            )
        ).scalar_one()
        rows = await connection.execute(
            sa.select(
                conversations.c.id,
                conversations.c.subject,
                conversations.c.message_count,
                conversation_participants.c.last_message_at,
                conversation_participants.c.unread_count,
                conversation_participants.c.archived,
                *people_columns(starter, "starter_"),
            )
            .select_from(joined)
            .where(*conditions)
            .order_by(conversation_participants.c.last_message_at.desc(), conversations.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        items = [
            ConversationSummary(
                id=int(row.id),
                subject=row.subject,
                started_by=person_ref(row, "starter_"),
                last_message_at=row.last_message_at,
                message_count=int(row.message_count),
                unread_count=int(row.unread_count),
                archived=bool(row.archived),
            )
            for row in rows
        ]
    return InboxPage(page=page, page_size=page_size, total=total, items=items)


async def inbox_cached(services: Services, actor: Actor) -> tuple[bytes, str]:
    """The first page of the inbox as JSON and its ETag; warm, it costs no I/O."""

    async def build() -> bytes:
        return _json.encode(await list_inbox(services, actor))

    return await kept_for_person(services.live.cache, actor.person_id, "inbox", build)
