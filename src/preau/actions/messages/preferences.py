"""A person's notification preferences (the daily email digest)."""

from __future__ import annotations

import sqlalchemy as sa

from preau.actions.context import Services
from preau.adapters.sql.schema import notification_preferences
from preau.domain.messages import NotificationPreferences
from preau.domain.people import Actor


async def get_preferences(services: Services, actor: Actor) -> NotificationPreferences:
    async with services.engine.connect() as connection:
        value = (
            await connection.execute(
                sa.select(notification_preferences.c.email_digest).where(
                    notification_preferences.c.school_id == actor.school_id,
                    notification_preferences.c.person_id == actor.person_id,
                )
            )
        ).scalar()
    return NotificationPreferences(email_digest=True if value is None else bool(value))


async def set_preferences(
    services: Services, actor: Actor, preferences: NotificationPreferences
) -> NotificationPreferences:
    values = {"email_digest": preferences.email_digest, "updated_at": services.now()}
    async with services.engine.begin() as connection:
        updated = await connection.execute(
            notification_preferences.update()
            .where(
                notification_preferences.c.school_id == actor.school_id,
                notification_preferences.c.person_id == actor.person_id,
            )
            .values(**values)
        )
        if updated.rowcount == 0:
            await connection.execute(
                notification_preferences.insert().values(
                    school_id=actor.school_id, person_id=actor.person_id, **values
                )
            )
    return preferences
