"""Time the OneRoster import: N users with their enrolments, on SQLite and on PostgreSQL.

Generates a OneRoster 1.2 CSV set (20 schools; pupils in a class and four groups, teachers,
staff, parents linked to their children; many shared names, so usernames collide) into a
temporary folder, then times a first import and a re-import into a fresh database per engine,
prints a table and writes it into docs/performance.md between the roster-import markers.

    .venv/bin/python bench/roster_import.py            # 100,000 users
    .venv/bin/python bench/roster_import.py --quick    # 10,000 users
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import platform
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from preau.actions.roster.importer import import_roster
from preau.adapters.sql.engine import make_engine, migrate
from preau.domain.roster.report import RosterReport

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
START = "<!-- roster-import:start -->"
END = "<!-- roster-import:end -->"
POSTGRES_ADMIN = os.environ.get("PREAU_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1/postgres")
BENCH_DATABASE = "preau_bench_roster"
SCHOOLS = 20
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


@dataclass
class Sizes:
    users: int = 0
    enrolments: int = 0
    links: int = 0


class CsvFile:
    """Rows of one OneRoster file, by column name; columns left out are written empty."""

    def __init__(self, name: str, header: str) -> None:
        self.name = name
        self.columns = header.split(",")
        self.rows: list[list[str]] = []

    def add(self, **values: str) -> None:
        self.rows.append([values.get(column, "") for column in self.columns])

    def write(self, folder: Path) -> None:
        with (folder / self.name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            writer.writerows(self.rows)


MANIFEST = """propertyName,value
manifest.version,1.0
oneroster.version,1.2
file.academicSessions,bulk
file.categories,absent
file.classes,bulk
file.courses,absent
file.demographics,absent
file.enrollments,bulk
file.orgs,bulk
file.roles,bulk
file.users,bulk
source.systemName,bench
"""
SUBJECTS = (  # noqa: SIM905 - same: one readable string
    "Mathématiques,Français,Anglais,Espagnol,Histoire-géographie,Physique-chimie,SVT,"
    "Technologie,EPS,Arts plastiques"
).split(",")
TERMS = (("2025-09-01", "2025-11-30"), ("2025-12-01", "2026-02-28"), ("2026-03-01", "2026-07-04"))


def generate(folder: Path, users: int, seed: int = 2021) -> Sizes:
    """Write a OneRoster 1.2 set of about ``users`` users into ``folder``."""
    rng = random.Random(seed)
    per_school = users // SCHOOLS
    pupils = per_school * 60 // 100
    parents = per_school * 36 // 100
    teachers = per_school * 36 // 1000
    staff = per_school - pupils - parents - teachers
    (folder / "manifest.csv").write_text(MANIFEST, encoding="utf-8")
    orgs = CsvFile(
        "orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"
    )
    sessions = CsvFile(
        "academicSessions.csv",
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    )
    classes = CsvFile(
        "classes.csv",
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,"
        "location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    )
    user_rows = CsvFile(
        "users.csv",
        "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
        "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
        "userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,"
        "preferredFamilyName,primaryOrgSourcedId,pronouns",
    )
    roles = CsvFile(
        "roles.csv",
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId",
    )
    enrollments = CsvFile(
        "enrollments.csv",
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
        "primary,beginDate,endDate",
    )
    sizes = Sizes()
    orgs.add(sourcedId="aca", name="Académie de Paris", type="district")
    sessions.add(
        sourcedId="y2025",
        title="2025-2026",
        type="schoolYear",
        startDate="2025-09-01",
        endDate="2026-07-04",
        schoolYear="2026",
    )
    for term, (start, end) in enumerate(TERMS, start=1):
        sessions.add(
            sourcedId=f"t{term}",
            title=f"Trimestre {term}",
            type="term",
            startDate=start,
            endDate=end,
            parentSourcedId="y2025",
            schoolYear="2026",
        )

    def user(source_id: str, school: str, role: str, agents: list[str], grade: str = "") -> None:
        user_rows.add(
            sourcedId=source_id,
            enabledUser="true",
            # A third of the exports carry a username; the rest get one made from the names,
            # and the names repeat, so many usernames need a number.
            username=f"{source_id}.login" if rng.random() < 0.33 else "",
            givenName=rng.choice(GIVEN),
            familyName=rng.choice(FAMILY),
            email=f"{source_id}@example.org" if role != "student" else "",
            agentSourcedIds=",".join(agents),
            grades=grade,
            primaryOrgSourcedId=school,
        )
        roles.add(
            sourcedId=f"r-{source_id}",
            userSourcedId=source_id,
            roleType="primary",
            role=role,
            orgSourcedId=school,
        )
        sizes.users += 1

    def enrol(group: str, school: str, person: str, role: str) -> None:
        sizes.enrolments += 1
        enrollments.add(
            sourcedId=f"e{sizes.enrolments}",
            classSourcedId=group,
            schoolSourcedId=school,
            userSourcedId=person,
            role=role,
            primary="true" if role == "teacher" else "",
        )

    for school_number in range(1, SCHOOLS + 1):
        school = f"s{school_number}"
        orgs.add(
            sourcedId=school,
            name=f"Collège {school_number}",
            type="school",
            identifier=f"075{school_number:04d}A",
            parentSourcedId="aca",
        )
        homerooms = max(1, pupils // 30)
        group_count = max(1, pupils * 4 // 40)
        teacher_ids = [f"{school}-t{n}" for n in range(max(1, teachers))]
        for n in range(homerooms):
            classes.add(
                sourcedId=f"{school}-c{n}",
                title=f"Classe {n + 1}",
                grades="08",
                classType="homeroom",
                schoolSourcedId=school,
                termSourcedIds="y2025",
            )
        for n in range(group_count):
            classes.add(
                sourcedId=f"{school}-g{n}",
                title=f"Groupe {n + 1}",
                grades="08",
                classType="scheduled",
                schoolSourcedId=school,
                termSourcedIds=f"t{n % 3 + 1}",
                subjects=SUBJECTS[n % len(SUBJECTS)],
            )
        for teacher in teacher_ids:
            user(teacher, school, "teacher", [])
        for n in range(staff):
            user(f"{school}-a{n}", school, "administrator" if n == 0 else "aide", [])
        children: list[list[str]] = [[] for _ in range(parents)]
        for n in range(pupils):
            if parents:
                children[n % parents].append(f"{school}-p{n}")
        for n in range(pupils):
            # Half the pupils also name their parent: both directions give one link.
            agents = [f"{school}-r{n % parents}"] if parents and n % 2 == 0 else []
            user(f"{school}-p{n}", school, "student", agents, "08")
            enrol(f"{school}-c{n % homerooms}", school, f"{school}-p{n}", "student")
            for k in range(4):
                group = f"{school}-g{(n * 4 + k) % group_count}"
                enrol(group, school, f"{school}-p{n}", "student")
        for n in range(parents):
            user(f"{school}-r{n}", school, "guardian" if n % 7 == 0 else "parent", children[n])
            sizes.links += len(children[n])
        for n in range(homerooms):
            enrol(f"{school}-c{n}", school, teacher_ids[n % len(teacher_ids)], "teacher")
        for n in range(group_count):
            enrol(f"{school}-g{n}", school, teacher_ids[n % len(teacher_ids)], "teacher")
    for file in (orgs, sessions, classes, user_rows, roles, enrollments):
        file.write(folder)
    return sizes


async def _fresh_postgres() -> str:
    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await connection.close()
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{BENCH_DATABASE}"


async def _drop_postgres() -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclass
class Result:
    engine: str
    first: float
    again: float
    first_report: RosterReport
    again_report: RosterReport


async def run_engine(name: str, folder: Path, workdir: Path) -> Result:
    if name == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    else:
        url = await _fresh_postgres()
    engine = make_engine(url)
    try:
        await migrate(engine)
        now = datetime.now(UTC)
        started = time.perf_counter()
        first_report = await import_roster(engine, folder, now=now, source_name="bench")
        first = time.perf_counter() - started
        started = time.perf_counter()
        again_report = await import_roster(engine, folder, now=now, source_name="bench")
        again = time.perf_counter() - started
    finally:
        await engine.dispose()
        if name == "postgresql":
            await _drop_postgres()
    for report in (first_report, again_report):
        if not report.fully_applied or report.rejected:
            raise SystemExit(f"{name}: the import was not clean: {report.summary()}")
    if again_report.changed:
        raise SystemExit(f"{name}: the re-import changed {again_report.changed} records")
    return Result(name, first, again, first_report, again_report)


def table(results: list[Result], sizes: Sizes, command: str) -> str:
    lines = [
        f"Roster import (OneRoster 1.2 CSV, {SCHOOLS} schools): {sizes.users:,} users, "
        f"{sizes.enrolments:,} enrolments, {sizes.links:,} parent links. "
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} CPUs "
        f"({platform.machine()}, Python {platform.python_version()}) with {command}.",
        "",
        "Each time covers reading the CSV folder, checking every row, loading the "
        "schools' existing records and writing; each file is one transaction, written in "
        "batches of 5,000 rows. The re-import reads the same files, finds every record "
        "unchanged and writes nothing but its report. The database is fresh for each engine.",
        "",
        "| Engine | First import | Re-import (nothing changes) | Records created | Target |",
        "|---|---:|---:|---:|---|",
    ]
    for result in results:
        created = sum(file.created for file in result.first_report.files)
        target = "under 60 s: met" if max(result.first, result.again) < 60 else "under 60 s: MISSED"
        lines.append(
            f"| {result.engine} | {result.first:.1f} s | {result.again:.1f} s | {created:,} "
            f"| {target} |"
        )
    return "\n".join(lines)


def _replace_between(text: str, start: str, end: str, block: str) -> str | None:
    if start not in text or end not in text:
        return None
    before, rest = text.split(start, 1)
    return before + block + rest.split(end, 1)[1]


def write_doc(text: str, *, quick: bool) -> None:
    """Replace this run's part (full or quick) of the roster-import section, so a quick
    ``make bench`` never erases the 100,000-user measurement."""
    part = "quick" if quick else "full"
    part_start, part_end = (
        f"<!-- roster-import:{part}:start -->",
        f"<!-- roster-import:{part}:end -->",
    )
    part_block = f"{part_start}\n{text}\n{part_end}"
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if START not in current or END not in current:
        current = current.rstrip("\n") + f"\n\n## Roster import\n\n{START}\n{END}\n"
    section = current.split(START, 1)[1].split(END, 1)[0]
    replaced = _replace_between(section, part_start, part_end, part_block)
    if replaced is None:
        # Keep an existing full measurement first; drop anything older than the two parts.
        parts = [
            block
            for name in ("full", "quick")
            if (block := _part(section, name)) is not None and name != part
        ]
        parts.insert(0 if part == "full" else len(parts), part_block)
        replaced = "\n" + "\n\n".join(parts) + "\n"
    updated = _replace_between(current, START, END, f"{START}{replaced}{END}")
    assert updated is not None
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(updated, encoding="utf-8")


def _part(section: str, name: str) -> str | None:
    start, end = f"<!-- roster-import:{name}:start -->", f"<!-- roster-import:{name}:end -->"
    if start not in section or end not in section:
        return None
    return start + section.split(start, 1)[1].split(end, 1)[0] + end


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 users")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    users = 10_000 if args.quick else args.users
    if args.quick:
        command = "`python bench/roster_import.py --quick` (what `make bench` runs)"
    elif users == 100_000:
        command = "`python bench/roster_import.py` (what `make bench BENCH_ARGS=--full` runs)"
    else:
        command = f"`python bench/roster_import.py --users {users}`"
    with tempfile.TemporaryDirectory(prefix="preau-roster-bench-") as temp:
        workdir = Path(temp)
        folder = workdir / "roster"
        folder.mkdir()
        started = time.perf_counter()
        sizes = generate(folder, users)
        print(
            f"generated {sizes.users:,} users, {sizes.enrolments:,} enrolments "
            f"in {time.perf_counter() - started:.1f} s"
        )
        results = []
        for name in args.engines.split(","):
            result = await run_engine(name, folder, workdir)
            print(f"{name}: first import {result.first:.1f} s, re-import {result.again:.1f} s")
            results.append(result)
    text = table(results, sizes, command)
    print()
    print(text)
    if not args.no_doc:
        write_doc(text, quick=args.quick)
        print(f"\nwritten to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
