"""Demo data the size of a small académie, for load tests: ``preau demo --size academie``.

Schools, classes and groups, pupils, parents, teachers and staff, a week of timetable per
class, homework across the week (some with a file stored through the files port, some
already turned in), class announcements and parent–teacher conversations. Everything is
written in one transaction with chunked multi-row inserts, as the roster import writes,
so a failed run leaves nothing behind. The data is made once; every run re-issues the
credentials (activation codes, device credentials) and rewrites the people file that the
load test reads (``bench/locust_morning.py``).
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.classwork.todo import group_scope
from preau.actions.context import Services
from preau.actions.roster.writes import CHUNK, chunks
from preau.actions.skill_frameworks import seed_socle
from preau.adapters.sql.schema import (
    announcement_groups,
    announcement_recipients,
    announcements,
    conversation_participants,
    conversations,
    enrolments,
    files,
    groups,
    hand_in_events,
    hand_ins,
    homework,
    homework_attachments,
    homework_revisions,
    messages,
    parent_links,
    people,
    read_versions,
    school_years,
    schools,
    timetable_lessons,
)
from preau.demo.credentials import write_people_file
from preau.demo.school import DEMO_PASSWORD
from preau.domain.errors import Conflict
from preau.domain.people import Profile, username_base

ZONE = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class DemoSize:
    """One named preset of ``preau demo --size``."""

    name: str
    schools: int
    pupils: int
    teachers: int
    staff: int  # per académie; the first of each school is its administrator
    uai_prefix: str  # four digits: the schools are <prefix><nnn><letter>
    username_tag: str  # generated usernames end with .<tag><number>
    parents_per_pupil: float = 1.5
    class_size: int = 25
    unactivated_share: float = 0.10  # accounts left with an activation code
    remembered_share: float = 0.80  # activated accounts given a device credential


SIZES: dict[str, DemoSize] = {
    size.name: size
    for size in (
        DemoSize(
            "small",
            schools=2,
            pupils=300,
            teachers=24,
            staff=6,
            uai_prefix="0940",
            username_tag="s",
        ),
        DemoSize(
            "academie",
            schools=50,
            pupils=40_000,
            teachers=3_000,
            staff=500,
            uai_prefix="0930",
            username_tag="a",
        ),
    )
}

LEVELS = ("6e", "5e", "4e", "3e")
# (subject, hours a week per class)
SUBJECT_HOURS = (
    ("Mathématiques", 4),
    ("Français", 4),
    ("Anglais", 3),
    ("Histoire-géographie", 3),
    ("EPS", 3),
    ("SVT", 2),
    ("Physique-chimie", 2),
    ("Technologie", 2),
    ("Arts plastiques", 1),
    ("Éducation musicale", 1),
)
# Groups across a level's classes: (name, subject, share of the level, taught by a teacher of)
LEVEL_GROUPS = (("Latin", "Latin", 0.25, "Français"), ("Espagnol", "Espagnol", 0.5, "Anglais"))
# A school week: (weekday, start) — Wednesday afternoons are free; 16:00 is for groups.
CLASS_SLOTS = [
    (day, start)
    for day in (1, 2, 3, 4, 5)
    for start in ("08:00", "09:00", "10:00", "11:00", "14:00", "15:00")
    if not (day == 3 and start >= "14:00")
]
GIVEN = (  # noqa: SIM905 - a list of names reads better as one string
    "Léa Emma Jade Louise Alice Chloé Lina Mila Rose Anna Inès Zoé Léna Julia Manon Camille "
    "Sarah Eva Lou Nina Gabriel Léo Raphaël Louis Arthur Jules Hugo Adam Lucas Paul Nathan "
    "Noah Tom Sacha Mohamed Aaron Théo Malo Ethan Yanis Marius Nolan Maël Éloïse Ambre Romane"
).split()
FAMILY = (  # noqa: SIM905 - a list of names reads better as one string
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier "
    "François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu"
).split()
TOWNS = (  # noqa: SIM905 - same: one readable string
    "Montreuil Saint-Denis Créteil Vincennes Bobigny Pantin Aubervilliers Nanterre Ivry "
    "Vitry Bondy Noisy Sevran Clichy Meaux Melun Évry Massy Palaiseau Antony"
).split()
HOMEWORK_TITLES = (
    "Exercices {n} à {m} p. {p}",
    "Relire la leçon et apprendre le vocabulaire",
    "Fiche d'exercices n° {n}",
    "Préparer l'exposé (plan détaillé)",
    "Rédaction : une page sur le thème vu en classe",
    "Questions 1 à {n} sur le document",
)

# A one-page PDF: what a teacher typically attaches.
ATTACHMENT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n" + b"%" + b"x" * 20_000 + b"\n"
)


@dataclass
class SeedReport:
    """What ``seed_academie`` did, for the command line and the benchmark."""

    size: str
    created: bool  # False: the data was there already; only credentials were re-issued
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    people_file: Path | None = None
    activation_codes: int = 0
    device_tokens: int = 0


def school_uais(size: DemoSize) -> list[str]:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return [
        f"{size.uai_prefix}{n:03d}{letters[n % len(letters)]}" for n in range(1, size.schools + 1)
    ]


async def seed_academie(
    services: Services, size: DemoSize, *, people_file: Path, device_tokens: bool
) -> SeedReport:
    """Create the demo académie once; every run writes ``people_file`` with fresh codes.

    ``device_tokens``: sign a device credential for the remembered accounts with this
    deployment's secret (only useful when the secret is shared with the servers).
    """
    started = time.perf_counter()
    uais = school_uais(size)
    async with services.engine.connect() as connection:
        found = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(schools).where(schools.c.uai.in_(uais))
            )
        ).scalar_one()
    report = SeedReport(size=size.name, created=found == 0)
    if found not in (0, len(uais)):
        raise Conflict(
            "Only {found} of the {total} schools of the “{size}” demo exist in this database. "
            "Seed it into a fresh database.",
            found=found,
            total=len(uais),
            size=size.name,
        )
    if report.created:
        # Demo data only: one argon2id hash of the printed demo password, computed once and
        # stored for every generated account. Hashing 100,000 passwords would take hours,
        # and real accounts never share a hash (each has its own salt).
        password_hash = await services.passwords.hash(DEMO_PASSWORD)
        async with services.engine.begin() as connection:
            report.counts = await _Generator(services, connection, size, uais, password_hash).run()
    report.seconds = time.perf_counter() - started
    report.activation_codes, report.device_tokens = await write_people_file(
        services,
        uais,
        people_file,
        remembered_share=size.remembered_share if device_tokens else None,
    )
    report.people_file = people_file
    report.seconds = time.perf_counter() - started
    return report


async def _insert(
    connection: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    for chunk in chunks(rows, CHUNK):
        await connection.execute(table.insert(), list(chunk))


async def _insert_ids(
    connection: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert and return the new ids in the order of ``rows``."""
    ids: list[int] = []
    statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    for chunk in chunks(rows, CHUNK):
        ids.extend(int(row[0]) for row in await connection.execute(statement, list(chunk)))
    return ids


