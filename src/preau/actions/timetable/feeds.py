"""Calendar feeds: a secret address per person that calendar apps read (iCalendar) with no
session, looked up by the secret's hash, so a revoked or replaced secret is simply not
found."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.actions.timetable.lessons import occurrences_for_person
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import calendar_feeds, people
from preau.domain.errors import NotFound
from preau.domain.people import Actor
from preau.domain.timetable import FEED_WEEKS_AFTER, FEED_WEEKS_BEFORE, calendar_feed, monday_of
from preau.domain.tokens import fingerprint
from preau.i18n import lazy

FEED_NOT_FOUND = lazy("This calendar address does not exist or was revoked.")


async def new_feed_secret(services: Services, actor: Actor) -> str:
    """A new secret feed address for the actor; any earlier one stops working."""
    secret = secrets.token_urlsafe(32)
    now = services.now()
    async with services.engine.begin() as connection:
        await _revoke(connection, actor, now)
        await connection.execute(
            calendar_feeds.insert().values(
                school_id=actor.school_id,
                person_id=actor.person_id,
                secret_hash=fingerprint(secret),
                created_at=now,
            )
        )
    return secret


async def _revoke(connection: AsyncConnection, actor: Actor, now: datetime) -> int:
    result = await connection.execute(
        calendar_feeds.update()
        .where(
            calendar_feeds.c.school_id == actor.school_id,
            calendar_feeds.c.person_id == actor.person_id,
            calendar_feeds.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount)


async def revoke_feed(services: Services, actor: Actor) -> bool:
    async with services.engine.begin() as connection:
        return await _revoke(connection, actor, services.now()) > 0


async def has_feed(services: Services, actor: Actor) -> bool:
    async with services.engine.connect() as connection:
        found = await connection.execute(
            sa.select(calendar_feeds.c.id).where(
                calendar_feeds.c.school_id == actor.school_id,
                calendar_feeds.c.person_id == actor.person_id,
                calendar_feeds.c.revoked_at.is_(None),
            )
        )
        return found.first() is not None


async def feed_by_secret(services: Services, secret: str) -> bytes:
    """The iCalendar text of the person holding ``secret``: four weeks back, sixteen ahead."""
    if not 20 <= len(secret) <= 100:
        raise NotFound(FEED_NOT_FOUND)
    async with services.engine.connect() as connection:
        feed = (
            await connection.execute(
                sa.select(calendar_feeds.c.school_id, calendar_feeds.c.person_id).where(
                    calendar_feeds.c.secret_hash == fingerprint(secret),
                    calendar_feeds.c.revoked_at.is_(None),
                )
            )
        ).first()
        if feed is None:
            raise NotFound(FEED_NOT_FOUND)
        person = (
            await connection.execute(
                sa.select(people).where(
                    people.c.id == feed.person_id,
                    people.c.school_id == feed.school_id,
                    people.c.active.is_(True),
                )
            )
        ).first()
        if person is None:
            raise NotFound(FEED_NOT_FOUND)
        now = services.now()
        zone = await school_zone(services, feed.school_id, connection)
        first = monday_of(now.astimezone(zone).date()) - timedelta(weeks=FEED_WEEKS_BEFORE)
        days = 7 * (FEED_WEEKS_BEFORE + FEED_WEEKS_AFTER)
        occurrences = await occurrences_for_person(
            connection, feed.school_id, person, first, days, zone=zone
        )
    title = f"Préau — {person.given_name} {person.family_name}"
    return calendar_feed(occurrences, title=title, stamp=now, zone=zone)
