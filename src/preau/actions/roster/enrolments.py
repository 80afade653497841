"""enrollments.csv: who is enrolled in which class or group, as pupil or teacher; a delta row
marked tobedeleted deletes the enrolment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from preau.actions.roster.run import ImportRun
from preau.actions.roster.stored import StoredEnrolment, StoredGroup, StoredPerson
from preau.actions.roster.writes import Writes
from preau.adapters.sql.schema import enrolments
from preau.domain.people import EnrolmentRole
from preau.domain.roster.reasons import KIND_CLASS, KIND_USER, N_, RejectedRow, reject
from preau.domain.roster.records import EnrollmentRecord
from preau.domain.roster.report import FileReport


async def apply_enrolments(run: ImportRun) -> None:
    parsed = run.roster.enrollments
    report = run.file_report(parsed, "enrolments")
    if not parsed.readable:
        return
    writes = Writes()
    deleted: list[StoredEnrolment] = []
    file_source_ids = {record.source_id for record in parsed.records}
    for enrollment in parsed.records:
        if enrollment.deleted:
            problem = _plan_deletion(run, report, writes, enrollment, deleted)
        else:
            problem = _plan_enrolment(run, report, writes, enrollment, file_source_ids)
        if problem is not None:
            report.rejected.append(problem)
    report.rejected.sort(key=lambda row: row.line)

    def after_commit(_inserted: Sequence[sa.Row[Any]]) -> None:
        for enrolment in deleted:
            run.directory.remove_enrolment(enrolment)

    await run.apply_rows(report, enrolments, writes, file_source_ids, after_commit=after_commit)


def _plan_deletion(
    run: ImportRun,
    report: FileReport,
    writes: Writes,
    enrollment: EnrollmentRecord,
    deleted: list[StoredEnrolment],
) -> RejectedRow | None:
    """A deleted enrolment is found in its class's school first, then by sourcedId anywhere."""
    directory = run.directory
    group = directory.group(
        run.school_id_of(enrollment.school_source_id), enrollment.class_source_id
    )
    existing = (
        directory.enrolments.get((group.school_id, enrollment.source_id))
        if group is not None
        else None
    ) or directory.enrolments_by_source.get(enrollment.source_id)
    if existing is None:
        report.ignored += 1
        return None
    if run.restricted_out(existing.school_id):
        return run.outside(report.file, enrollment.line)
    writes.deletes.append(existing.id)
    deleted.append(existing)
    report.deleted += 1
    return None


def _plan_enrolment(
    run: ImportRun,
    report: FileReport,
    writes: Writes,
    enrollment: EnrollmentRecord,
    file_source_ids: set[str],
) -> RejectedRow | None:
    """Plan one enrolment row (counted in ``report``), or say why it was refused."""
    file = report.file
    school_id = run.school_id_of(enrollment.school_source_id)
    group = run.directory.group(school_id, enrollment.class_source_id)
    if group is None:
        return run.unknown(file, enrollment.line, KIND_CLASS, enrollment.class_source_id)
    if enrollment.school_source_id and school_id != group.school_id:
        return reject(
            file,
            enrollment.line,
            N_(
                "the schoolSourcedId '{value}' is not the school of the class '{group}'; "
                "an enrolment belongs to its class's school."
            ),
            value=enrollment.school_source_id,
            group=enrollment.class_source_id,
        )
    if run.restricted_out(group.school_id):
        return run.outside(file, enrollment.line)
    person = run.directory.person(group.school_id, enrollment.user_source_id)
    if person is None:
        return run.unknown(file, enrollment.line, KIND_USER, enrollment.user_source_id)
    role = str(enrollment.role)
    existing = _stored_enrolment(run, enrollment, group, person, file_source_ids)
    if isinstance(existing, RejectedRow):
        return existing
    values = {
        "group_id": group.id,
        "person_id": person.id,
        "role": role,
        "subject": group.subject if enrollment.role is EnrolmentRole.TEACHER else None,
        "source_id": enrollment.source_id,
    }
    writes.plan(report, existing, values, new={"school_id": group.school_id})
    return None


def _stored_enrolment(
    run: ImportRun,
    enrollment: EnrollmentRecord,
    group: StoredGroup,
    person: StoredPerson,
    file_source_ids: set[str],
) -> StoredEnrolment | RejectedRow | None:
    """The stored enrolment this row updates: the one with its sourcedId, else the same
    person, class and role made by hand or under an older sourcedId (adopted). Refused when
    that person, class and role already belong to another enrolment of the database or file."""
    existing = run.directory.enrolments.get((group.school_id, enrollment.source_id))
    holder = run.directory.enrolments_by_triple.get((group.id, person.id, str(enrollment.role)))
    if holder is None or (existing is not None and holder.id == existing.id):
        return existing
    if existing is None and (holder.source_id is None or holder.source_id not in file_source_ids):
        return holder  # made by hand or under an older sourcedId: adopt it
    return reject(
        run.roster.enrollments.file,
        enrollment.line,
        N_(
            "the user '{user}' is already enrolled in the class '{group}' as {role} "
            "(enrolment '{other}')."
        ),
        user=enrollment.user_source_id,
        group=enrollment.class_source_id,
        role=enrollment.role,
        other=holder.source_id or "",
    )
