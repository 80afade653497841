"""Checks across rows and files, once each file is read: a UAI or an enrolment given twice,
each user's roles folded in from roles.csv, and references to a school, class or user that is
neither in the upload nor in Préau. A refused row is dropped from its file's records and named,
with the line of the row it depended on when that row was refused first."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import msgspec

from preau.domain.people import EnrolmentRole
from preau.domain.roster.reasons import N_, RejectedRow, reject
from preau.domain.roster.records import (
    EnrollmentRecord,
    OrgRecord,
    ParsedFile,
    ParsedRoster,
    RecordT,
    RoleRecord,
    UserRecord,
)


def check_across_files(roster: ParsedRoster) -> None:
    """The checks that need a whole file, or two, once every file is read."""
    _check_unique_uai(roster.orgs)
    _merge_roles(roster.users, roster.roles)
    _check_unique_enrolments(roster.enrollments)


def _drop(parsed: ParsedFile[RecordT], rejected: Iterable[tuple[RecordT, RejectedRow]]) -> None:
    rejected = list(rejected)
    if not rejected:
        return
    dropped = {id(record) for record, _ in rejected}
    reasons = [reason for _, reason in rejected]
    for record, _ in rejected:
        parsed.refused.setdefault(record.source_id, record.line)
    parsed.records = [record for record in parsed.records if id(record) not in dropped]
    parsed.rejected = sorted([*parsed.rejected, *reasons], key=lambda row: row.line)


def _missing(
    file: str,
    line: int,
    value: str,
    refused: Mapping[str, int],
    *,
    refused_reason: str,
    unknown_reason: str,
) -> RejectedRow:
    """A row pointing at ``value``, which is not there: refused earlier (on the line that
    ``refused`` gives, which ``refused_reason`` names), or never given (``unknown_reason``)."""
    if value in refused:
        return reject(file, line, refused_reason, value=value, line=refused[value])
    return reject(file, line, unknown_reason, value=value)


def _check_unique_uai(orgs: ParsedFile[OrgRecord]) -> None:
    first_line: dict[str, int] = {}
    refused: list[tuple[OrgRecord, RejectedRow]] = []
    for org in orgs.records:
        if org.uai is None or org.deleted:
            continue
        if org.uai in first_line:
            refused.append(
                (
                    org,
                    reject(
                        orgs.file,
                        org.line,
                        N_("the UAI {uai} is already used on line {first_line}."),
                        uai=org.uai,
                        first_line=first_line[org.uai],
                    ),
                )
            )
        else:
            first_line[org.uai] = org.line
    _drop(orgs, refused)


def _merge_roles(users: ParsedFile[UserRecord], roles: ParsedFile[RoleRecord]) -> None:
    """OneRoster 1.2 keeps roles in roles.csv: fold each user's primary role and their orgs
    into the user record. A 1.1 ``role`` column is used when roles.csv says nothing."""
    by_user: dict[str, list[RoleRecord]] = {}
    user_ids = {user.source_id for user in users.records}
    refused: list[tuple[RoleRecord, RejectedRow]] = []
    for role in roles.records:
        if role.deleted:
            continue
        if users.readable and role.user_source_id not in user_ids:
            reason = _missing(
                roles.file,
                role.line,
                role.user_source_id,
                users.refused,
                refused_reason=N_(
                    "the user '{value}' was refused (users.csv line {line}), so this role "
                    "was not imported either."
                ),
                unknown_reason=N_(
                    "the user '{value}' in userSourcedId is not in users.csv; a role is "
                    "imported with its user."
                ),
            )
            refused.append((role, reason))
            continue
        by_user.setdefault(role.user_source_id, []).append(role)
    _drop(roles, refused)

    merged: list[UserRecord] = []
    refused_users: list[tuple[UserRecord, RejectedRow]] = []
    for record in users.records:
        user = record
        user_roles = by_user.get(user.source_id)
        if user_roles:
            user_roles.sort(key=lambda role: not role.primary)
            orgs = user.org_source_ids[:1] + tuple(role.org_source_id for role in user_roles)
            user = msgspec.structs.replace(
                user,
                profile=user_roles[0].profile if not user.deleted else None,
                org_source_ids=tuple(dict.fromkeys(orgs + user.org_source_ids)),
            )
        if not user.deleted and user.profile is None:
            refused_users.append(
                (
                    user,
                    reject(
                        users.file,
                        user.line,
                        N_(
                            "the user has no role: fill in the role column or add a row for "
                            "them in roles.csv."
                        ),
                    ),
                )
            )
        merged.append(user)
    users.records = merged
    _drop(users, refused_users)


def _check_unique_enrolments(enrollments: ParsedFile[EnrollmentRecord]) -> None:
    first_line: dict[tuple[str, str, EnrolmentRole], int] = {}
    refused: list[tuple[EnrollmentRecord, RejectedRow]] = []
    for enrollment in enrollments.records:
        if enrollment.deleted:
            continue
        key = (enrollment.class_source_id, enrollment.user_source_id, enrollment.role)
        if key in first_line:
            refused.append(
                (
                    enrollment,
                    reject(
                        enrollments.file,
                        enrollment.line,
                        N_(
                            "the user '{user}' is already enrolled in the class '{group}' as "
                            "{role} on line {first_line}."
                        ),
                        user=enrollment.user_source_id,
                        group=enrollment.class_source_id,
                        role=_ENROLMENT_ROLE_NAMES[enrollment.role],
                        first_line=first_line[key],
                    ),
                )
            )
        else:
            first_line[key] = enrollment.line
    _drop(enrollments, refused)


_ENROLMENT_ROLE_NAMES = {EnrolmentRole.PUPIL: "student", EnrolmentRole.TEACHER: "teacher"}


# ---------------------------------------------------------------------------------------------
# References between files (and to what Préau already holds)


class Known(msgspec.Struct, frozen=True):
    """Source ids Préau already holds, for references to records not in this upload."""

    schools: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()


def referenced_schools(roster: ParsedRoster) -> set[str]:
    """Every org sourcedId the upload refers to (to know which schools' records to load)."""
    referenced = {org.source_id for org in roster.orgs.records}
    referenced.update(
        record.org_source_id for record in roster.sessions.records if record.org_source_id
    )
    referenced.update(record.school_source_id for record in roster.classes.records)
    for user in roster.users.records:
        referenced.update(user.org_source_ids)
    referenced.update(
        record.school_source_id for record in roster.enrollments.records if record.school_source_id
    )
    referenced.discard("")
    return referenced


def check_references(roster: ParsedRoster, known: Known) -> None:
    """Refuse rows that point at a school, class or user neither in the upload nor in Préau.

    A row pointing at a row refused earlier says so, with that row's line.
    """
    schools = set(known.schools)
    schools.update(
        org.source_id for org in roster.orgs.records if org.org_type == "school" and not org.deleted
    )
    _check_school(roster, roster.sessions, lambda session: session.org_source_id or None, schools)
    _check_school(roster, roster.classes, lambda group: group.school_source_id, schools)
    _check_users(roster, schools)
    classes = set(known.classes)
    classes.update(group.source_id for group in roster.classes.records)
    users = set(known.users)
    users.update(user.source_id for user in roster.users.records)
    _check_enrolments(roster, classes, users)


def _unknown_school(roster: ParsedRoster, file: str, line: int, value: str) -> RejectedRow:
    return _missing(
        file,
        line,
        value,
        roster.orgs.refused,
        refused_reason=N_(
            "the school '{value}' was refused (orgs.csv line {line}), so this row was not "
            "imported either."
        ),
        unknown_reason=N_("the school '{value}' is not a school in this import or in Préau."),
    )


def _check_school(
    roster: ParsedRoster,
    parsed: ParsedFile[RecordT],
    school_of: Callable[[RecordT], str | None],
    schools: set[str],
) -> None:
    """Refuse the rows of ``parsed`` whose school (``school_of``, None when the row names none)
    is not a school here; rows marked tobedeleted are not checked."""
    refused: list[tuple[RecordT, RejectedRow]] = []
    for record in parsed.records:
        school = school_of(record)
        if record.deleted or school is None or school in schools:
            continue
        refused.append((record, _unknown_school(roster, parsed.file, record.line, school)))
    _drop(parsed, refused)


def _check_users(roster: ParsedRoster, schools: set[str]) -> None:
    refused: list[tuple[UserRecord, RejectedRow]] = []
    for user in roster.users.records:
        if user.deleted or any(org in schools for org in user.org_source_ids):
            continue
        if not user.org_source_ids:
            reason = reject(
                roster.users.file,
                user.line,
                N_(
                    "the user belongs to no org: fill in orgSourcedIds (or their roles in "
                    "roles.csv) with their school's sourcedId."
                ),
            )
        else:
            reason = reject(
                roster.users.file,
                user.line,
                N_(
                    "none of the orgs '{value}' of this user is a school in this import or in "
                    "Préau."
                ),
                value=", ".join(user.org_source_ids),
            )
        refused.append((user, reason))
    _drop(roster.users, refused)


def _check_enrolments(roster: ParsedRoster, classes: set[str], users: set[str]) -> None:
    file = roster.enrollments.file
    refused: list[tuple[EnrollmentRecord, RejectedRow]] = []
    for enrollment in roster.enrollments.records:
        if enrollment.deleted:
            continue
        if enrollment.class_source_id not in classes:
            reason = _missing(
                file,
                enrollment.line,
                enrollment.class_source_id,
                roster.classes.refused,
                refused_reason=N_(
                    "the class '{value}' was refused (classes.csv line {line}), so this "
                    "enrolment was not imported either."
                ),
                unknown_reason=N_("the class '{value}' is not in this import or in Préau."),
            )
        elif enrollment.user_source_id not in users:
            reason = _missing(
                file,
                enrollment.line,
                enrollment.user_source_id,
                roster.users.refused,
                refused_reason=N_(
                    "the user '{value}' was refused (users.csv line {line}), so this "
                    "enrolment was not imported either."
                ),
                unknown_reason=N_("the user '{value}' is not in this import or in Préau."),
            )
        else:
            continue
        refused.append((enrollment, reason))
    _drop(roster.enrollments, refused)
