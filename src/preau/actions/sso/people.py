"""Who an identity provider signed in: the Préau person whose roster identifier
(``people.source_id``, the import's sourcedId) is one the provider sent, in one of the
schools the provider serves, signed in with a password login's session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


# Built once: each sign-in only binds its values, and SQLAlchemy's cache key of the
# statement is computed once too (a statement built per call costs the event loop
# ~0.2 ms more: bench/capacity_profile.py sso_start sso_login --profile).
_PEOPLE = (
    sa.select(people.c.id, people.c.school_id, people.c.profile, people.c.source_id)
    .select_from(people.join(schools, schools.c.id == people.c.school_id))
    .where(
        people.c.source_id.in_(sa.bindparam("identifiers", expanding=True)),
        people.c.active.is_(True),
        schools.c.active.is_(True),
    )
    .limit(20)
)
_PEOPLE_IN_SCHOOLS = _PEOPLE.where(schools.c.uai.in_(sa.bindparam("uais", expanding=True)))


async def sign_in(
    services: Services,
    *,
    provider: str,
    identifiers: list[str],
    uais: tuple[str, ...],
    label: str,
) -> LoginResult:
    """The active person with one of ``identifiers`` (tried in order) in one of ``uais``,
    signed in: the session of a password login (``accounts.open_session``), with no device
    credential, so a shared computer keeps nothing once the browser closes and the next
    visit asks the provider again. Read and its device recorded on one autocommit
    connection: two round trips, no transaction (the device row is one INSERT)."""
    if not identifiers:
        raise Forbidden(NO_IDENTIFIER, provider=provider)
    async with services.engine.connect() as fresh:
        connection = await fresh.execution_options(isolation_level="AUTOCOMMIT")
        if ALL_SCHOOLS in uais:
            result = await connection.execute(_PEOPLE, {"identifiers": identifiers})
        else:
            result = await connection.execute(
                _PEOPLE_IN_SCHOOLS, {"identifiers": identifiers, "uais": list(uais)}
            )
        actor = _the_person(result.all(), provider, identifiers)
        return await open_session(
            services, actor, remember=False, label=label, connection=connection
        )


def _the_person(rows: Sequence[Any], provider: str, identifiers: list[str]) -> Actor:
    for identifier in identifiers:
        matches = [row for row in rows if row.source_id == identifier]
        if len(matches) > 1:
            raise Forbidden(AMBIGUOUS_PERSON, provider=provider)
        if matches:
            row = matches[0]
            return Actor(int(row.id), int(row.school_id), Profile(row.profile))
    raise Forbidden(UNKNOWN_PERSON, provider=provider, identifier=identifiers[0])
