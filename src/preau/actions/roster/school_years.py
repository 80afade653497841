"""academicSessions.csv: school years, in each school that uses them (their terms and
semesters become the marks book's terms: ``terms.py``; grading periods are not stored); a
school year is deleted only when no class or group uses it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from preau.actions.roster.run import ImportRun
from preau.actions.roster.stored import YEAR_COLUMNS, StoredYear
from preau.actions.roster.writes import Writes, refresh
from preau.adapters.sql.schema import school_years
from preau.domain.roster.reasons import KIND_SCHOOL, N_, RejectedRow, reject
from preau.domain.roster.records import SessionRecord
from preau.domain.roster.report import FileReport
from preau.domain.roster.rules import school_year_of


async def apply_school_years(run: ImportRun) -> None:
    parsed = run.roster.sessions
    report = run.file_report(parsed, "school years")
    if not parsed.readable:
        return
    writes = Writes()
    directory = run.directory
    deleted_years: list[StoredYear] = []
    for session in parsed.records:
        if session.deleted:
            deleted_years += _plan_deletion(run, report, writes, session)
        elif not session.is_school_year:
            report.ignored += 1  # not school years: terms are the marks book's (terms.py)
        else:
            _plan_school_year(run, report, writes, session)
    report.rejected.sort(key=lambda row: row.line)

    def after_commit(inserted: Sequence[sa.Row[Any]]) -> None:
        for year in deleted_years:
            directory.years.pop((year.school_id, year.source_id or ""), None)
        by_id = {year.id: year for year in directory.years.values()}
        refresh(by_id, writes.updates, inserted, StoredYear._make, directory.add_year)

    await run.apply_rows(
        report,
        school_years,
        writes,
        (s.source_id for s in parsed.records),
        after_commit=after_commit,
        returning=YEAR_COLUMNS,
    )


def _plan_deletion(
    run: ImportRun, report: FileReport, writes: Writes, session: SessionRecord
) -> list[StoredYear]:
    """The school years this row deletes, in every school the import may change."""
    matches = [
        year
        for (school_id, source_id), year in run.directory.years.items()
        if source_id == session.source_id and not run.restricted_out(school_id)
    ]
    if not matches:
        report.ignored += 1
    deleted: list[StoredYear] = []
    for year in matches:
        in_use = run.directory.year_use.get(year.id, 0)
        if in_use:
            report.rejected.append(
                reject(
                    report.file,
                    session.line,
                    N_(
                        "the school year '{value}' cannot be deleted while {count} "
                        "classes or groups use it; move or delete them first."
                    ),
                    value=session.source_id,
                    count=in_use,
                )
            )
        else:
            writes.deletes.append(year.id)
            deleted.append(year)
            report.deleted += 1
    return deleted


def _plan_school_year(
    run: ImportRun, report: FileReport, writes: Writes, session: SessionRecord
) -> None:
    school_ids, problem = _schools_of_year(run, session)
    if problem is not None:
        report.rejected.append(problem)
        return
    assert session.starts_on is not None
    assert session.ends_on is not None
    values = {"name": session.title, "starts_on": session.starts_on, "ends_on": session.ends_on}
    for school_id in sorted(school_ids):
        existing = run.directory.years.get((school_id, session.source_id))
        new = {"school_id": school_id, "source_id": session.source_id}
        writes.plan(report, existing, values, new=new)


def _schools_of_year(run: ImportRun, session: SessionRecord) -> tuple[set[int], RejectedRow | None]:
    file = run.roster.sessions.file
    if session.org_source_id:
        school_id = run.school_id_of(session.org_source_id)
        if school_id is None:
            return set(), run.unknown(file, session.line, KIND_SCHOOL, session.org_source_id)
        if run.restricted_out(school_id):
            return set(), run.outside(file, session.line)
        return {school_id}, None
    if run.restrict is not None:
        return {run.restrict}, None
    used_by = _schools_using(run, session)
    if not used_by:
        return set(), reject(
            file,
            session.line,
            N_(
                "the school year '{value}' is not linked to any school: no class uses it and "
                "orgs.csv has no school. Import it with its schools and classes, or add an "
                "orgSourcedId column."
            ),
            value=session.source_id,
        )
    return used_by, None


def _schools_using(run: ImportRun, session: SessionRecord) -> set[int]:
    """A school year with no orgSourcedId belongs to the schools whose classes are taught in
    it, or else to every school of the upload."""
    used_by: set[int] = set()
    for group in run.roster.classes.records:
        if group.deleted:
            continue
        if school_year_of(group.term_source_ids, run.sessions) == session.source_id:
            school_id = run.school_id_of(group.school_source_id)
            if school_id is not None:
                used_by.add(school_id)
    if not used_by:
        for org in run.roster.orgs.records:
            school_id = run.school_id_of(org.source_id) if org.org_type == "school" else None
            if school_id is not None and not org.deleted:
                used_by.add(school_id)
    return used_by
