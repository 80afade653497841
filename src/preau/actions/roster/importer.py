"""Import a OneRoster CSV roster (a folder, a .zip, or the bytes of an uploaded zip) into the
directory: schools, school years, groups, people, parent links and enrolments.

Each file is applied in its own transaction, in dependency order; a file the database refuses
is rolled back whole and the report says so. Existing records are found by ``sourcedId`` and
compared value by value, so importing the same data twice changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.actions.roster.enrolments import apply_enrolments
from preau.actions.roster.groups import apply_groups
from preau.actions.roster.people import apply_people
from preau.actions.roster.run import ImportRun
from preau.actions.roster.school_years import apply_school_years
from preau.actions.roster.schools import apply_schools
from preau.actions.roster.source import read_roster_source
from preau.actions.roster.terms import apply_terms
from preau.actions.roster.writes import LOOKUP_CHUNK, Progress, chunks
from preau.adapters.sql.schema import enrolments, groups, people, roster_imports, school_years
from preau.domain.roster.checks import Known, check_references, referenced_schools
from preau.domain.roster.parse import parse_roster
from preau.domain.roster.records import FileMode, FileStatus, ParsedRoster
from preau.domain.roster.report import FileReport, RosterReport

#: Rejected rows kept in ``roster_imports.rejected`` (the returned report keeps them all).
STORED_REJECTED_LIMIT = 10_000


async def import_roster(
    engine: AsyncEngine,
    source: Path | bytes,
    *,
    now: datetime,
    restrict_to_school_id: int | None = None,
    source_name: str = "",
    progress: Progress | None = None,
) -> RosterReport:
    """Import a OneRoster CSV set and return (and store in ``roster_imports``) its report.

    ``source`` is a folder, a .zip path, or the bytes of an uploaded zip.
    ``restrict_to_school_id`` makes it a school admin's upload: rows for other schools are
    refused. ``progress(stage, done, total)`` is called as each chunk is written.
    """
    started = time.perf_counter()
    if not source_name:
        source_name = "upload.zip" if isinstance(source, bytes) else str(source)
    report = RosterReport(
        source_name=source_name[:255], started_at=now, school_id=restrict_to_school_id
    )
    if progress is not None:
        progress("read", 0, 1)
    files, problem = await asyncio.to_thread(read_roster_source, source)
    if problem is not None:
        report.problems.append(problem)
    else:
        roster = await asyncio.to_thread(parse_roster, files)
        report.problems.extend(roster.problems)
        if roster.manifest is not None:
            report.source_system = roster.manifest.system_name
            if progress is not None:
                progress("read", 1, 1)
            await _apply(
                ImportRun(
                    engine,
                    roster,
                    report,
                    now=now,
                    restrict_to_school_id=restrict_to_school_id,
                    progress=progress,
                )
            )
    report.seconds = time.perf_counter() - started
    await _store_report(engine, report)
    return report


async def _apply(run: ImportRun) -> None:
    """Load what the database holds for the schools the upload touches, check the references,
    then apply each file in dependency order."""
    async with run.engine.connect() as connection:
        await run.directory.load_schools(connection)
        school_ids = {
            school.id
            for source_id in referenced_schools(run.roster)
            if (school := run.directory.schools_by_source.get(source_id)) is not None
        }
        if run.restrict is not None:
            school_ids = {run.restrict}
        else:
            school_ids |= await _schools_of_deleted_rows(connection, run.roster)
        await run.directory.load(connection, sorted(school_ids))
    check_references(
        run.roster,
        Known(
            schools=frozenset(run.directory.schools_by_source),
            classes=frozenset(run.directory.groups_by_source),
            users=frozenset(run.directory.people_by_source),
        ),
    )
    await apply_schools(run)
    await apply_school_years(run)
    await apply_terms(run)
    if run.roster.courses.mode is not FileMode.ABSENT:
        courses = run.file_report(run.roster.courses, "courses")
        courses.ignored = len(run.roster.courses.records)  # they name their groups' subjects
    await apply_groups(run)
    await apply_people(run)
    await apply_enrolments(run)
    for note in run.roster.other_files:
        run.report.files.append(
            FileReport(note.file, "", FileMode.ABSENT, FileStatus.NOT_READ, problem=note)
        )


async def _schools_of_deleted_rows(connection: AsyncConnection, roster: ParsedRoster) -> set[int]:
    """A delta row marked tobedeleted may carry only its sourcedId: find its school."""
    wanted: list[tuple[sa.Table, list[str]]] = [
        (school_years, [r.source_id for r in roster.sessions.records if r.deleted]),
        (groups, [r.source_id for r in roster.classes.records if r.deleted]),
        (people, [r.source_id for r in roster.users.records if r.deleted]),
        (enrolments, [r.source_id for r in roster.enrollments.records if r.deleted]),
    ]
    found: set[int] = set()
    for table, source_ids in wanted:
        for chunk in chunks(source_ids, LOOKUP_CHUNK):
            result = await connection.execute(
                sa.select(table.c.school_id).distinct().where(table.c.source_id.in_(list(chunk)))
            )
            found.update(result.scalars())
    return found


async def _store_report(engine: AsyncEngine, report: RosterReport) -> None:
    rejected = report.rejected
    stored = [
        {**msgspec.to_builtins(row), "reason": row.describe()}
        for row in rejected[:STORED_REJECTED_LIMIT]
    ]
    summary = report.summary()
    summary["rejected_total"] = len(rejected)
    async with engine.begin() as connection:
        result = await connection.execute(
            roster_imports.insert().returning(roster_imports.c.id),
            {
                "school_id": report.school_id,
                "source_name": report.source_name,
                "started_at": report.started_at,
                "finished_at": report.started_at + timedelta(seconds=report.seconds),
                "summary": summary,
                "rejected": stored,
            },
        )
        report.import_id = result.scalar_one()
