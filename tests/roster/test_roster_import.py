"""Importing OneRoster sets into a real SQLite and a real PostgreSQL database."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.roster.importer import import_roster
from preau.adapters.sql.schema import (
    enrolments,
    groups,
    marks_settings,
    parent_links,
    people,
    roster_imports,
    school_years,
    schools,
    skill_frameworks,
    skills,
    terms,
)
from preau.domain.roster.report import RosterReport

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
DIRECTORY_TABLES = (schools, school_years, groups, people, parent_links, enrolments)


def counts(report: RosterReport) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(file, records) -> (status, rows, created, updated, unchanged, deactivated, deleted,
    ignored, rejected)."""
    return {
        (file.file, file.entity): (
            file.status.value,
            file.rows,
            file.created,
            file.updated,
            file.unchanged,
            file.deactivated,
            file.deleted,
            file.ignored,
            len(file.rejected),
        )
        for file in report.files
    }


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(row) for row in await connection.execute(sa.select(table))), key=repr
            )
            for table in DIRECTORY_TABLES
        }


async def fetch(engine: AsyncEngine, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(statement)]


def zip_bytes(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, prefix + path.name)
    return buffer.getvalue()


ERRORS_FIRST = {
    ("orgs.csv", "schools"): ("applied", 5, 2, 0, 0, 0, 0, 1, 2),
    ("academicSessions.csv", "school years"): ("applied", 3, 2, 0, 0, 0, 0, 1, 1),
    ("classes.csv", "groups"): ("applied", 6, 3, 0, 0, 0, 0, 0, 3),
    ("users.csv", "people"): ("applied", 13, 7, 0, 0, 0, 0, 0, 6),
    ("users.csv", "parent links"): ("applied", 3, 1, 0, 0, 0, 0, 0, 1),
    ("roles.csv", "roles"): ("absent", 0, 0, 0, 0, 0, 0, 0, 0),
    ("enrollments.csv", "enrolments"): ("applied", 12, 6, 0, 0, 0, 0, 0, 6),
}

ERRORS_REJECTED = [
    "orgs.csv line 5: the identifier '12345' is not a valid UAI: a school's UAI is seven digits "
    "followed by a letter, like 0751234A.",
    "orgs.csv line 6: the org type 'castle' is not a OneRoster org type; use school, district, "
    "local, state, national or department.",
    "academicSessions.csv line 4: the date '2024-31-12' in endDate is not a date; write it as "
    "YYYY-MM-DD.",
    "classes.csv line 5: the school 'org-nowhere' is not a school in this import or in Préau.",
    "classes.csv line 6: the sourcedId 'cls-4b' is already used on line 2; each row needs its "
    "own sourcedId.",
    "classes.csv line 7: the classType 'club' is not a OneRoster class type; use homeroom or "
    "scheduled.",
    "users.csv line 8: the role 'wizard' is not a OneRoster role; use student, teacher, parent, "
    "guardian, administrator or aide.",
    "users.csv line 9: the column givenName is empty; it is required.",
    "users.csv line 10: none of the orgs 'org-nowhere' of this user is a school in this import "
    "or in Préau.",
    "users.csv line 11: the email address 'pas-un-email' does not look valid.",
    "users.csv line 12: the enabledUser value 'maybe' is not true or false.",
    "users.csv line 13: the agent 'u-ghost' is not a user in this import or in Préau, so no "
    "parent link was made; the user itself was imported.",
    "users.csv line 14: this line has 6 values but the first line has 18 columns. Look for a "
    "missing comma, or a comma inside a value that is not between quotes.",
    "enrollments.csv line 8: the user 'u-nobody' is not in this import or in Préau.",
    "enrollments.csv line 9: the class 'cls-ghost' was refused (classes.csv line 5), so this "
    "enrolment was not imported either.",
    "enrollments.csv line 10: the user 'u-wizard' was refused (users.csv line 8), so this "
    "enrolment was not imported either.",
    "enrollments.csv line 11: the user 'u-zoe' is already enrolled in the class 'cls-4b' as "
    "student on line 2.",
    "enrollments.csv line 12: the enrolment role 'guardian' is not one Préau records; use "
    "student or teacher.",
    "enrollments.csv line 13: the schoolSourcedId 'org-hugo' is not the school of the class "
    "'cls-2a'; an enrolment belongs to its class's school.",
]


