"""The time zone of a school, read once per process: a school's zone is set when it is
created and never changes, so the pages that show local times run no query for it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.context import Services
from preau.adapters.sql.schema import schools
from preau.domain.zones import zone_named


async def school_zone(
    services: Services, school_id: int, connection: AsyncConnection | None = None
) -> ZoneInfo:
    """The school's time zone; on the process's first ask, read through ``connection``
    (the caller's transaction) or a connection of its own."""
    zone = services.zones.get(school_id)
    if zone is None:
        query = sa.select(schools.c.timezone).where(schools.c.id == school_id)
        if connection is None:
            async with services.engine.connect() as own:
                name = (await own.execute(query)).scalar_one()
        else:
            name = (await connection.execute(query)).scalar_one()
        zone = services.zones[school_id] = zone_named(str(name))
    return zone
