"""Seed a database for the virtual-class media test: the two-school world, with more
pupils in class a (``python -m tests.browser.virtual_seed N``, settings from PREAU_*)."""

from __future__ import annotations

import asyncio
import sys

from preau.actions.directory import insert_person
from preau.adapters.sql.engine import migrate
from preau.adapters.sql.schema import enrolments, people
from preau.bootstrap import build_services, load_settings
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.helpers import PASSWORD, build_world


async def seed(extra_pupils: int) -> None:
    services = build_services(load_settings())
    try:
        await migrate(services.engine)
        password_hash = await services.passwords.hash(PASSWORD)
        world = await build_world(services, password_hash)
        school = world["a"]
        async with services.engine.begin() as connection:
            for number in range(2, extra_pupils + 2):
                person_id = await insert_person(
                    services,
                    connection,
                    school.id,
                    PersonDraft(
                        given_name=f"Pupil{number}",
                        family_name="SchoolA",
                        profile=Profile.PUPIL,
                        username=f"pupil{number}.a",
                    ),
                )
                await connection.execute(
                    people.update()
                    .where(people.c.id == person_id)
                    .values(password_hash=password_hash)
                )
                await connection.execute(
                    enrolments.insert().values(
                        school_id=school.id,
                        group_id=school.class_id,
                        person_id=person_id,
                        role="pupil",
                    )
                )
    finally:
        await services.state.close()
        await services.engine.dispose()


if __name__ == "__main__":
    asyncio.run(seed(int(sys.argv[1])))