async def test_sample_with_errors_names_every_bad_row_and_a_second_import_changes_nothing(
    engine: AsyncEngine,
) -> None:
    stages: list[tuple[str, int, int]] = []
    first = await import_roster(
        engine,
        SAMPLES / "errors",
        now=NOW,
        source_name="errors",
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    assert first.problems == []
    assert first.source_system == "Export SIECLE"
    assert counts(first) == ERRORS_FIRST
    assert [row.describe() for row in first.rejected] == ERRORS_REJECTED
    assert first.fully_applied
    assert stages[0] == ("read", 0, 1)
    assert ("users.csv", 7, 7) in stages
    assert ("enrollments.csv", 6, 6) in stages

    rows = await fetch(
        engine,
        sa.select(
            people.c.source_id,
            people.c.profile,
            people.c.username,
            people.c.email,
            people.c.active,
            people.c.password_hash,
            people.c.activation_code_hash,
        ).order_by(people.c.id),
    )
    assert rows == [
        ("u-zoe", "pupil", "zoe.lefevre", None, True, None, None),
        ("u-paul", "parent", "paul.lefevre", "paul.lefevre@example.org", True, None, None),
        ("u-marc", "teacher", "marc.dupont", "marc.dupont@example.org", True, None, None),
        ("u-lea", "pupil", "lea.martin", None, False, None, None),
        ("u-jean", "teacher", "jean.martin", None, True, None, None),
        ("u-ines", "admin", "ines.bernard", None, True, None, None),
        ("u-zoe3", "pupil", "zoe.lefevre2", None, True, None, None),
    ]
    assert await fetch(
        engine,
        sa.select(groups.c.source_id, groups.c.kind, groups.c.name, groups.c.subject).order_by(
            groups.c.id
        ),
    ) == [
        ("cls-4b", "class", "4e B", None),
        ("grp-esp", "group", "Espagnol LV2 4e", "Espagnol"),
        ("cls-2a", "class", "2de A", None),
    ]
    # The scheduled group sits in term-1, whose parent is the school year.
    years = await fetch(engine, sa.select(groups.c.school_year_id).distinct())
    assert len(years) == 2
    assert await fetch(
        engine,
        sa.select(enrolments.c.source_id, enrolments.c.role, enrolments.c.subject).order_by(
            enrolments.c.source_id
        ),
    ) == [
        ("e-1", "pupil", None),
        ("e-2", "pupil", None),
        ("e-3", "teacher", None),
        ("e-4", "teacher", "Espagnol"),
        ("e-5", "pupil", None),
        ("e-6", "teacher", None),
    ]
    assert len(await fetch(engine, sa.select(parent_links))) == 1

    before = await snapshot(engine)
    second = await import_roster(engine, SAMPLES / "errors", now=LATER, source_name="errors")
    assert counts(second) == {
        ("orgs.csv", "schools"): ("applied", 5, 0, 0, 2, 0, 0, 1, 2),
        ("academicSessions.csv", "school years"): ("applied", 3, 0, 0, 2, 0, 0, 1, 1),
        ("classes.csv", "groups"): ("applied", 6, 0, 0, 3, 0, 0, 0, 3),
        ("users.csv", "people"): ("applied", 13, 0, 0, 7, 0, 0, 0, 6),
        ("users.csv", "parent links"): ("applied", 3, 0, 0, 1, 0, 0, 0, 1),
        ("roles.csv", "roles"): ("absent", 0, 0, 0, 0, 0, 0, 0, 0),
        ("enrollments.csv", "enrolments"): ("applied", 12, 0, 0, 6, 0, 0, 0, 6),
    }
    assert [row.describe() for row in second.rejected] == ERRORS_REJECTED
    assert second.changed == 0
    # Nothing changed, not even ``updated_at``.
    assert await snapshot(engine) == before

    stored = await fetch(
        engine,
        sa.select(
            roster_imports.c.id,
            roster_imports.c.source_name,
            roster_imports.c.school_id,
            roster_imports.c.summary,
            roster_imports.c.rejected,
        ).order_by(roster_imports.c.id),
    )
    assert [row[0] for row in stored] == [first.import_id, second.import_id]
    _, name, school_id, summary, rejected = stored[0]
    assert (name, school_id) == ("errors", None)
    assert summary["rejected_total"] == 19
    assert summary["fully_applied"] is True
    assert {file["file"]: file["status"] for file in summary["files"]}["users.csv"] == "applied"
    assert [row["reason"] for row in rejected] == ERRORS_REJECTED
    assert rejected[0]["template"].startswith("the identifier '{value}' is not a valid UAI")


async def test_a_school_the_import_creates_starts_with_the_socle_commun(
    engine: AsyncEngine,
) -> None:
    await import_roster(engine, SAMPLES / "valid", now=NOW)
    await import_roster(engine, SAMPLES / "valid", now=LATER)  # nothing given twice
    created = await fetch(engine, sa.select(schools.c.id))
    frameworks = await fetch(
        engine, sa.select(skill_frameworks.c.school_id).where(skill_frameworks.c.built_in)
    )
    assert sorted(frameworks) == sorted(created)
    per_school = await fetch(
        engine, sa.select(skills.c.school_id, sa.func.count()).group_by(skills.c.school_id)
    )
    assert {count for _school, count in per_school} == {9}  # 5 domains, 4 components of 1


async def test_oneroster_12_zip_with_roles_bom_crlf_and_a_subfolder(engine: AsyncEngine) -> None:
    data = zip_bytes(SAMPLES / "valid", prefix="export-2026/")
    report = await import_roster(engine, data, now=NOW)
    assert report.source_name == "upload.zip"
    assert counts(report) == {
        ("orgs.csv", "schools"): ("applied", 3, 2, 0, 0, 0, 0, 1, 0),
        ("academicSessions.csv", "school years"): ("applied", 2, 2, 0, 0, 0, 0, 1, 0),
        ("classes.csv", "groups"): ("applied", 3, 3, 0, 0, 0, 0, 0, 0),
        ("users.csv", "people"): ("applied", 6, 6, 0, 0, 0, 0, 0, 0),
        ("users.csv", "parent links"): ("applied", 2, 1, 0, 0, 0, 0, 0, 0),
        ("roles.csv", "roles"): ("applied", 7, 0, 0, 0, 0, 0, 0, 0),
        ("enrollments.csv", "enrolments"): ("applied", 6, 6, 0, 0, 0, 0, 0, 0),
    }
    hugo, zola = await fetch(engine, sa.select(schools.c.id).order_by(schools.c.uai))
    rows = await fetch(
        engine,
        sa.select(
            people.c.source_id, people.c.school_id, people.c.profile, people.c.given_name
        ).order_by(people.c.id),
    )
    assert rows == [
        ("u-zoe", hugo[0], "pupil", "Zoé"),
        ("u-paul", hugo[0], "parent", "Paul"),  # guardian
        ("u-marc", hugo[0], "teacher", "Marc"),  # primary role in org-hugo, secondary in zola
        ("u-lea", zola[0], "pupil", "Léa"),
        ("u-jean", zola[0], "teacher", "Jean"),
        ("u-ines", zola[0], "admin", "Inès"),  # principal
    ]
    again = await import_roster(engine, zip_bytes(SAMPLES / "valid"), now=LATER)
    assert again.changed == 0
    assert all(file.created == file.updated == 0 for file in again.files)


async def test_delta_deactivates_updates_creates_and_deletes(engine: AsyncEngine) -> None:
    await import_roster(engine, SAMPLES / "errors", now=NOW)
    before = dict(await fetch(engine, sa.select(people.c.source_id, people.c.updated_at)))
    delta = await import_roster(engine, SAMPLES / "delta", now=LATER)
    assert counts(delta) == {
        ("orgs.csv", "schools"): ("absent", 0, 0, 0, 0, 0, 0, 0, 0),
        ("academicSessions.csv", "school years"): ("absent", 0, 0, 0, 0, 0, 0, 0, 0),
        ("classes.csv", "groups"): ("applied", 1, 0, 0, 0, 1, 0, 0, 0),
        ("users.csv", "people"): ("applied", 5, 1, 1, 0, 2, 0, 0, 1),
        ("users.csv", "parent links"): ("applied", 0, 0, 0, 0, 0, 1, 0, 0),
        ("roles.csv", "roles"): ("absent", 0, 0, 0, 0, 0, 0, 0, 0),
        ("enrollments.csv", "enrolments"): ("applied", 4, 1, 0, 0, 0, 1, 1, 1),
    }
    assert [row.describe() for row in delta.rejected] == [
        "users.csv line 5: the status is empty, but in a delta file every row says active or "
        "tobedeleted.",
        "enrollments.csv line 5: the date 'not-a-date' in dateLastModified is not a date and "
        "time; write it as YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.",
    ]
    rows = {
        row[0]: row[1:]
        for row in await fetch(
            engine,
            sa.select(
                people.c.source_id,
                people.c.active,
                people.c.family_name,
                people.c.username,
                people.c.updated_at,
            ),
        )
    }
    assert rows["u-marc"][0] is False
    assert rows["u-paul"][0] is False
    # Those deactivated are signed out everywhere, as when it is done by hand.
    valid_after = dict(
        await fetch(engine, sa.select(people.c.source_id, people.c.sessions_valid_after))
    )
    assert valid_after["u-marc"] == valid_after["u-paul"] == LATER.timestamp()
    assert valid_after["u-lea"] == valid_after["u-new"] == 0
    assert rows["u-lea"][:2] == (True, "Martin-Durand")
    assert rows["u-new"][:2] == (True, "Lefèvre")
    assert rows["u-new"][2] == "zoe.lefevre3"  # zoe.lefevre and zoe.lefevre2 are taken
    # Only the people the delta changed were touched.
    changed = {key for key, value in rows.items() if key in before and value[3] != before[key]}
    assert changed == {"u-marc", "u-paul", "u-lea"}
    assert await fetch(engine, sa.select(parent_links)) == []
    assert await fetch(
        engine, sa.select(groups.c.source_id, groups.c.active).order_by(groups.c.id)
    ) == [("cls-4b", True), ("grp-esp", False), ("cls-2a", True)]
    assert [
        row[0]
        for row in await fetch(
            engine, sa.select(enrolments.c.source_id).order_by(enrolments.c.source_id)
        )
    ] == ["e-1", "e-2", "e-4", "e-5", "e-6", "e-new"]

    again = await import_roster(engine, SAMPLES / "delta", now=LATER)
    assert again.changed == 0


async def test_a_school_admins_upload_is_limited_to_their_school(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        hugo = (
            await connection.execute(
                schools.insert().returning(schools.c.id),
                {
                    "uai": "0751234A",
                    "name": "Collège Victor Hugo",
                    "source_id": "org-hugo",
                    "created_at": NOW,
                },
            )
        ).scalar_one()
        await connection.execute(
            schools.insert(),
            {
                "uai": "0759876B",
                "name": "Lycée Émile Zola",
                "source_id": "org-zola",
                "created_at": NOW,
            },
        )
    report = await import_roster(
        engine, SAMPLES / "valid", now=NOW, restrict_to_school_id=hugo, source_name="hugo.zip"
    )
    assert counts(report) == {
        ("orgs.csv", "schools"): ("applied", 3, 0, 0, 1, 0, 0, 1, 1),
        ("academicSessions.csv", "school years"): ("applied", 2, 1, 0, 0, 0, 0, 1, 0),
        ("classes.csv", "groups"): ("applied", 3, 2, 0, 0, 0, 0, 0, 1),
        ("users.csv", "people"): ("applied", 6, 3, 0, 0, 0, 0, 0, 3),
        ("users.csv", "parent links"): ("applied", 2, 1, 0, 0, 0, 0, 0, 0),
        ("roles.csv", "roles"): ("applied", 7, 0, 0, 0, 0, 0, 0, 0),
        ("enrollments.csv", "enrolments"): ("applied", 6, 4, 0, 0, 0, 0, 0, 2),
    }
    outside = (
        "this upload is limited to your school, and this row belongs to another school; an "
        "operator can import it."
    )
    assert [row.describe() for row in report.rejected] == [
        f"orgs.csv line 4: {outside}",
        f"classes.csv line 4: {outside}",
        f"users.csv line 5: {outside}",
        f"users.csv line 6: {outside}",
        f"users.csv line 7: {outside}",
        "enrollments.csv line 6: the class 'cls-2a' was refused (classes.csv line 4), so this "
        "row was not imported either.",
        "enrollments.csv line 7: the class 'cls-2a' was refused (classes.csv line 4), so this "
        "row was not imported either.",
    ]
    assert set(await fetch(engine, sa.select(people.c.school_id))) == {(hugo,)}
    assert set(await fetch(engine, sa.select(groups.c.school_id))) == {(hugo,)}
    assert set(await fetch(engine, sa.select(school_years.c.school_id))) == {(hugo,)}
    assert await fetch(engine, sa.select(roster_imports.c.school_id)) == [(hugo,)]

    # A school admin cannot create a school either.
    async with engine.begin() as connection:
        await connection.execute(schools.delete().where(schools.c.source_id == "org-zola"))
    again = await import_roster(engine, SAMPLES / "valid", now=LATER, restrict_to_school_id=hugo)
    assert [row.reason for row in again.rejected if row.file == "orgs.csv"] == [
        "this upload is limited to your school, so it cannot create the new school 'org-zola'; "
        "an operator can."
    ]
    assert again.changed == 0


@pytest.fixture
async def groups_refused(engine: AsyncEngine) -> AsyncIterator[None]:
    """A trigger that makes the database refuse every new group, as a real failure would."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                sa.text(
                    "CREATE FUNCTION roster_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'groups are frozen for this test'; END $$"
                )
            )
            await connection.execute(
                sa.text(
                    "CREATE TRIGGER roster_test_refuse BEFORE INSERT ON groups "
                    "FOR EACH ROW EXECUTE FUNCTION roster_test_refuse()"
                )
            )
        else:
            await connection.execute(
                sa.text(
                    "CREATE TRIGGER roster_test_refuse BEFORE INSERT ON groups "
                    "BEGIN SELECT RAISE(ABORT, 'groups are frozen for this test'); END"
                )
            )
    try:
        yield
    finally:
        await drop_refusal(engine)


async def drop_refusal(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(sa.text("DROP TRIGGER IF EXISTS roster_test_refuse ON groups"))
            await connection.execute(sa.text("DROP FUNCTION IF EXISTS roster_test_refuse()"))
        else:
            await connection.execute(sa.text("DROP TRIGGER IF EXISTS roster_test_refuse"))


@pytest.mark.usefixtures("groups_refused")
async def test_a_file_the_database_refuses_is_rolled_back_and_reported(
    engine: AsyncEngine,
) -> None:
    report = await import_roster(engine, SAMPLES / "valid", now=NOW)
    assert counts(report) == {
        ("orgs.csv", "schools"): ("applied", 3, 2, 0, 0, 0, 0, 1, 0),
        ("academicSessions.csv", "school years"): ("applied", 2, 2, 0, 0, 0, 0, 1, 0),
        ("classes.csv", "groups"): ("rolled_back", 3, 0, 0, 0, 0, 0, 0, 0),
        ("users.csv", "people"): ("applied", 6, 6, 0, 0, 0, 0, 0, 0),
        ("users.csv", "parent links"): ("applied", 2, 1, 0, 0, 0, 0, 0, 0),
        ("roles.csv", "roles"): ("applied", 7, 0, 0, 0, 0, 0, 0, 0),
        ("enrollments.csv", "enrolments"): ("applied", 6, 0, 0, 0, 0, 0, 0, 6),
    }
    assert not report.fully_applied
    classes = next(file for file in report.files if file.file == "classes.csv")
    assert classes.problem is not None
    assert classes.problem.describe().startswith("classes.csv: the database refused this file (")
    assert "groups are frozen for this test" in classes.problem.reason
    assert classes.problem.reason.endswith(
        "so nothing from it was saved. The other files were imported as reported; fix the "
        "problem and import again."
    )
    assert report.rejected[0].describe() == (
        "enrollments.csv line 2: the class 'cls-4b' was not saved because classes.csv was "
        "rolled back, so this row was not imported either."
    )
    assert await fetch(engine, sa.select(groups)) == []
    assert await fetch(engine, sa.select(enrolments)) == []
    summary = (await fetch(engine, sa.select(roster_imports.c.summary)))[0][0]
    assert summary["fully_applied"] is False

    await drop_refusal(engine)
    fixed = await import_roster(engine, SAMPLES / "valid", now=LATER)
    assert counts(fixed)[("classes.csv", "groups")] == ("applied", 3, 3, 0, 0, 0, 0, 0, 0)
    assert counts(fixed)[("enrollments.csv", "enrolments")] == ("applied", 6, 6, 0, 0, 0, 0, 0, 0)
    assert counts(fixed)[("users.csv", "people")] == ("applied", 6, 0, 0, 6, 0, 0, 0, 0)
    assert fixed.fully_applied


async def test_usernames_avoid_existing_ones_and_a_school_made_by_hand_is_adopted(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        other = (
            await connection.execute(
                schools.insert().returning(schools.c.id),
                {"uai": "0750001A", "name": "Autre collège", "created_at": NOW},
            )
        ).scalar_one()
        await connection.execute(
            schools.insert(),
            {"uai": "0751234A", "name": "Collège V. Hugo", "created_at": NOW},
        )
        await connection.execute(
            people.insert(),
            [
                {
                    "school_id": other,
                    "profile": "pupil",
                    "username": username,
                    "given_name": "X",
                    "family_name": "Y",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for username in ("zoe.lefevre", "jean.martin", "jean.martin2", "marc.dupont")
            ],
        )
    report = await import_roster(engine, SAMPLES / "valid", now=NOW)
    assert counts(report)[("orgs.csv", "schools")] == ("applied", 3, 1, 1, 0, 0, 0, 1, 0)
    assert await fetch(
        engine,
        sa.select(schools.c.uai, schools.c.name, schools.c.source_id).order_by(schools.c.uai),
    ) == [
        ("0750001A", "Autre collège", None),
        ("0751234A", "Collège Victor Hugo", "org-hugo"),
        ("0759876B", "Lycée Émile Zola", "org-zola"),
    ]
    usernames = dict(
        await fetch(
            engine,
            sa.select(people.c.source_id, people.c.username).where(people.c.source_id.is_not(None)),
        )
    )
    assert usernames == {
        "u-zoe": "zoe.lefevre2",
        "u-paul": "paul.lefevre",
        "u-marc": "marc.dupont2",
        "u-lea": "lea.martin",
        "u-jean": "jean.martin3",
        "u-ines": "ines.bernard",
    }


async def test_unreadable_uploads_are_reported_and_nothing_is_imported(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    not_a_zip = await import_roster(engine, b"PK\x03\x04 this is not a zip", now=NOW)
    assert [problem.describe() for problem in not_a_zip.problems] == [
        "upload.zip: this is not a zip file or a folder. Upload the OneRoster export as one .zip "
        "file holding manifest.csv and the other CSV files."
    ]
    assert not_a_zip.files == []

    (tmp_path / "users.csv").write_bytes((SAMPLES / "errors" / "users.csv").read_bytes())
    no_manifest = await import_roster(engine, tmp_path, now=NOW)
    assert [problem.line for problem in no_manifest.problems] == [0]
    assert no_manifest.problems[0].file == "manifest.csv"
    assert not no_manifest.fully_applied

    missing = await import_roster(engine, tmp_path / "nowhere", now=NOW)
    assert missing.problems[0].reason == (
        "there is no such folder or file; check the path and try again."
    )
    for table in DIRECTORY_TABLES:
        assert await fetch(engine, sa.select(table)) == []
    assert len(await fetch(engine, sa.select(roster_imports))) == 3


def generated_roster(folder: Path, pupils: int) -> Path:
    """One school, one class, ``pupils`` pupils each with a parent and an enrolment."""
    folder.mkdir()
    (folder / "manifest.csv").write_text(
        "propertyName,value\nfile.orgs,bulk\nfile.classes,bulk\nfile.users,bulk\n"
        "file.enrollments,bulk\nfile.academicSessions,absent\n"
    )
    (folder / "orgs.csv").write_text("sourcedId,name,type,identifier\ns,École,school,0750002B\n")
    (folder / "classes.csv").write_text(
        "sourcedId,title,classType,schoolSourcedId\nc,CM2,homeroom,s\n"
    )
    users = ["sourcedId,orgSourcedIds,role,givenName,familyName,agentSourcedIds"]
    enrollments = ["sourcedId,classSourcedId,userSourcedId,role"]
    for number in range(pupils):
        users.append(f"p{number},s,student,Jean,Martin,g{number}")
        users.append(f"g{number},s,parent,Anne,Martin,")
        enrollments.append(f"e{number},c,p{number},student")
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    (folder / "enrollments.csv").write_text("\n".join(enrollments) + "\n")
    return folder


async def statements_for(engine: AsyncEngine, folder: Path) -> tuple[int, RosterReport]:
    count = 0

    def counter(*_: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(engine.sync_engine, "before_cursor_execute", counter)
    try:
        report = await import_roster(engine, folder, now=NOW)
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", counter)
    return count, report


async def test_the_number_of_statements_does_not_grow_with_the_roster(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    small_count, small = await statements_for(engine, generated_roster(tmp_path / "a", 20))
    assert counts(small)[("users.csv", "people")][2] == 40
    async with engine.begin() as connection:
        for table in (
            enrolments, parent_links, people, groups, roster_imports, skills, skill_frameworks,
            schools,
        ):  # fmt: skip
            await connection.execute(table.delete())
    large_count, large = await statements_for(engine, generated_roster(tmp_path / "b", 400))
    assert counts(large)[("users.csv", "people")][2] == 800
    assert counts(large)[("users.csv", "parent links")][2] == 400
    # 400 "jean.martin" need one extra look-up round for the usernames, not one query each.
    assert large_count - small_count <= 2, (small_count, large_count)


# ---------------------------------------------------------------------------------------------
# School years (each in its school, deleted only while unused) and enrolments (found by
# sourcedId, else by person, class and role)

DELTA_MANIFEST = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
SESSIONS = (
    "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,orgSourcedId\n"
)
ENROLLMENTS = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role\n"
)


def delta(**files: str) -> bytes:
    """A zip of delta files (``academicSessions=…``), the others absent."""
    manifest = DELTA_MANIFEST + "".join(f"file.{name},delta\n" for name in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.csv", manifest)
        for name, text in files.items():
            archive.writestr(f"{name}.csv", text)
    return buffer.getvalue()


async def years_by_school(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    return sorted(
        await fetch(
            engine,
            sa.select(schools.c.uai, school_years.c.source_id, school_years.c.name).join(
                schools, schools.c.id == school_years.c.school_id
            ),
        )
    )


async def test_school_years_go_to_their_school_and_are_deleted_only_when_unused(
    engine: AsyncEngine,
) -> None:
    await import_roster(engine, SAMPLES / "valid", now=NOW)
    first = await import_roster(
        engine,
        delta(
            academicSessions=SESSIONS
            + "year-2025,tobedeleted,,,,,,,\n"
            + "year-x,active,,Year X,schoolYear,2026-09-01,2027-07-04,,org-hugo\n"
            + "year-y,active,,Year Y,schoolYear,2026-09-01,2027-07-04,,org-nowhere\n"
            + "term-9,active,,T9,term,2026-09-01,2026-11-30,year-x,\n"
            + "year-z,active,,Year Z,schoolYear,2026-09-01,2027-07-04,,\n"
            # A row naming Zola, so its school years are loaded too (see the xfail below).
            + "year-w,active,,Year W,schoolYear,2026-09-01,2027-07-04,,org-zola\n"
        ),
        now=LATER,
    )
    assert counts(first)[("academicSessions.csv", "school years")] == (
        "applied", 6, 2, 0, 0, 0, 0, 1, 4,
    )  # fmt: skip
    assert [row.describe() for row in first.rejected] == [
        # year-2025 is used by 4e B and Espagnol LV2 at Hugo, by 2de A at Zola.
        "academicSessions.csv line 2: the school year 'year-2025' cannot be deleted while 2 "
        "classes or groups use it; move or delete them first.",
        "academicSessions.csv line 2: the school year 'year-2025' cannot be deleted while 1 "
        "classes or groups use it; move or delete them first.",
        "academicSessions.csv line 4: the school 'org-nowhere' is not a school in this import "
        "or in Préau.",
        "academicSessions.csv line 6: the school year 'year-z' is not linked to any school: no "
        "class uses it and orgs.csv has no school. Import it with its schools and classes, or "
        "add an orgSourcedId column.",
    ]
    assert await years_by_school(engine) == [
        ("0751234A", "year-2025", "2025-2026"),
        ("0751234A", "year-x", "Year X"),
        ("0759876B", "year-2025", "2025-2026"),
        ("0759876B", "year-w", "Year W"),
    ]

    # With a row naming Hugo (see the xfail below), its unused school year is deleted.
    second = await import_roster(
        engine,
        delta(
            academicSessions=SESSIONS
            + "year-x,tobedeleted,,,,,,,\n"
            + "year-h,active,,Year H,schoolYear,2027-09-01,2028-07-04,,org-hugo\n"
        ),
        now=LATER,
    )
    assert counts(second)[("academicSessions.csv", "school years")] == (
        "applied", 2, 1, 0, 0, 0, 1, 0, 0,
    )  # fmt: skip
    assert await years_by_school(engine) == [
        ("0751234A", "year-2025", "2025-2026"),
        ("0751234A", "year-h", "Year H"),
        ("0759876B", "year-2025", "2025-2026"),
        ("0759876B", "year-w", "Year W"),
    ]


async def test_a_school_year_deleted_by_its_sourcedid_alone_is_deleted(
    engine: AsyncEngine,
) -> None:
    await import_roster(engine, SAMPLES / "valid", now=NOW)
    await import_roster(
        engine,
        delta(
            academicSessions=SESSIONS
            + "year-x,active,,X,schoolYear,2026-09-01,2027-07-04,,org-hugo\n"
        ),
        now=NOW,
    )
    report = await import_roster(
        engine, delta(academicSessions=SESSIONS + "year-x,tobedeleted,,,,,,,\n"), now=LATER
    )
    assert counts(report)[("academicSessions.csv", "school years")][6] == 1  # deleted
    assert ("0751234A", "year-x", "X") not in await years_by_school(engine)


async def test_an_enrolment_is_found_by_sourcedid_then_adopted_by_person_class_and_role(
    engine: AsyncEngine,
) -> None:
    await import_roster(engine, SAMPLES / "valid", now=NOW)
    upload = delta(
        enrollments=ENROLLMENTS
        # e-1 and e-2 swap classes: each would take the other's person, class and role.
        + "e-1,active,,grp-esp,org-hugo,u-zoe,student\n"
        + "e-2,active,,cls-4b,org-hugo,u-zoe,student\n"
        # Marc teaches 4e B under e-3, which the file no longer names: e-10 adopts it.
        + "e-10,active,,cls-4b,,u-marc,teacher\n"
        + "e-11,active,,grp-esp,,u-marc,student\n"
    )
    report = await import_roster(engine, upload, now=LATER)
    assert counts(report)[("enrollments.csv", "enrolments")] == (
        "applied", 4, 1, 1, 0, 0, 0, 0, 2,
    )  # fmt: skip
    assert [row.describe() for row in report.rejected] == [
        "enrollments.csv line 2: the user 'u-zoe' is already enrolled in the class 'grp-esp' "
        "as pupil (enrolment 'e-2').",
        "enrollments.csv line 3: the user 'u-zoe' is already enrolled in the class 'cls-4b' "
        "as pupil (enrolment 'e-1').",
    ]
    marc = sa.select(people.c.id).where(people.c.source_id == "u-marc").scalar_subquery()
    assert sorted(
        await fetch(
            engine,
            sa.select(enrolments.c.source_id, enrolments.c.role, enrolments.c.subject).where(
                enrolments.c.person_id == marc
            ),
        )
    ) == [("e-10", "teacher", None), ("e-11", "pupil", None), ("e-4", "teacher", "Espagnol")]

    again = await import_roster(engine, upload, now=LATER)
    assert counts(again)[("enrollments.csv", "enrolments")] == (
        "applied", 4, 0, 0, 2, 0, 0, 0, 2,
    )  # fmt: skip


async def test_a_years_terms_become_the_marks_books_terms(engine: AsyncEngine) -> None:
    await import_roster(engine, SAMPLES / "valid", now=NOW)
    # The sample's year has a single term: not a set the marks book takes, so no terms.
    assert await fetch(engine, sa.select(terms.c.name)) == []
    # The year names Hugo, so the import loads (and may change) Hugo's school years.
    year = "year-2025,active,,2025-2026,schoolYear,2025-09-01,2026-07-04,,org-hugo\n"
    report = await import_roster(
        engine,
        delta(
            academicSessions=SESSIONS
            + year
            + "term-1,active,,Trimestre 1,term,2025-09-01,2025-11-30,year-2025,\n"
            + "term-2,active,,Trimestre 2,term,2025-12-01,2026-03-06,year-2025,\n"
            + "term-3,active,,Trimestre 3,term,2026-03-07,2026-07-04,year-2025,\n"
        ),
        now=LATER,
    )
    assert report.rejected == []
    found = await fetch(
        engine,
        sa.select(schools.c.uai, terms.c.position, terms.c.name, terms.c.starts_on)
        .join(schools, schools.c.id == terms.c.school_id)
        .order_by(schools.c.uai, terms.c.position),
    )
    assert [(uai, position, name) for uai, position, name, _ in found] == [
        ("0751234A", position, f"Trimestre {position}") for position in (1, 2, 3)
    ]
    kinds = await fetch(engine, sa.select(marks_settings.c.term_kind))
    assert kinds == [("trimester",)]
    # Two semesters replace them; overlapping ones are left out and change nothing.
    await import_roster(
        engine,
        delta(
            academicSessions=SESSIONS
            + year
            + "term-1,tobedeleted,,,,,,,\n"
            + "s-1,active,,Semestre 1,semester,2025-09-01,2026-01-31,year-2025,\n"
            + "s-2,active,,Semestre 2,semester,2026-02-01,2026-07-04,year-2025,\n"
        ),
        now=LATER,
    )
    names = {name for (name,) in await fetch(engine, sa.select(terms.c.name))}
    assert names == {"Semestre 1", "Semestre 2"}
    assert {kind for (kind,) in await fetch(engine, sa.select(marks_settings.c.term_kind))} == {
        "semester"
    }
    await import_roster(
        engine,
        delta(
            academicSessions=SESSIONS
            + year
            + "s-1,active,,Semestre 1,semester,2025-09-01,2026-03-31,year-2025,\n"
            + "s-2,active,,Semestre 2,semester,2026-02-01,2026-07-04,year-2025,\n"
        ),
        now=LATER,
    )
    assert len(await fetch(engine, sa.select(terms.c.id))) == 2  # unchanged


async def test_a_group_without_subjects_takes_its_courses(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    folder = tmp_path / "with-courses"
    folder.mkdir()
    for path in (SAMPLES / "valid").iterdir():
        text = path.read_text(encoding="utf-8")
        if path.name == "manifest.csv":
            text = text.replace("file.courses,absent", "file.courses,bulk")
        elif path.name == "classes.csv":
            text = (
                text.replace(
                    "grp-esp,,,Espagnol LV2 4e,08,,ESP4,scheduled,,org-hugo,term-1,Espagnol,,",
                    "grp-esp,,,Espagnol LV2 4e,08,crs-esp,ESP4,scheduled,,org-hugo,term-1,,,",
                )
                + "grp-mat,,,Maths 4e renfort,08,crs-mat,MAT4,scheduled,,org-hugo,term-1,,,\n"
            )
        (folder / path.name).write_text(text, encoding="utf-8")
    (folder / "courses.csv").write_text(
        "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
        "orgSourcedId,subjects,subjectCodes\n"
        "crs-esp,,,year-2025,Espagnol 4e,ESP,08,org-hugo,Espagnol LV2,\n"
        "crs-mat,,,year-2025,Mathématiques,MAT,08,org-hugo,,\n",
        encoding="utf-8",
    )
    report = await import_roster(engine, folder, now=NOW)
    read = counts(report)[("courses.csv", "courses")]
    assert (read[0], read[1], read[7]) == ("applied", 2, 2)  # read, not stored themselves
    subjects = dict(
        await fetch(
            engine, sa.select(groups.c.source_id, groups.c.subject).where(groups.c.kind == "group")
        )
    )
    # The course's subjects, else its title.
    assert subjects == {"grp-esp": "Espagnol LV2", "grp-mat": "Mathématiques"}
