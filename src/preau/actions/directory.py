"""The directory: schools, classes and groups, people, enrolments and parent links."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_group_by_id,
    access_person_by_id,
    enforce,
    visible_groups,
)
from preau.actions.classwork.todo import group_scope
from preau.actions.context import Services
from preau.actions.skill_frameworks import seed_socle
from preau.actions.warm import bump_versions
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    homework,
    parent_links,
    people,
    school_years,
    schools,
)
from preau.domain.access import Action, directory_decision
from preau.domain.directory import (
    EnrolmentDraft,
    GroupChanges,
    GroupDraft,
    GroupsPage,
    GroupView,
    MemberView,
    ParentLinkDraft,
    PeoplePage,
    PersonChanges,
    PersonDraft,
    PersonView,
    check_group_name,
    check_paging,
    check_person_draft,
    optional_text,
)
from preau.domain.errors import Conflict, InvalidInput, NotFound
from preau.domain.people import (
    STAFF_PROFILES,
    Actor,
    EnrolmentRole,
    GroupKind,
    Profile,
    check_email,
    check_name,
    check_uai,
    username_base,
)


def person_view(row: sa.Row[tuple[object, ...]]) -> PersonView:
    mapping = row._mapping
    return PersonView(
        id=mapping["id"],
        school_id=mapping["school_id"],
        profile=Profile(mapping["profile"]),
        username=mapping["username"],
        given_name=mapping["given_name"],
        family_name=mapping["family_name"],
        email=mapping["email"],
        active=mapping["active"],
        activated=mapping["password_hash"] is not None,
    )


def group_view(row: sa.Row[tuple[object, ...]], member_count: int = 0) -> GroupView:
    mapping = row._mapping
    return GroupView(
        id=mapping["id"],
        school_id=mapping["school_id"],
        kind=GroupKind(mapping["kind"]),
        name=mapping["name"],
        level=mapping["level"],
        subject=mapping["subject"],
        active=mapping["active"],
        member_count=member_count,
    )


# -- schools (operator commands) -------------------------------------------------------


async def create_school(
    services: Services, *, uai: str, name: str, timezone: str = "Europe/Paris"
) -> int:
    uai = check_uai(uai)
    name = check_name(name, "name")
    async with services.engine.begin() as connection:
        existing = (
            await connection.execute(sa.select(schools.c.id).where(schools.c.uai == uai))
        ).scalar()
        if existing is not None:
            return int(existing)
        result = await connection.execute(
            schools.insert().values(
                uai=uai, name=name, timezone=timezone, created_at=services.now()
            )
        )
        school_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        year = services.now().year if services.now().month >= 8 else services.now().year - 1
        await connection.execute(
            school_years.insert().values(
                school_id=school_id,
                name=f"{year}-{year + 1}",
                starts_on=date(year, 9, 1),
                ends_on=date(year + 1, 7, 4),
            )
        )
        await seed_socle(connection, school_id, now=services.now())
        return school_id


async def school_by_uai(services: Services, uai: str) -> sa.Row[tuple[object, ...]]:
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(sa.select(schools).where(schools.c.uai == check_uai(uai)))
        ).first()
    if row is None:
        raise NotFound("No school has the UAI {uai}.", uai=uai)
    return row


async def school_name(services: Services, school_id: int) -> str:
    async with services.engine.connect() as connection:
        name = (
            await connection.execute(sa.select(schools.c.name).where(schools.c.id == school_id))
        ).scalar_one()
    return str(name)


# -- people ----------------------------------------------------------------------------


async def free_username(connection: AsyncConnection, base: str) -> str:
    taken = {
        row.username
        for row in await connection.execute(
            sa.select(people.c.username).where(
                sa.or_(people.c.username == base, people.c.username.like(base + "%"))
            )
        )
    }
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


async def insert_person(
    services: Services, connection: AsyncConnection, school_id: int, draft: PersonDraft
) -> int:
    """Insert a checked draft; the caller has authorised it and owns the transaction."""
    username = draft.username or await free_username(
        connection, username_base(draft.given_name, draft.family_name)
    )
    now = services.now()
    try:
        async with connection.begin_nested():
            result = await connection.execute(
                people.insert().values(
                    school_id=school_id,
                    profile=draft.profile.value,
                    username=username,
                    given_name=draft.given_name,
                    family_name=draft.family_name,
                    email=draft.email,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        raise Conflict(
            "The username {username} is already taken. Choose another or leave it empty.",
            field="username",
            username=username,
        ) from None
    return int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty


async def create_person(services: Services, actor: Actor, draft: PersonDraft) -> PersonView:
    enforce(directory_decision(actor, Action.CHANGE, school_id=actor.school_id))
    draft = check_person_draft(draft)
    async with services.engine.begin() as connection:
        person_id = await insert_person(services, connection, actor.school_id, draft)
        row = await access_person_by_id(connection, actor, person_id, Action.READ)
    return person_view(row)


async def get_person(services: Services, actor: Actor, person_id: int) -> PersonView:
    async with services.engine.connect() as connection:
        return person_view(await access_person_by_id(connection, actor, person_id, Action.READ))


async def update_person(  # noqa: C901 - each optional field of the form is checked and applied in turn
    services: Services, actor: Actor, person_id: int, changes: PersonChanges
) -> PersonView:
    values: dict[str, object] = {}
    if changes.given_name is not None:
        values["given_name"] = check_name(changes.given_name, "given_name")
    if changes.family_name is not None:
        values["family_name"] = check_name(changes.family_name, "family_name")
    if changes.profile is not None:
        values["profile"] = changes.profile.value
    if changes.email is not None:
        values["email"] = check_email(changes.email)
    if changes.active is not None:
        values["active"] = changes.active
    now = services.clock()
    async with services.engine.begin() as connection:
        await access_person_by_id(connection, actor, person_id, Action.CHANGE)
        if person_id == actor.person_id and (
            changes.active is False or changes.profile not in (None, Profile.ADMIN)
        ):
            raise InvalidInput(
                "You cannot deactivate your own account or remove your own administrator role."
            )
        bumped: dict[str, int] = {}
        if values:
            values["updated_at"] = services.now()
            await connection.execute(
                people.update()
                .where(people.c.school_id == actor.school_id, people.c.id == person_id)
                .values(**values)
            )
            if "given_name" in values or "family_name" in values:
                bumped = await _authors_homework_changed(services, connection, actor, person_id)
        ends_sessions = changes.active is False or changes.profile is not None
        if ends_sessions:
            await services.sessions.revoke_person(
                connection,
                school_id=actor.school_id,
                person_id=person_id,
                keep_device=None,
                now=now,
            )
        row = await access_person_by_id(connection, actor, person_id, Action.READ)
    if ends_sessions:
        await services.sessions.announce_person(person_id, after=now)
    await services.versions.announce(actor.school_id, bumped)
    return person_view(row)


async def _authors_homework_changed(
    services: Services, connection: AsyncConnection, actor: Actor, person_id: int
) -> dict[str, int]:
    """A teacher's name is shown on the homework they set (the pupil's cached page for it):
    inside the renaming transaction, bump the groups of that homework."""
    group_ids = (
        await connection.execute(
            sa.select(homework.c.group_id)
            .where(
                homework.c.school_id == actor.school_id,
                homework.c.author_id == person_id,
                homework.c.deleted_at.is_(None),
            )
            .distinct()
        )
    ).scalars()
    scopes = [group_scope(group_id) for group_id in group_ids]
    return await bump_versions(connection, actor.school_id, scopes, now=services.now())


async def list_people(
    services: Services,
    actor: Actor,
    *,
    query: str = "",
    profile: Profile | None = None,
    group_id: int | None = None,
    include_inactive: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> PeoplePage:
    enforce(directory_decision(actor, Action.READ, school_id=actor.school_id))
    page, page_size = check_paging(page, page_size)
    conditions: list[sa.ColumnElement[bool]] = [people.c.school_id == actor.school_id]
    if query.strip():
        for word in query.split()[:5]:
            pattern = "%" + word.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
            conditions.append(
                sa.or_(
                    sa.func.lower(people.c.family_name).like(pattern),
                    sa.func.lower(people.c.given_name).like(pattern),
                    people.c.username.like(pattern),
                )
            )
    if profile is not None:
        conditions.append(people.c.profile == profile.value)
    if not include_inactive:
        conditions.append(people.c.active.is_(True))
    if group_id is not None:
        conditions.append(
            people.c.id.in_(
                sa.select(enrolments.c.person_id).where(
                    enrolments.c.school_id == actor.school_id, enrolments.c.group_id == group_id
                )
            )
        )
    async with services.engine.connect() as connection:
        total = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(people).where(*conditions)
            )
        ).scalar_one()
        rows = await connection.execute(
            sa.select(people)
            .where(*conditions)
            .order_by(people.c.family_name, people.c.given_name, people.c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        items = [person_view(row) for row in rows]
    return PeoplePage(page=page, page_size=page_size, total=total, items=items)


# -- classes and groups ----------------------------------------------------------------


async def create_group(services: Services, actor: Actor, draft: GroupDraft) -> GroupView:
    enforce(directory_decision(actor, Action.CHANGE, school_id=actor.school_id))
    name = check_group_name(draft.name)
    async with services.engine.begin() as connection:
        year_id = (
            await connection.execute(
                sa.select(school_years.c.id)
                .where(school_years.c.school_id == actor.school_id)
                .order_by(school_years.c.starts_on.desc())
                .limit(1)
            )
        ).scalar()
        result = await connection.execute(
            groups.insert().values(
                school_id=actor.school_id,
                kind=draft.kind.value,
                name=name,
                level=optional_text(draft.level, "level"),
                subject=optional_text(draft.subject, "subject"),
                school_year_id=year_id,
            )
        )
        group_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        row = await access_group_by_id(connection, actor, group_id, Action.READ)
    return group_view(row)


async def get_group(
    services: Services, actor: Actor, group_id: int
) -> tuple[GroupView, list[MemberView]]:
    async with services.engine.connect() as connection:
        row = await access_group_by_id(connection, actor, group_id, Action.READ)
        members = await _members(connection, actor, group_id)
    return group_view(row, len(members)), members


async def _members(connection: AsyncConnection, actor: Actor, group_id: int) -> list[MemberView]:
    rows = await connection.execute(
        sa.select(
            people.c.id,
            people.c.given_name,
            people.c.family_name,
            people.c.profile,
            enrolments.c.role,
            enrolments.c.subject,
        )
        .join(people, people.c.id == enrolments.c.person_id)
        .where(enrolments.c.school_id == actor.school_id, enrolments.c.group_id == group_id)
        .order_by(enrolments.c.role.desc(), people.c.family_name, people.c.given_name)
    )
    members = [
        MemberView(
            person_id=row.id,
            given_name=row.given_name,
            family_name=row.family_name,
            profile=Profile(row.profile),
            role=EnrolmentRole(row.role),
            subject=row.subject,
        )
        for row in rows
    ]
    if actor.profile in STAFF_PROFILES:
        return members
    # Pupils and parents see the teachers and the pupils' names, nothing more.
    return [m for m in members if m.role is EnrolmentRole.TEACHER or m.profile is Profile.PUPIL]


async def update_group(
    services: Services, actor: Actor, group_id: int, changes: GroupChanges
) -> GroupView:
    values: dict[str, object] = {}
    if changes.name is not None:
        values["name"] = check_group_name(changes.name)
    if changes.level is not None:
        values["level"] = optional_text(changes.level, "level")
    if changes.subject is not None:
        values["subject"] = optional_text(changes.subject, "subject")
    if changes.active is not None:
        values["active"] = changes.active
    bumped: dict[str, int] = {}
    async with services.engine.begin() as connection:
        await access_group_by_id(connection, actor, group_id, Action.CHANGE)
        if values:
            await connection.execute(
                groups.update()
                .where(groups.c.school_id == actor.school_id, groups.c.id == group_id)
                .values(**values)
            )
            # The group's name and subject are shown in its pupils' cached to-dos and
            # homework pages: move them on, as a homework write does.
            bumped = await bump_versions(
                connection, actor.school_id, [group_scope(group_id)], now=services.now()
            )
        row = await access_group_by_id(connection, actor, group_id, Action.READ)
    await services.versions.announce(actor.school_id, bumped)
    return group_view(row)


async def list_groups(
    services: Services,
    actor: Actor,
    *,
    query: str = "",
    include_inactive: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> GroupsPage:
    page, page_size = check_paging(page, page_size)
    conditions: list[sa.ColumnElement[bool]] = [groups.c.school_id == actor.school_id]
    if not include_inactive:
        conditions.append(groups.c.active.is_(True))
    if query.strip():
        conditions.append(sa.func.lower(groups.c.name).like("%" + query.strip().lower() + "%"))
    async with services.engine.connect() as connection:
        conditions.extend(await visible_groups(connection, actor))
        total = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(groups).where(*conditions)
            )
        ).scalar_one()
        counts = (
            sa.select(enrolments.c.group_id, sa.func.count().label("n"))
            .where(enrolments.c.school_id == actor.school_id)
            .group_by(enrolments.c.group_id)
            .subquery()
        )
        rows = await connection.execute(
            sa.select(groups, sa.func.coalesce(counts.c.n, 0).label("member_count"))
            .outerjoin(counts, counts.c.group_id == groups.c.id)
            .where(*conditions)
            .order_by(groups.c.kind, groups.c.name, groups.c.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        items = [group_view(row, row.member_count) for row in rows]
    return GroupsPage(page=page, page_size=page_size, total=total, items=items)


async def enrol(services: Services, actor: Actor, group_id: int, draft: EnrolmentDraft) -> None:
    async with services.engine.begin() as connection:
        group = await access_group_by_id(connection, actor, group_id, Action.CHANGE)
        person = await access_person_by_id(connection, actor, draft.person_id, Action.CHANGE)
        expected = Profile.PUPIL if draft.role is EnrolmentRole.PUPIL else None
        if expected is not None and person.profile != expected.value:
            raise InvalidInput("Only pupils can be enrolled as pupils.", field="person_id")
        if draft.role is EnrolmentRole.TEACHER and person.profile not in (
            "teacher",
            "staff",
            "admin",
        ):
            raise InvalidInput(
                "Only teachers and staff can teach a class or group.", field="person_id"
            )
        try:
            async with connection.begin_nested():
                await connection.execute(
                    enrolments.insert().values(
                        school_id=actor.school_id,
                        group_id=group.id,
                        person_id=person.id,
                        role=draft.role.value,
                        subject=optional_text(draft.subject, "subject") or group.subject,
                    )
                )
        except IntegrityError:
            raise Conflict("This person is already in this class or group.") from None


async def unenrol(services: Services, actor: Actor, group_id: int, person_id: int) -> None:
    async with services.engine.begin() as connection:
        await access_group_by_id(connection, actor, group_id, Action.CHANGE)
        result = await connection.execute(
            enrolments.delete().where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == group_id,
                enrolments.c.person_id == person_id,
            )
        )
        if result.rowcount == 0:
            raise NotFound("This person is not in this class or group.")


async def link_parent(services: Services, actor: Actor, draft: ParentLinkDraft) -> None:
    async with services.engine.begin() as connection:
        parent = await access_person_by_id(connection, actor, draft.parent_id, Action.CHANGE)
        child = await access_person_by_id(connection, actor, draft.child_id, Action.CHANGE)
        if parent.profile != Profile.PARENT.value:
            raise InvalidInput("The first person must have the parent profile.", field="parent_id")
        if child.profile != Profile.PUPIL.value:
            raise InvalidInput("A parent can only be linked to a pupil.", field="child_id")
        try:
            async with connection.begin_nested():
                await connection.execute(
                    parent_links.insert().values(
                        school_id=actor.school_id, parent_id=parent.id, child_id=child.id
                    )
                )
        except IntegrityError:
            raise Conflict("This parent is already linked to this pupil.") from None


async def unlink_parent(services: Services, actor: Actor, draft: ParentLinkDraft) -> None:
    async with services.engine.begin() as connection:
        await access_person_by_id(connection, actor, draft.parent_id, Action.CHANGE)
        result = await connection.execute(
            parent_links.delete().where(
                parent_links.c.school_id == actor.school_id,
                parent_links.c.parent_id == draft.parent_id,
                parent_links.c.child_id == draft.child_id,
            )
        )
        if result.rowcount == 0:
            raise NotFound("This parent is not linked to this pupil.")


async def relatives(services: Services, actor: Actor, person_id: int) -> list[PersonView]:
    """A pupil's parents, or a parent's children, as the actor may see them."""
    async with services.engine.connect() as connection:
        person = await access_person_by_id(connection, actor, person_id, Action.READ)
        if person.profile == Profile.PARENT.value:
            other, this = parent_links.c.child_id, parent_links.c.parent_id
        else:
            other, this = parent_links.c.parent_id, parent_links.c.child_id
        rows = await connection.execute(
            sa.select(people)
            .join(parent_links, other == people.c.id)
            .where(parent_links.c.school_id == actor.school_id, this == person_id)
            .order_by(people.c.family_name, people.c.given_name)
        )
        return [person_view(row) for row in rows]


async def my_groups(services: Services, actor: Actor) -> list[GroupView]:
    """The classes and groups the actor is in or teaches (the home page)."""
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(groups)
            .join(enrolments, enrolments.c.group_id == groups.c.id)
            .where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.person_id == actor.person_id,
                groups.c.active.is_(True),
            )
            .order_by(groups.c.kind, groups.c.name)
        )
        return [group_view(row) for row in rows]
