"""Whom a message goes to: the recipients a conversation draft resolves to under the rules,
the pupils and parents of groups, and the contacts the compose form offers."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_groups_for_conversation
from preau.actions.context import Services
from preau.actions.messages.queries import chunks, like_patterns, people_columns, person_ref
from preau.actions.messages.rules import RULES_COLUMNS, RULES_FROM, rules_from, sender_circle
from preau.adapters.sql.schema import enrolments, groups, parent_links, people, schools
from preau.domain.errors import Forbidden, InvalidInput
from preau.domain.messages import (
    ADDRESS_GROUPS,
    INACTIVE_RECIPIENT,
    MAX_GROUPS,
    MAX_RECIPIENTS,
    MODERATORS,
    Contact,
    Contacts,
    ConversationDraft,
    GroupRef,
    PersonRef,
    display_name,
    group_refusal,
    write_refusal,
)
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

UNKNOWN_PEOPLE = lazy(
    "Some recipients do not exist or are not in your school. Choose them from the list."
)
NO_RECIPIENT = lazy("Choose at least one recipient.")
TOO_MANY_RECIPIENTS = lazy("A message can go to at most {limit} people at once.")
TOO_MANY_GROUPS = lazy("Choose at most {limit} classes or groups at once.")
EMPTY_GROUPS = lazy("Nobody would receive this: the classes or groups chosen have no pupils yet.")
CONTACTS_SHOWN = 300


async def resolve_recipients(
    connection: AsyncConnection, actor: Actor, draft: ConversationDraft
) -> list[int]:
    """Everyone the draft addresses, checked against the rules; raises before any write."""
    person_ids = sorted(set(draft.person_ids))
    group_ids = sorted(set(draft.group_ids) | set(draft.parents_of_group_ids))
    if len(person_ids) > MAX_RECIPIENTS:
        raise InvalidInput(TOO_MANY_RECIPIENTS, field="person_ids", limit=MAX_RECIPIENTS)
    if len(group_ids) > MAX_GROUPS:
        raise InvalidInput(TOO_MANY_GROUPS, field="group_ids", limit=MAX_GROUPS)
    if group_ids and (refusal := group_refusal(actor)) is not None:
        raise Forbidden(refusal, field="group_ids")
    chosen = await _named_people(connection, actor, person_ids)
    if group_ids:
        chosen.extend(await _group_members(connection, actor, draft, group_ids))
    recipients = sorted(set(chosen) - {actor.person_id})
    if not recipients:
        raise InvalidInput(NO_RECIPIENT if not group_ids else EMPTY_GROUPS, field="person_ids")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(TOO_MANY_RECIPIENTS, field="group_ids", limit=MAX_RECIPIENTS)
    return recipients


# Built once: the people a draft names, with the school's rules beside each.
_NAMED_PEOPLE = (
    sa.select(
        people.c.id,
        people.c.profile,
        people.c.active,
        people.c.given_name,
        people.c.family_name,
        *RULES_COLUMNS,
    )
    .select_from(RULES_FROM.join(people, people.c.school_id == schools.c.id))
    .where(
        schools.c.id == sa.bindparam("school_id", type_=sa.Integer),
        people.c.id.in_(sa.bindparam("person_ids", expanding=True)),
    )
)


async def _named_people(
    connection: AsyncConnection, actor: Actor, person_ids: Sequence[int]
) -> list[int]:
    """The people the draft names, each one the actor may write to under the school's rules."""
    if not person_ids:
        return []
    rows = (
        await connection.execute(
            _NAMED_PEOPLE, {"school_id": actor.school_id, "person_ids": list(person_ids)}
        )
    ).all()
    if len(rows) != len(person_ids):
        raise InvalidInput(UNKNOWN_PEOPLE, field="person_ids")
    rules, _zone = rules_from(rows[0])
    circle = await sender_circle(connection, actor)
    chosen: list[int] = []
    for row in rows:
        contact = Contact(
            person_id=int(row.id),
            school_id=actor.school_id,
            profile=Profile(row.profile),
            active=bool(row.active),
            name=display_name(row.given_name, row.family_name),
        )
        refusal = write_refusal(actor, contact, circle, rules)
        if refusal is not None:
            if refusal == INACTIVE_RECIPIENT:
                raise InvalidInput(refusal, field="person_ids", name=contact.name)
            raise Forbidden(refusal, field="person_ids")
        chosen.append(contact.person_id)
    return chosen


