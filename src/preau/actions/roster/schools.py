"""orgs.csv: schools created, updated (found by sourcedId, or adopted by UAI when made by hand)
or deactivated; districts and other kinds of org are not stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.roster.run import ImportRun
from preau.actions.roster.stored import SCHOOL_COLUMNS, StoredSchool
from preau.actions.roster.writes import Stage, Writes, refresh, write_rows
from preau.actions.skill_frameworks import seed_socle
from preau.adapters.sql.schema import schools
from preau.domain.roster.reasons import KIND_SCHOOL, N_, RejectedRow, reject
from preau.domain.roster.records import OrgRecord
from preau.domain.roster.report import FileReport


async def apply_schools(run: ImportRun) -> None:
    parsed = run.roster.orgs
    report = run.file_report(parsed, "schools")
    if not parsed.readable:
        return
    writes = Writes()
    directory = run.directory
    for org in parsed.records:
        existing = directory.schools_by_source.get(org.source_id)
        if org.deleted:
            run.deactivate(report, writes, org.line, existing)
        elif org.org_type != "school" or org.uai is None:
            report.ignored += 1  # districts and other orgs are not stored
        else:
            _plan_school(run, report, writes, org=org, uai=org.uai, existing=existing)

    def after_commit(inserted: Sequence[sa.Row[Any]]) -> None:
        by_id = {s.id: s for s in directory.schools_by_uai.values()}
        refresh(by_id, writes.updates, inserted, StoredSchool._make, directory.add_school)

    async def write(connection: AsyncConnection, stage: Stage) -> Callable[[], None]:
        inserted = await write_rows(connection, schools, writes, stage, SCHOOL_COLUMNS)
        for school in inserted:  # a new school starts with the socle commun, like any other
            await seed_socle(connection, school.id, now=run.now)
        return lambda: after_commit(inserted)

    await run.apply(report, writes, write, (org.source_id for org in parsed.records))


def _plan_school(
    run: ImportRun,
    report: FileReport,
    writes: Writes,
    *,
    org: OrgRecord,
    uai: str,
    existing: StoredSchool | None,
) -> None:
    holder = run.directory.schools_by_uai.get(uai)
    if holder is not None and (existing is None or holder.id != existing.id):
        if existing is None and holder.source_id is None:
            existing = holder  # a school created by hand: this import adopts it
        else:
            reason = reject(
                report.file,
                org.line,
                N_(
                    "the UAI {uai} already belongs to the school '{name}', whose "
                    "sourcedId is '{other}'."
                ),
                uai=uai,
                name=holder.name,
                other=holder.source_id or "",
            )
            run.refuse(report, KIND_SCHOOL, org.source_id, reason)
            return
    problem = _beyond_restriction(run, report.file, org, existing)
    if problem is not None:
        run.refuse(report, KIND_SCHOOL, org.source_id, problem)
        return
    values = {"uai": uai, "name": org.name, "source_id": org.source_id, "active": True}
    writes.plan(report, existing, values, new={"created_at": run.now})


def _beyond_restriction(
    run: ImportRun, file: str, org: OrgRecord, existing: StoredSchool | None
) -> RejectedRow | None:
    """A school admin's upload may only update their own school."""
    if run.restrict is None:
        return None
    if existing is None:
        return reject(
            file,
            org.line,
            N_(
                "this upload is limited to your school, so it cannot create "
                "the new school '{value}'; an operator can."
            ),
            value=org.source_id,
        )
    if existing.id != run.restrict:
        return run.outside(file, org.line)
    return None
