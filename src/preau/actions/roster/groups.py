"""classes.csv: classes (homeroom) and groups (scheduled), each in its school and its school
year, created, updated or deactivated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from preau.actions.roster.run import ImportRun
from preau.actions.roster.stored import GROUP_COLUMNS, StoredGroup
from preau.actions.roster.writes import Writes, refresh
from preau.adapters.sql.schema import groups
from preau.domain.roster.reasons import KIND_CLASS, KIND_SCHOOL
from preau.domain.roster.records import ClassRecord
from preau.domain.roster.report import FileReport
from preau.domain.roster.rules import school_year_of


async def apply_groups(run: ImportRun) -> None:
    parsed = run.roster.classes
    report = run.file_report(parsed, "groups")
    if not parsed.readable:
        return
    writes = Writes()
    directory = run.directory
    for group in parsed.records:
        if group.deleted:
            school_id = run.school_id_of(group.school_source_id)
            existing = directory.group(school_id, group.source_id)
            run.deactivate(report, writes, group.line, existing)
        else:
            _plan_group(run, report, writes, group)
    report.rejected.sort(key=lambda row: row.line)

    def after_commit(inserted: Sequence[sa.Row[Any]]) -> None:
        by_id = {g.id: g for g in directory.groups.values()}
        refresh(by_id, writes.updates, inserted, StoredGroup._make, directory.add_group)

    await run.apply_rows(
        report,
        groups,
        writes,
        (g.source_id for g in parsed.records),
        after_commit=after_commit,
        returning=GROUP_COLUMNS,
    )


def _plan_group(run: ImportRun, report: FileReport, writes: Writes, group: ClassRecord) -> None:
    school_id = run.school_id_of(group.school_source_id)
    if school_id is None:
        reason = run.unknown(report.file, group.line, KIND_SCHOOL, group.school_source_id)
        run.refuse(report, KIND_CLASS, group.source_id, reason)
        return
    if run.restricted_out(school_id):
        run.refuse(report, KIND_CLASS, group.source_id, run.outside(report.file, group.line))
        return
    existing = run.directory.groups.get((school_id, group.source_id))
    known, year_id = _school_year_id(run, school_id, group)
    if not known and existing is not None:
        year_id = existing.school_year_id  # keep what an earlier import set
    values = {
        "kind": str(group.kind),
        "name": group.name,
        "level": group.level,
        "subject": group.subject,
        "school_year_id": year_id,
        "active": True,
    }
    writes.plan(
        report, existing, values, new={"school_id": school_id, "source_id": group.source_id}
    )


def _school_year_id(run: ImportRun, school_id: int, group: ClassRecord) -> tuple[bool, int | None]:
    """(known, id) of the school year a class is taught in, in its school."""
    year_source_id = school_year_of(group.term_source_ids, run.sessions)
    if year_source_id is not None:
        year = run.directory.years.get((school_id, year_source_id))
        if year is not None:
            return True, year.id
    for term in group.term_source_ids:  # a school year known from an earlier import
        year = run.directory.years.get((school_id, term))
        if year is not None:
            return True, year.id
    return False, None