async def _group_members(
    connection: AsyncConnection, actor: Actor, draft: ConversationDraft, group_ids: Sequence[int]
) -> list[int]:
    """The pupils of the groups the draft writes to, and the parents of the pupils of the
    groups it writes to the parents of, once the actor may address every one of them."""
    pupils_of_group = await access_groups_for_conversation(connection, actor, group_ids)
    pupils = set().union(*(pupils_of_group[group_id] for group_id in set(draft.group_ids)))
    children = set().union(
        *(pupils_of_group[group_id] for group_id in set(draft.parents_of_group_ids))
    )
    parents = await parents_of(connection, actor.school_id, sorted(children))
    return [*pupils, *parents]


async def pupils_of(
    connection: AsyncConnection, school_id: int, group_ids: Sequence[int]
) -> list[int]:
    if not group_ids:
        return []
    rows = await connection.execute(
        sa.select(enrolments.c.person_id)
        .join(people, people.c.id == enrolments.c.person_id)
        .where(
            enrolments.c.school_id == school_id,
            people.c.school_id == school_id,
            enrolments.c.group_id.in_(group_ids),
            enrolments.c.role == "pupil",
            people.c.active.is_(True),
        )
    )
    return sorted({int(row.person_id) for row in rows})


async def parents_of(
    connection: AsyncConnection, school_id: int, pupil_ids: Sequence[int]
) -> list[int]:
    found: set[int] = set()
    for chunk in chunks(pupil_ids):
        rows = await connection.execute(
            sa.select(parent_links.c.parent_id)
            .join(people, people.c.id == parent_links.c.parent_id)
            .where(
                parent_links.c.school_id == school_id,
                people.c.school_id == school_id,
                parent_links.c.child_id.in_(chunk),
                people.c.active.is_(True),
            )
        )
        found.update(int(row.parent_id) for row in rows)
    return sorted(found)


async def list_contacts(services: Services, actor: Actor, *, query: str = "") -> Contacts:
    """Whom the compose form offers: for teachers and staff everyone in the school (and
    classes); for pupils and parents their (children's) teachers and the school staff,
    and a pupil's classmates (whom the rules may still refuse). ``query`` narrows people
    by name and classes and groups by theirs (every word must match)."""
    conditions: list[sa.ColumnElement[bool]] = [
        people.c.school_id == actor.school_id,
        people.c.active.is_(True),
        people.c.id != actor.person_id,
    ]
    conditions.extend(
        sa.or_(
            sa.func.lower(people.c.family_name).like(pattern),
            sa.func.lower(people.c.given_name).like(pattern),
        )
        for pattern in like_patterns(query)
    )
    async with services.engine.connect() as connection:
        circle = await sender_circle(connection, actor)
        group_list: list[GroupRef] = []
        classmates: list[PersonRef] = []
        if actor.profile in ADDRESS_GROUPS:
            scope: sa.ColumnElement[bool] = sa.true()
            group_rows = await connection.execute(
                sa.select(groups.c.id, groups.c.name)
                .where(
                    groups.c.school_id == actor.school_id,
                    groups.c.active.is_(True),
                    *(sa.func.lower(groups.c.name).like(p) for p in like_patterns(query)),
                )
                .order_by(groups.c.kind, groups.c.name)
                .limit(CONTACTS_SHOWN)
            )
            group_list = [GroupRef(id=int(row.id), name=row.name) for row in group_rows]
        else:
            scope = sa.or_(
                people.c.profile.in_([profile.value for profile in MODERATORS]),
                people.c.id.in_(sorted(circle.teacher_ids)),
            )
            if circle.classmate_ids:
                classmate_rows = await connection.execute(
                    sa.select(*people_columns(people, ""))
                    .where(*conditions, people.c.id.in_(sorted(circle.classmate_ids)))
                    .order_by(people.c.family_name, people.c.given_name)
                    .limit(CONTACTS_SHOWN)
                )
                classmates = [person_ref(row) for row in classmate_rows]
        rows = await connection.execute(
            sa.select(*people_columns(people, ""))
            .where(*conditions, scope)
            .order_by(people.c.profile.desc(), people.c.family_name, people.c.given_name)
            .limit(CONTACTS_SHOWN)
        )
        return Contacts(
            people=[person_ref(row) for row in rows], classmates=classmates, groups=group_list
        )
