"""The platform: the waiting room's operators."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    NOT_OPERATOR,
)
from preau.adapters.sql.schema import (
    schools,
)
from preau.domain.errors import Forbidden
from preau.domain.people import Actor, Profile

# -- the platform ----------------------------------------------------------------------------


async def access_platform_operator(
    connection: AsyncConnection, actor: Actor, operator_uais: str
) -> None:
    """The waiting room is the whole platform's: only administrators of the schools named
    in ``PREAU_OPERATOR_UAIS`` run it. Others are told it is not theirs."""
    allowed = {uai.strip().upper() for uai in operator_uais.split(",") if uai.strip()}
    if actor.profile is Profile.ADMIN and allowed:
        uai = (
            await connection.execute(
                sa.select(schools.c.uai).where(schools.c.id == actor.school_id)
            )
        ).scalar()
        if uai in allowed:
            return
    raise Forbidden(NOT_OPERATOR)
