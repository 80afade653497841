"""What the database already holds for the schools an import touches, loaded once and indexed
by sourcedId, then kept in step with what each committed file wrote."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.adapters.sql.schema import (
    enrolments,
    groups,
    parent_links,
    people,
    school_years,
    schools,
)


class StoredSchool(NamedTuple):
    id: int
    uai: str
    name: str
    source_id: str | None
    active: bool

    @property
    def school_id(self) -> int:
        """A school is its own tenant, so the checks that take a record's school take its id."""
        return self.id


class StoredYear(NamedTuple):
    id: int
    school_id: int
    name: str
    starts_on: date
    ends_on: date
    source_id: str | None


class StoredGroup(NamedTuple):
    id: int
    school_id: int
    kind: str
    name: str
    level: str | None
    subject: str | None
    school_year_id: int | None
    active: bool
    source_id: str | None


class StoredPerson(NamedTuple):
    id: int
    school_id: int
    profile: str
    username: str
    given_name: str
    family_name: str
    email: str | None
    active: bool
    source_id: str | None


class StoredEnrolment(NamedTuple):
    id: int
    school_id: int
    group_id: int
    person_id: int
    role: str
    subject: str | None
    source_id: str | None


SCHOOL_COLUMNS = (
    schools.c.id,
    schools.c.uai,
    schools.c.name,
    schools.c.source_id,
    schools.c.active,
)
YEAR_COLUMNS = (
    school_years.c.id,
    school_years.c.school_id,
    school_years.c.name,
    school_years.c.starts_on,
    school_years.c.ends_on,
    school_years.c.source_id,
)
GROUP_COLUMNS = (
    groups.c.id,
    groups.c.school_id,
    groups.c.kind,
    groups.c.name,
    groups.c.level,
    groups.c.subject,
    groups.c.school_year_id,
    groups.c.active,
    groups.c.source_id,
)
PERSON_COLUMNS = (
    people.c.id,
    people.c.school_id,
    people.c.profile,
    people.c.username,
    people.c.given_name,
    people.c.family_name,
    people.c.email,
    people.c.active,
    people.c.source_id,
)
ENROLMENT_COLUMNS = (
    enrolments.c.id,
    enrolments.c.school_id,
    enrolments.c.group_id,
    enrolments.c.person_id,
    enrolments.c.role,
    enrolments.c.subject,
    enrolments.c.source_id,
)


class StoredDirectory:
    """The records of the schools an import touches, indexed by sourcedId, kept in step with
    what each committed file wrote."""

    def __init__(self) -> None:
        self.schools_by_source: dict[str, StoredSchool] = {}
        self.schools_by_uai: dict[str, StoredSchool] = {}
        self.years: dict[tuple[int, str], StoredYear] = {}
        self.groups: dict[tuple[int, str], StoredGroup] = {}
        self.groups_by_source: dict[str, StoredGroup] = {}
        self.people: dict[tuple[int, str], StoredPerson] = {}
        self.people_by_source: dict[str, StoredPerson] = {}
        self.people_by_id: dict[int, StoredPerson] = {}
        self.enrolments: dict[tuple[int, str], StoredEnrolment] = {}
        self.enrolments_by_source: dict[str, StoredEnrolment] = {}
        self.enrolments_by_triple: dict[tuple[int, int, str], StoredEnrolment] = {}
        self.links: set[tuple[int, int]] = set()
        self.year_use: dict[int, int] = {}  # school_year id -> groups using it

    def add_school(self, school: StoredSchool) -> None:
        for old in [s for s in self.schools_by_uai.values() if s.id == school.id]:
            self.schools_by_uai.pop(old.uai, None)
            if old.source_id:
                self.schools_by_source.pop(old.source_id, None)
        self.schools_by_uai[school.uai] = school
        if school.source_id:
            self.schools_by_source[school.source_id] = school

    def add_year(self, year: StoredYear) -> None:
        if year.source_id:
            self.years[(year.school_id, year.source_id)] = year

    def add_group(self, group: StoredGroup, *, preferred: bool = True) -> None:
        if group.source_id:
            self.groups[(group.school_id, group.source_id)] = group
            if preferred or group.source_id not in self.groups_by_source:
                self.groups_by_source[group.source_id] = group

    def add_person(self, person: StoredPerson, *, preferred: bool = True) -> None:
        self.people_by_id[person.id] = person
        if person.source_id:
            self.people[(person.school_id, person.source_id)] = person
            if preferred or person.source_id not in self.people_by_source:
                self.people_by_source[person.source_id] = person

    def add_enrolment(self, enrolment: StoredEnrolment) -> None:
        if enrolment.source_id:
            self.enrolments[(enrolment.school_id, enrolment.source_id)] = enrolment
            self.enrolments_by_source[enrolment.source_id] = enrolment
        self.enrolments_by_triple[(enrolment.group_id, enrolment.person_id, enrolment.role)] = (
            enrolment
        )

    def remove_enrolment(self, enrolment: StoredEnrolment) -> None:
        if enrolment.source_id:
            self.enrolments.pop((enrolment.school_id, enrolment.source_id), None)
            self.enrolments_by_source.pop(enrolment.source_id, None)
        self.enrolments_by_triple.pop(
            (enrolment.group_id, enrolment.person_id, enrolment.role), None
        )

    def person(self, school_id: int | None, source_id: str) -> StoredPerson | None:
        if school_id is not None:
            person = self.people.get((school_id, source_id))
            if person is not None:
                return person
        return self.people_by_source.get(source_id)

    def group(self, school_id: int | None, source_id: str) -> StoredGroup | None:
        if school_id is not None:
            group = self.groups.get((school_id, source_id))
            if group is not None:
                return group
        return self.groups_by_source.get(source_id)

    async def load_schools(self, connection: AsyncConnection) -> None:
        for row in await connection.execute(sa.select(*SCHOOL_COLUMNS)):
            self.add_school(StoredSchool._make(row))

    async def load(self, connection: AsyncConnection, school_ids: Sequence[int]) -> None:
        """Every tenant record of these schools (each query filters on ``school_id``)."""
        if not school_ids:
            return
        ids = sorted(school_ids)
        for year_row in await connection.execute(
            sa.select(*YEAR_COLUMNS).where(school_years.c.school_id.in_(ids))
        ):
            self.add_year(StoredYear._make(year_row))
        for group_row in await connection.execute(
            sa.select(*GROUP_COLUMNS).where(groups.c.school_id.in_(ids))
        ):
            group = StoredGroup._make(group_row)
            self.add_group(group, preferred=False)
            if group.school_year_id is not None:
                self.year_use[group.school_year_id] = self.year_use.get(group.school_year_id, 0) + 1
        for person_row in await connection.execute(
            sa.select(*PERSON_COLUMNS).where(people.c.school_id.in_(ids))
        ):
            self.add_person(StoredPerson._make(person_row), preferred=False)
        for enrolment_row in await connection.execute(
            sa.select(*ENROLMENT_COLUMNS).where(enrolments.c.school_id.in_(ids))
        ):
            self.add_enrolment(StoredEnrolment._make(enrolment_row))
        for row in await connection.execute(
            sa.select(parent_links.c.parent_id, parent_links.c.child_id).where(
                parent_links.c.school_id.in_(ids)
            )
        ):
            self.links.add((row.parent_id, row.child_id))
