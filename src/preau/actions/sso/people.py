"""Who an identity provider signed in: the Préau person whose roster identifier
(``people.source_id``, the import's sourcedId) is one the provider sent, in one of the
schools the provider serves. The session is a password login's (``accounts.open_session``)."""

from __future__ import annotations

import sqlalchemy as sa

from preau.actions.accounts import LoginResult, open_session
from preau.actions.context import Services
from preau.adapters.sql.schema import people, schools
from preau.domain.errors import Forbidden
from preau.domain.people import Actor, Profile
from preau.domain.sso import ALL_SCHOOLS
from preau.i18n import lazy

UNKNOWN_PERSON = lazy(
    "{provider} signed you in, but no one in Préau has this account ({identifier}). Your "
    "school's office adds people from the school's roster: ask them to check that you are on "
    "it, then try again."
)
NO_IDENTIFIER = lazy(
    "{provider} signed you in but did not say who you are (no identifier was sent). Ask your "
    "school's office to check how Préau is connected to {provider}."
)
AMBIGUOUS_PERSON = lazy(
    "{provider} signed you in, but this account matches more than one person in Préau. Ask "
    "your school's office to check the roster."
)


async def find_person(
    services: Services, *, provider: str, identifiers: list[str], uais: tuple[str, ...]
) -> Actor:
    """The active person with one of ``identifiers`` (tried in order) in one of ``uais``."""
    if not identifiers:
        raise Forbidden(NO_IDENTIFIER, provider=provider)
    query = (
        sa.select(people.c.id, people.c.school_id, people.c.profile, people.c.source_id)
        .select_from(people.join(schools, schools.c.id == people.c.school_id))
        .where(
            people.c.source_id.in_(identifiers),
            people.c.active.is_(True),
            schools.c.active.is_(True),
        )
    )
    if ALL_SCHOOLS not in uais:
        query = query.where(schools.c.uai.in_(uais))
    async with services.engine.connect() as connection:
        rows = (await connection.execute(query.limit(20))).all()
    for identifier in identifiers:
        matches = [row for row in rows if row.source_id == identifier]
        if len(matches) > 1:
            raise Forbidden(AMBIGUOUS_PERSON, provider=provider)
        if matches:
            row = matches[0]
            return Actor(int(row.id), int(row.school_id), Profile(row.profile))
    raise Forbidden(UNKNOWN_PERSON, provider=provider, identifier=identifiers[0])


async def sign_in(services: Services, actor: Actor, *, label: str) -> LoginResult:
    """The same session as a password login's; no device credential, so a shared computer
    keeps nothing once the browser closes and the next visit asks the provider again."""
    return await open_session(services, actor, remember=False, label=label)