@dataclass
class _School:
    id: int
    uai: str
    admin_id: int = 0
    classes: list[tuple[int, str]] = field(default_factory=list)  # (group id, level)
    class_pupils: dict[int, list[int]] = field(default_factory=dict)
    class_teachers: dict[int, dict[str, int]] = field(default_factory=dict)  # subject → id
    level_groups: list[tuple[int, str, int, list[int]]] = field(default_factory=list)
    teachers_by_subject: dict[str, list[int]] = field(default_factory=dict)
    files_by_subject: dict[str, str] = field(default_factory=dict)


class _Generator:
    def __init__(
        self,
        services: Services,
        connection: AsyncConnection,
        size: DemoSize,
        uais: list[str],
        password_hash: str,
    ) -> None:
        self.services = services
        self.connection = connection
        self.size = size
        self.uais = uais
        self.password_hash = password_hash
        # Made-up data, reproducible per size; nothing secret comes from it.
        self.rng = random.Random(f"preau-demo-{size.name}")  # noqa: S311 - seeded on purpose: the same demo every run, not a secret
        self.now = services.now()
        self.counts: dict[str, int] = {}
        self.person_number = 0
        self.parents_of: dict[int, list[int]] = {}

    def count(self, name: str, rows: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + rows

    async def run(self) -> dict[str, int]:
        for number, uai in enumerate(self.uais):
            school = await self._school(number, uai)
            await self._people_and_groups(school, number)
            await self._timetable(school)
            await self._homework(school)
            await self._messages(school)
        return self.counts

    # -- directory ------------------------------------------------------------------------

    async def _school(self, number: int, uai: str) -> _School:
        town = TOWNS[number % len(TOWNS)]
        result = await self.connection.execute(
            schools.insert().values(
                uai=uai,
                name=f"Collège {FAMILY[number % len(FAMILY)]} de {town} (démo)",
                timezone="Europe/Paris",
                created_at=self.now,
            )
        )
        school_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        year = self.now.year if self.now.month >= 8 else self.now.year - 1
        await self.connection.execute(
            school_years.insert().values(
                school_id=school_id,
                name=f"{year}-{year + 1}",
                starts_on=date(year, 9, 1),
                ends_on=date(year + 1, 7, 4),
            )
        )
        await seed_socle(self.connection, school_id, now=self.now)
        self.count("schools", 1)
        return _School(id=school_id, uai=uai)

    def _share(self, total: int, number: int) -> int:
        """School ``number``'s share of ``total``, spread so the shares add up."""
        return total // self.size.schools + (1 if number < total % self.size.schools else 0)

    def _person(self, school: _School, profile: Profile, *, activated: bool) -> dict[str, Any]:
        self.person_number += 1
        given, family = self.rng.choice(GIVEN), self.rng.choice(FAMILY)
        username = f"{username_base(given, family)}.{self.size.username_tag}{self.person_number}"
        return {
            "school_id": school.id,
            "profile": profile.value,
            "username": username,
            "given_name": given,
            "family_name": family,
            "email": None,
            "password_hash": self.password_hash if activated else None,
            "activated_at": self.now if activated else None,
            "created_at": self.now,
            "updated_at": self.now,
        }

    async def _add_people(self, school: _School, profile: Profile, count: int) -> list[int]:
        rows = [
            self._person(
                school, profile, activated=self.rng.random() >= self.size.unactivated_share
            )
            for _ in range(count)
        ]
        ids = await _insert_ids(self.connection, people, rows)
        self.count(f"people ({profile.value})", len(ids))
        return ids

    async def _people_and_groups(self, school: _School, number: int) -> None:
        size, rng = self.size, self.rng
        staff = await self._add_people(
            school, Profile.STAFF, max(1, self._share(size.staff, number))
        )
        await self.connection.execute(
            people.update().where(people.c.id == staff[0]).values(profile=Profile.ADMIN.value)
        )
        school.admin_id = staff[0]
        teacher_count = max(len(SUBJECT_HOURS), self._share(size.teachers, number))
        teachers = await self._add_people(school, Profile.TEACHER, teacher_count)
        self._give_subjects(school, teachers)
        pupils = await self._add_people(school, Profile.PUPIL, self._share(size.pupils, number))
        year_id = (
            await self.connection.execute(
                sa.select(school_years.c.id).where(school_years.c.school_id == school.id)
            )
        ).scalar_one()
        # Classes: the school's pupils split into four levels, then into classes.
        class_rows: list[dict[str, Any]] = []
        members: list[list[int]] = []
        level_pupils: dict[str, list[int]] = {}
        for level_index, level in enumerate(LEVELS):
            share = pupils[level_index :: len(LEVELS)]
            level_pupils[level] = share
            class_count = max(1, round(len(share) / size.class_size))
            for class_index in range(class_count):
                class_rows.append(
                    {
                        "school_id": school.id,
                        "kind": "class",
                        "name": f"{level} {'ABCDEFGHIJKLMN'[class_index]}",
                        "level": level,
                        "subject": None,
                        "school_year_id": year_id,
                    }
                )
                members.append(share[class_index::class_count])
        class_ids = await _insert_ids(self.connection, groups, class_rows)
        group_rows, group_members, group_specs = self._level_groups(school, level_pupils, year_id)
        group_ids = await _insert_ids(self.connection, groups, group_rows)
        self.count("classes", len(class_ids))
        self.count("groups", len(group_ids))
        enrolment_rows: list[dict[str, Any]] = []

        def enrol(group_id: int, person_id: int, role: str, subject: str | None) -> None:
            enrolment_rows.append(
                {
                    "school_id": school.id,
                    "group_id": group_id,
                    "person_id": person_id,
                    "role": role,
                    "subject": subject,
                }
            )

        turn: dict[str, int] = {}
        for group_id, row, pupils_of_class in zip(class_ids, class_rows, members, strict=True):
            school.classes.append((group_id, row["level"]))
            school.class_pupils[group_id] = pupils_of_class
            for pupil in pupils_of_class:
                enrol(group_id, pupil, "pupil", None)
            teachers_of_class: dict[str, int] = {}
            for subject, _ in SUBJECT_HOURS:
                candidates = school.teachers_by_subject[subject]
                teacher = candidates[turn.get(subject, 0) % len(candidates)]
                turn[subject] = turn.get(subject, 0) + 1
                teachers_of_class[subject] = teacher
                enrol(group_id, teacher, "teacher", subject)
            school.class_teachers[group_id] = teachers_of_class
        for group_id, chosen, (subject, taught_by, level) in zip(
            group_ids, group_members, group_specs, strict=True
        ):
            teacher = rng.choice(school.teachers_by_subject[taught_by])
            for pupil in chosen:
                enrol(group_id, pupil, "pupil", None)
            enrol(group_id, teacher, "teacher", subject)
            school.level_groups.append((group_id, level, teacher, chosen))
        await _insert(self.connection, enrolments, enrolment_rows)
        self.count("enrolments", len(enrolment_rows))
        await self._parents(school, pupils)
        # The to-do cache keys by these counters; start every group at 1.
        await _insert(
            self.connection,
            read_versions,
            [
                {
                    "school_id": school.id,
                    "scope": group_scope(g),
                    "version": 1,
                    "updated_at": self.now,
                }
                for g in [*class_ids, *group_ids]
            ],
        )

    def _level_groups(
        self, school: _School, level_pupils: dict[str, list[int]], year_id: int
    ) -> tuple[list[dict[str, Any]], list[list[int]], list[tuple[str, str, str]]]:
        """Each level's groups (``LEVEL_GROUPS``) with a random share of its pupils: the
        rows to insert, their pupils, and (subject, taught by, level) for each."""
        group_rows: list[dict[str, Any]] = []
        group_members: list[list[int]] = []
        group_specs: list[tuple[str, str, str]] = []
        for level in LEVELS:
            for name, subject, group_share, taught_by in LEVEL_GROUPS:
                chosen = [p for p in level_pupils[level] if self.rng.random() < group_share]
                if not chosen:
                    continue
                group_rows.append(
                    {
                        "school_id": school.id,
                        "kind": "group",
                        "name": f"{name} {level}",
                        "level": level,
                        "subject": subject,
                        "school_year_id": year_id,
                    }
                )
                group_members.append(chosen)
                group_specs.append((subject, taught_by, level))
        return group_rows, group_members, group_specs

    def _give_subjects(self, school: _School, teachers: list[int]) -> None:
        """Every subject has a teacher; the rest are spread by weekly hours."""
        weights = [hours for _, hours in SUBJECT_HOURS]
        for index, teacher in enumerate(teachers):
            if index < len(SUBJECT_HOURS):
                subject = SUBJECT_HOURS[index][0]
            else:
                subject = self.rng.choices([s for s, _ in SUBJECT_HOURS], weights)[0]
            school.teachers_by_subject.setdefault(subject, []).append(teacher)

    async def _parents(self, school: _School, pupils: list[int]) -> None:
        """One parent per pupil, a second for half of them (about 1.5 per pupil)."""
        second_share = max(0.0, self.size.parents_per_pupil - 1.0)
        children = [p for p in pupils for _ in range(1 + (self.rng.random() < second_share))]
        parents = await self._add_people(school, Profile.PARENT, len(children))
        links = [
            {"school_id": school.id, "parent_id": parent, "child_id": child}
            for parent, child in zip(parents, children, strict=True)
        ]
        for parent, child in zip(parents, children, strict=True):
            self.parents_of.setdefault(child, []).append(parent)
        await _insert(self.connection, parent_links, links)
        self.count("parent links", len(links))

    # -- timetable ------------------------------------------------------------------------

    async def _timetable(self, school: _School) -> None:
        year = (
            await self.connection.execute(
                sa.select(school_years.c.starts_on, school_years.c.ends_on).where(
                    school_years.c.school_id == school.id
                )
            )
        ).one()
        rows: list[dict[str, Any]] = []

        def lesson(group_id: int, subject: str, teacher: int, day: int, start: str) -> None:
            hours, minutes = (int(part) for part in start.split(":"))
            rows.append(
                {
                    "school_id": school.id,
                    "group_id": group_id,
                    "subject": subject,
                    "teacher_id": teacher,
                    "room": f"{'ABC'[teacher % 3]}{teacher % 40 + 1:02d}",
                    "weekday": day,
                    "starts_minute": hours * 60 + minutes,
                    "ends_minute": hours * 60 + minutes + 55,
                    "weeks": "all",
                    "first_day": year.starts_on,
                    "last_day": year.ends_on,
                    "virtual": False,
                    "created_at": self.now,
                }
            )

        for group_id, _level in school.classes:
            hours = [subject for subject, count in SUBJECT_HOURS for _ in range(count)]
            slots = self.rng.sample(CLASS_SLOTS, len(hours))
            for subject, (day, start) in zip(hours, slots, strict=True):
                lesson(group_id, subject, school.class_teachers[group_id][subject], day, start)
        for index, (group_id, _level, teacher, _pupils) in enumerate(school.level_groups):
            subject = LEVEL_GROUPS[index % len(LEVEL_GROUPS)][1]
            lesson(group_id, subject, teacher, 1 + index % 5, "16:00")
            lesson(group_id, subject, teacher, 1 + (index + 2) % 5, "16:00")
        await _insert(self.connection, timetable_lessons, rows)
        self.count("timetable lessons", len(rows))

    # -- classwork ------------------------------------------------------------------------

    async def _files(self, school: _School) -> None:
        """One worksheet per subject, stored through the files port like an upload."""
        rows = []
        for subject, teachers in school.teachers_by_subject.items():
            file_id = secrets.token_hex(16)
            key = f"f/{file_id[:2]}/{file_id}"  # the key shape of an upload
            await self.services.files.put(key, ATTACHMENT, content_type="application/pdf")
            school.files_by_subject[subject] = file_id
            rows.append(
                {
                    "id": file_id,
                    "school_id": school.id,
                    "owner_id": teachers[0],
                    "name": f"fiche-{username_base(subject, 'exercices')}.pdf",
                    "content_type": "application/pdf",
                    "size": len(ATTACHMENT),
                    "sha256": hashlib.sha256(ATTACHMENT).hexdigest(),
                    "storage_key": key,
                    "created_at": self.now,
                }
            )
        await _insert(self.connection, files, rows)
        self.count("files", len(rows))

    def _school_days(self) -> list[date]:
        """School days from last Thursday-ish to next week: the week around today."""
        today = self.now.astimezone(ZONE).date()
        days = [today + timedelta(days=offset) for offset in range(-4, 8)]
        return [day for day in days if day.isoweekday() <= 5]

    async def _homework(self, school: _School) -> None:
        await self._files(school)
        rng = self.rng
        days = self._school_days()
        planned: list[tuple[dict[str, Any], str, list[int]]] = []  # (row, subject, pupils)

        def plan(group_id: int, subject: str, teacher: int, day: date, pupils: list[int]) -> None:
            title = rng.choice(HOMEWORK_TITLES).format(
                n=rng.randint(1, 12), m=rng.randint(13, 20), p=rng.randint(10, 200)
            )
            due = datetime(day.year, day.month, day.day, 8, 0, tzinfo=ZONE).astimezone(UTC)
            publish = min(due - timedelta(days=3), self.now - timedelta(hours=1))
            planned.append(
                (
                    {
                        "school_id": school.id,
                        "group_id": group_id,
                        "author_id": teacher,
                        "title": f"{subject} : {title}",
                        "instructions": "À faire pour le cours. Les consignes sont dans la fiche.",
                        "instructions_format": "text",
                        "publish_at": publish,
                        "due_at": due,
                        "cutoff_at": None,
                        "estimated_minutes": rng.choice((15, 20, 30, 45)),
                        "hand_in_expected": rng.random() < 0.4,
                        "chosen_pupils": False,
                        "revision": 1,
                        "created_at": publish,
                        "updated_at": publish,
                    },
                    subject,
                    pupils,
                )
            )

        for group_id, _level in school.classes:
            teachers = school.class_teachers[group_id]
            for day in days:
                for subject in rng.sample(list(teachers), rng.choice((1, 1, 2))):
                    plan(group_id, subject, teachers[subject], day, school.class_pupils[group_id])
        for index, (group_id, _level, teacher, pupils) in enumerate(school.level_groups):
            subject = LEVEL_GROUPS[index % len(LEVEL_GROUPS)][1]
            for day in rng.sample(days, 2):
                plan(group_id, subject, teacher, day, pupils)
        ids = await _insert_ids(self.connection, homework, [row for row, _, _ in planned])
        self.count("homework", len(ids))
        revisions: list[dict[str, Any]] = []
        attachments: list[dict[str, Any]] = []
        hand_in_rows: list[dict[str, Any]] = []
        for homework_id, (row, subject, pupils) in zip(ids, planned, strict=True):
            file_id = school.files_by_subject.get(subject)
            attached = file_id is not None and rng.random() < 0.2
            if attached:
                attachments.append(
                    {"school_id": school.id, "homework_id": homework_id, "file_id": file_id}
                )
            revisions.append(
                {
                    "school_id": school.id,
                    "homework_id": homework_id,
                    "revision": 1,
                    "change": "created",
                    "editor_id": row["author_id"],
                    "changed_at": row["created_at"],
                    "snapshot": {
                        "title": row["title"],
                        "instructions": row["instructions"],
                        "instructions_format": "text",
                        "publish_at": row["publish_at"].isoformat(),
                        "due_at": row["due_at"].isoformat(),
                        "cutoff_at": None,
                        "estimated_minutes": row["estimated_minutes"],
                        "hand_in_expected": row["hand_in_expected"],
                        "attachment_ids": [file_id] if attached else [],
                    },
                }
            )
            # Past work: most pupils turned it in before it was due.
            if row["hand_in_expected"] and row["due_at"] < self.now:
                hand_in_rows.extend(
                    {
                        "school_id": school.id,
                        "homework_id": homework_id,
                        "pupil_id": pupil,
                        "state": "turned_in",
                        "text": "Fait.",
                        "turned_in_at": row["due_at"] - timedelta(hours=rng.randint(2, 60)),
                        "late": False,
                        "updated_at": row["due_at"],
                    }
                    for pupil in pupils
                    if rng.random() < 0.6
                )
        await _insert(self.connection, homework_revisions, revisions)
        await _insert(self.connection, homework_attachments, attachments)
        self.count("homework attachments", len(attachments))
        hand_in_ids = await _insert_ids(self.connection, hand_ins, hand_in_rows)
        await _insert(
            self.connection,
            hand_in_events,
            [
                {
                    "school_id": school.id,
                    "hand_in_id": hand_in_id,
                    "actor_id": row["pupil_id"],
                    "from_state": "assigned",
                    "to_state": "turned_in",
                    "late": False,
                    "at": row["turned_in_at"],
                }
                for hand_in_id, row in zip(hand_in_ids, hand_in_rows, strict=True)
            ],
        )
        self.count("hand-ins", len(hand_in_ids))

    # -- messages -------------------------------------------------------------------------

    async def _messages(self, school: _School) -> None:
        rng = self.rng
        posted = self.now - timedelta(days=1)
        # One announcement per class from its maths teacher, to pupils and parents.
        rows = [
            {
                "school_id": school.id,
                "author_id": school.class_teachers[group_id]["Mathématiques"],
                "title": rng.choice(
                    ("Sortie au musée jeudi", "Contrôle de la semaine", "Matériel pour lundi")
                ),
                "body": "Bonjour à tous, pensez à vérifier le cahier de textes. Bonne semaine !",
                "include_parents": True,
                "created_at": posted,
            }
            for group_id, _ in school.classes
        ]
        announcement_ids = await _insert_ids(self.connection, announcements, rows)
        recipients = []
        for announcement_id, (group_id, _) in zip(announcement_ids, school.classes, strict=True):
            for pupil in school.class_pupils[group_id]:
                for person, as_parent in [(pupil, False)] + [
                    (parent, True) for parent in self.parents_of.get(pupil, [])
                ]:
                    recipients.append(
                        {
                            "school_id": school.id,
                            "announcement_id": announcement_id,
                            "person_id": person,
                            "as_parent": as_parent,
                            "read_at": posted if rng.random() < 0.4 else None,
                        }
                    )
        await _insert(
            self.connection,
            announcement_groups,
            [
                {"school_id": school.id, "announcement_id": a, "group_id": g}
                for a, (g, _) in zip(announcement_ids, school.classes, strict=True)
            ],
        )
        await _insert(self.connection, announcement_recipients, recipients)
        self.count("announcements", len(announcement_ids))
        self.count("announcement recipients", len(recipients))
        # Two parents per class write to the maths teacher, who answers.
        threads: list[tuple[int, int]] = []  # (parent, teacher)
        for group_id, _ in school.classes:
            teacher = school.class_teachers[group_id]["Mathématiques"]
            for pupil in rng.sample(
                school.class_pupils[group_id], min(2, len(school.class_pupils[group_id]))
            ):
                parents = self.parents_of.get(pupil, [])
                if parents:
                    threads.append((parents[0], teacher))
        asked, answered = self.now - timedelta(hours=20), self.now - timedelta(hours=18)
        conversation_ids = await _insert_ids(
            self.connection,
            conversations,
            [
                {
                    "school_id": school.id,
                    "subject": "Question sur les devoirs",
                    "started_by": parent,
                    "replies_allowed": True,
                    "created_at": asked,
                    "last_message_at": answered,
                    "message_count": 2,
                }
                for parent, _ in threads
            ],
        )
        message_rows = []
        for conversation_id, (parent, teacher) in zip(conversation_ids, threads, strict=True):
            message_rows.append(
                {
                    "school_id": school.id,
                    "conversation_id": conversation_id,
                    "author_id": parent,
                    "body": "Bonjour, mon enfant n'a pas compris l'exercice 3. Merci !",
                    "created_at": asked,
                }
            )
            message_rows.append(
                {
                    "school_id": school.id,
                    "conversation_id": conversation_id,
                    "author_id": teacher,
                    "body": "Bonjour, nous le reprendrons en classe lundi. Bonne soirée.",
                    "created_at": answered,
                }
            )
        message_ids = await _insert_ids(self.connection, messages, message_rows)
        participants = []
        for index, (conversation_id, (parent, teacher)) in enumerate(
            zip(conversation_ids, threads, strict=True)
        ):
            question, answer = message_ids[2 * index], message_ids[2 * index + 1]
            for person, unread, last_read in ((parent, 1, question), (teacher, 0, answer)):
                participants.append(
                    {
                        "school_id": school.id,
                        "conversation_id": conversation_id,
                        "person_id": person,
                        "unread_count": unread,
                        "last_read_message_id": last_read,
                        "archived": False,
                        "last_message_at": answered,
                    }
                )
        await _insert(self.connection, conversation_participants, participants)
        self.count("conversations", len(conversation_ids))
        self.count("messages", len(message_ids))
