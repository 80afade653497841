"""The demo school that ``make run`` seeds: a small collège with every profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.accounts import format_activation_code, new_activation_code
from preau.actions.context import Services
from preau.actions.directory import create_school, insert_person
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    homework,
    parent_links,
    people,
    school_years,
    timetable_lessons,
)
from preau.demo.attendance import seed_demo_attendance
from preau.demo.exercises import seed_demo_exercise
from preau.demo.marks import seed_demo_marks
from preau.demo.skills import seed_demo_skills
from preau.demo.videos import seed_demo_video
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from preau.domain.tokens import fingerprint

DEMO_UAI = "0751234A"
DEMO_NAME = "Collège Jean Moulin (démo)"
DEMO_PASSWORD = "preau-demo-2026"  # noqa: S105 — printed on purpose: it is the demo school

NAMED = [
    ("admin.demo", "Claire", "Fontaine", Profile.ADMIN),
    ("prof.demo", "Julien", "Martin", Profile.TEACHER),
    ("vie-scolaire.demo", "Nadia", "Benali", Profile.STAFF),
    ("eleve.demo", "Léa", "Dubois", Profile.PUPIL),
    ("parent.demo", "Sophie", "Dubois", Profile.PARENT),
]
NEW_PUPIL = ("nouvel.eleve", "Hugo", "Petit", Profile.PUPIL)
PUPILS = [
    ("Emma", "Bernard"),
    ("Louis", "Thomas"),
    ("Chloé", "Robert"),
    ("Gabriel", "Richard"),
    ("Inès", "Durand"),
    ("Arthur", "Moreau"),
    ("Jade", "Laurent"),
    ("Raphaël", "Simon"),
    ("Manon", "Michel"),
    ("Nathan", "Lefèvre"),
]
CLASSES = [("6e A", "6e"), ("5e B", "5e")]
TEACHERS = [("Isabelle", "Garnier", "Français"), ("Karim", "Haddad", "Histoire-géographie")]


@dataclass(frozen=True)
class DemoLogin:
    profile: str
    username: str
    secret: str  # a password, or an activation code for the not-yet-activated pupil


async def seed_demo(services: Services) -> list[DemoLogin]:
    """Create the demo school once; every run prints working logins again."""
    school_id = await create_school(services, uai=DEMO_UAI, name=DEMO_NAME)
    async with services.engine.begin() as connection:
        existing = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(people)
                .where(people.c.school_id == school_id)
            )
        ).scalar_one()
        if existing == 0:
            await _populate(services, connection, school_id)
    return await _logins(services, school_id)


async def _populate(services: Services, connection: AsyncConnection, school_id: int) -> None:
    ids: dict[str, int] = {}
    for username, given, family, profile in [*NAMED, NEW_PUPIL]:
        ids[username] = await insert_person(
            services,
            connection,
            school_id,
            PersonDraft(given_name=given, family_name=family, profile=profile, username=username),
        )
    for given, family in PUPILS:
        ids[f"{given}.{family}"] = await insert_person(
            services,
            connection,
            school_id,
            PersonDraft(given_name=given, family_name=family, profile=Profile.PUPIL),
        )
    teacher_ids = [
        await insert_person(
            services,
            connection,
            school_id,
            PersonDraft(given_name=given, family_name=family, profile=Profile.TEACHER),
        )
        for given, family, _subject in TEACHERS
    ]
    year_id = (
        await connection.execute(
            sa.select(school_years.c.id).where(school_years.c.school_id == school_id)
        )
    ).scalar()
    class_ids = []
    for name, level in CLASSES:
        result = await connection.execute(
            groups.insert().values(
                school_id=school_id, kind="class", name=name, level=level, school_year_id=year_id
            )
        )
        class_ids.append(int(result.inserted_primary_key[0]))  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
    latin = await connection.execute(
        groups.insert().values(
            school_id=school_id,
            kind="group",
            name="Latin 5e",
            level="5e",
            subject="Latin",
            school_year_id=year_id,
        )
    )
    latin_id = int(latin.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
    pupil_ids = [ids["eleve.demo"], ids["nouvel.eleve"]] + [ids[f"{g}.{f}"] for g, f in PUPILS]
    rows = [
        {
            "school_id": school_id,
            "group_id": class_ids[index % 2],
            "person_id": pupil,
            "role": "pupil",
        }
        for index, pupil in enumerate(pupil_ids)
    ]
    rows += [
        {"school_id": school_id, "group_id": latin_id, "person_id": pupil, "role": "pupil"}
        for pupil in pupil_ids[1::2]
    ]
    rows += [
        {
            "school_id": school_id,
            "group_id": class_id,
            "person_id": ids["prof.demo"],
            "role": "teacher",
            "subject": "Mathématiques",
        }
        for class_id in class_ids
    ]
    rows += [
        {
            "school_id": school_id,
            "group_id": class_ids[index],
            "person_id": teacher,
            "role": "teacher",
            "subject": TEACHERS[index][2],
        }
        for index, teacher in enumerate(teacher_ids)
    ]
    rows.append(
        {
            "school_id": school_id,
            "group_id": latin_id,
            "person_id": teacher_ids[0],
            "role": "teacher",
            "subject": "Latin",
        }
    )
    await connection.execute(enrolments.insert(), [{"subject": None, **row} for row in rows])
    await connection.execute(
        parent_links.insert().values(
            school_id=school_id, parent_id=ids["parent.demo"], child_id=ids["eleve.demo"]
        )
    )
    await _demo_homework(services, connection, school_id, ids["prof.demo"], class_ids)
    await seed_demo_exercise(services, connection, school_id, ids["prof.demo"], class_ids[0])
    await seed_demo_video(services, connection, school_id, ids["prof.demo"], class_ids[0])
    await _demo_timetable(
        services,
        connection,
        school_id,
        maths_teacher_id=ids["prof.demo"],
        teacher_ids=teacher_ids,
        class_ids=class_ids,
    )
    await seed_demo_marks(services, connection, school_id)
    await seed_demo_skills(services, connection, school_id)
    await seed_demo_attendance(services, connection, school_id, teacher_id=ids["prof.demo"])
    password_hash = await services.passwords.hash(DEMO_PASSWORD)
    await connection.execute(
        people.update()
        .where(people.c.school_id == school_id, people.c.username.in_([n[0] for n in NAMED]))
        .values(password_hash=password_hash, activated_at=services.now())
    )
    # The demo parent has an address, so "Mot de passe oublié ?" can be tried: with
    # PREAU_MAIL_FILE set, the link lands in that file (docs/messages.md).
    await connection.execute(
        people.update()
        .where(people.c.school_id == school_id, people.c.id == ids["parent.demo"])
        .values(email="sophie.dubois@example.org")
    )


DEMO_HOMEWORK = [
    # (class index, title, instructions, due in days, hand-in expected, minutes)
    (0, "Fractions : exercices 12 à 15 p. 48", "Rédigez les calculs sur une feuille, "
     "photographiez-la et rendez la photo.", 2, True, 40),
    (0, "Relire la leçon sur les fractions", "Leçon du manuel, p. 44 à 46.", 1, False, 15),
    (1, "Puissances de 10", "Fiche distribuée en classe, exercices 1 à 4.", 3, True, 30),
]  # fmt: skip


async def _demo_homework(
    services: Services,
    connection: AsyncConnection,
    school_id: int,
    teacher_id: int,
    class_ids: list[int],
) -> None:
    now = services.now()
    await connection.execute(
        homework.insert(),
        [
            {
                "school_id": school_id,
                "group_id": class_ids[index],
                "author_id": teacher_id,
                "title": title,
                "instructions": instructions,
                "instructions_format": "text",
                "publish_at": now,
                "due_at": now.replace(hour=17, minute=0, second=0, microsecond=0)
                + timedelta(days=days),
                "estimated_minutes": minutes,
                "hand_in_expected": hand_in,
                "chosen_pupils": False,
                "revision": 1,
                "subject": "Mathématiques",  # prof.demo's, as create_homework would default
                "created_at": now,
                "updated_at": now,
            }
            for index, title, instructions, days, hand_in, minutes in DEMO_HOMEWORK
        ],
    )


# (class index, teacher: None for prof.demo or an index in TEACHERS, subject, room, weekday,
#  start, end, virtual) — a week that fills both classes' mornings, one lesson held online.
DEMO_TIMETABLE = [
    (0, None, "Mathématiques", "B12", 1, "08:00", "08:55", False),
    (0, 0, "Français", "B14", 1, "09:00", "09:55", False),
    (0, None, "Mathématiques", "B12", 3, "10:00", "10:55", True),
    (0, 0, "Français", "B14", 4, "08:00", "08:55", False),
    (1, None, "Mathématiques", "B12", 2, "08:00", "08:55", False),
    (1, 1, "Histoire-géographie", "C03", 2, "09:00", "09:55", False),
    (1, None, "Mathématiques", "B12", 5, "10:00", "10:55", False),
]  # fmt: skip


async def _demo_timetable(
    services: Services,
    connection: AsyncConnection,
    school_id: int,
    *,
    maths_teacher_id: int,
    teacher_ids: list[int],
    class_ids: list[int],
) -> None:
    year = (
        await connection.execute(
            sa.select(school_years.c.starts_on, school_years.c.ends_on).where(
                school_years.c.school_id == school_id
            )
        )
    ).one()
    now = services.now()

    def minute(text: str) -> int:
        hours, minutes = text.split(":")
        return int(hours) * 60 + int(minutes)

    await connection.execute(
        timetable_lessons.insert(),
        [
            {
                "school_id": school_id,
                "group_id": class_ids[index],
                "subject": subject,
                "teacher_id": maths_teacher_id if teacher is None else teacher_ids[teacher],
                "room": room,
                "weekday": weekday,
                "starts_minute": minute(starts),
                "ends_minute": minute(ends),
                "weeks": "all",
                "first_day": year.starts_on,
                "last_day": year.ends_on,
                "virtual": virtual,
                "created_at": now,
            }
            for index, teacher, subject, room, weekday, starts, ends, virtual in DEMO_TIMETABLE
        ],
    )


async def _logins(services: Services, school_id: int) -> list[DemoLogin]:
    logins = [
        DemoLogin(profile.value, username, DEMO_PASSWORD) for username, _, _, profile in NAMED
    ]
    code = new_activation_code()
    async with services.engine.begin() as connection:
        updated = await connection.execute(
            people.update()
            .where(
                people.c.school_id == school_id,
                people.c.username == NEW_PUPIL[0],
                people.c.password_hash.is_(None),
            )
            .values(activation_code_hash=fingerprint(code))
        )
    if updated.rowcount == 1:
        logins.append(DemoLogin("pupil (first login)", NEW_PUPIL[0], format_activation_code(code)))
    return logins
