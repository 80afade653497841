"""What pupils, their parents and staff read through the caches of :mod:`.todo`: a pupil's
to-do, and a pupil's own view of one homework."""

from __future__ import annotations

from preau.actions.access import access_person_by_id
from preau.actions.classwork.hand_ins import get_hand_in
from preau.actions.classwork.homework import get_homework
from preau.actions.classwork.todo import CachedHomework, CachedTodo
from preau.actions.context import Services
from preau.domain.access import Action
from preau.domain.classwork import HOMEWORK_NOT_FOUND
from preau.domain.errors import NotFound
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

ONLY_PUPILS = lazy("Only pupils have a to-do list.")


async def own_homework(services: Services, actor: Actor, homework_id: int) -> CachedHomework:
    """A pupil's own view of one homework (the homework and their hand-in): from this
    process's cache while their to-do key holds, no query; else read with the same access
    checks as :func:`get_homework` and :func:`get_hand_in`, the to-do key taken first."""
    if actor.profile is not Profile.PUPIL:
        raise NotFound(HOMEWORK_NOT_FOUND)
    now = services.clock()
    cache = services.homework_cache
    entry = cache.lookup(actor.school_id, actor.person_id, homework_id, now)
    if entry is not None:
        return entry
    key, zone = await services.todo_cache.key_for_reading(actor.school_id, actor.person_id, now=now)
    entry = cache.lookup(actor.school_id, actor.person_id, homework_id, now)
    if entry is not None:  # the pupil's groups were read again and nothing else changed
        return entry
    work = await get_homework(services, actor, homework_id)
    hand_in = await get_hand_in(services, actor, homework_id, actor.person_id)
    return cache.keep(actor.school_id, key, work, hand_in, zone=zone, now=now)


async def todo_of(services: Services, actor: Actor, pupil_id: int) -> CachedTodo:
    """A pupil's to-do as someone who may see that pupil reads it (the pupil, a parent,
    staff). Served from the same cache as the pupil's own."""
    if not (actor.profile is Profile.PUPIL and actor.person_id == pupil_id):
        async with services.engine.connect() as connection:
            person = await access_person_by_id(connection, actor, pupil_id, Action.READ)
        if person.profile != Profile.PUPIL.value:
            raise NotFound(ONLY_PUPILS)
    elif actor.profile is not Profile.PUPIL:
        raise NotFound(ONLY_PUPILS)
    return await services.todo_cache.todo(actor.school_id, pupil_id, now=services.clock())
