"""Parsing a OneRoster upload: one parser per file turning a row into a typed record (or a
refusal that names the column), the manifest, and :func:`parse_roster` over the whole upload."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from preau.domain.people import (
    EnrolmentRole,
    GroupKind,
    InvalidInput,
    Profile,
    check_email,
    check_uai,
)
from preau.domain.roster.checks import check_across_files
from preau.domain.roster.reasons import N_, RejectedRow, reject
from preau.domain.roster.records import (
    CLASSES,
    COURSES,
    DATA_FILES,
    ENROLLMENTS,
    MANIFEST,
    ORGS,
    ROLES,
    SESSIONS,
    USERS,
    ClassRecord,
    CourseRecord,
    EnrollmentRecord,
    FileMode,
    Manifest,
    OrgRecord,
    ParsedRoster,
    RoleRecord,
    SessionRecord,
    UserRecord,
)
from preau.domain.roster.table import (
    Row,
    RowError,
    optional_text,
    parse_file,
    read_date,
    read_name,
    read_required,
    read_table,
    split_list,
)

ORG_TYPES = frozenset({"school", "district", "local", "state", "national", "department"})


def _org(row: Row, deleted: bool) -> OrgRecord:
    source_id = row["sourcedid"]
    org_type = row["type"].lower()
    if deleted:
        return OrgRecord(row.line, source_id, True, org_type)
    if org_type not in ORG_TYPES:
        raise RowError(
            N_(
                "the org type '{value}' is not a OneRoster org type; use school, district, "
                "local, state, national or department."
            ),
            value=row["type"],
        )
    name = read_name(row["name"], "name", limit=200)
    if org_type != "school":
        return OrgRecord(row.line, source_id, False, org_type, name)
    try:
        uai = check_uai(row["identifier"])
    except InvalidInput:
        if not row["identifier"]:
            raise RowError(
                N_(
                    "the identifier of a school is its UAI and it is empty; a UAI is seven "
                    "digits followed by a letter, like 0751234A."
                )
            ) from None
        raise RowError(
            N_(
                "the identifier '{value}' is not a valid UAI: a school's UAI is seven digits "
                "followed by a letter, like 0751234A."
            ),
            value=row["identifier"],
        ) from None
    return OrgRecord(row.line, source_id, False, org_type, name, uai)


SESSION_TYPES = frozenset({"schoolyear", "term", "semester", "gradingperiod"})


def _session(row: Row, deleted: bool) -> SessionRecord:
    source_id = row["sourcedid"]
    session_type = row["type"].lower()
    if deleted:
        return SessionRecord(row.line, source_id, True, session_type)
    if session_type not in SESSION_TYPES:
        raise RowError(
            N_(
                "the session type '{value}' is not a OneRoster type; use schoolYear, term, "
                "semester or gradingPeriod."
            ),
            value=row["type"],
        )
    title = read_name(row["title"], "title")
    starts_on = read_date(read_required(row, "startDate"), "startDate")
    ends_on = read_date(read_required(row, "endDate"), "endDate")
    if ends_on < starts_on:
        raise RowError(
            N_("the end date {end} is before the start date {start}."),
            end=ends_on.isoformat(),
            start=starts_on.isoformat(),
        )
    return SessionRecord(
        row.line,
        source_id,
        False,
        session_type,
        title,
        starts_on,
        ends_on,
        row["parentsourcedid"] or None,
        row["orgsourcedid"] or None,
    )


def _course(row: Row, deleted: bool) -> CourseRecord:
    source_id = row["sourcedid"]
    if deleted:
        return CourseRecord(row.line, source_id, True)
    title = read_name(row["title"], "title")
    subjects = optional_text(", ".join(split_list(row["subjects"])), "subjects", 100)
    return CourseRecord(row.line, source_id, False, subjects or title)


def subjects_from_courses(roster: ParsedRoster) -> None:
    """A group (a scheduled class) with no subjects of its own takes its course's: in many
    exports the subject is only on the course."""
    subjects = {
        course.source_id: course.subject for course in roster.courses.records if not course.deleted
    }
    if not subjects:
        return
    roster.classes.records = [
        msgspec.structs.replace(group, subject=subjects[group.course_source_id])
        if (
            not group.deleted
            and group.kind is GroupKind.GROUP
            and group.subject is None
            and group.course_source_id in subjects
        )
        else group
        for group in roster.classes.records
    ]


CLASS_TYPES = {"homeroom": GroupKind.CLASS, "scheduled": GroupKind.GROUP}


def _class(row: Row, deleted: bool) -> ClassRecord:
    source_id = row["sourcedid"]
    if deleted:
        return ClassRecord(row.line, source_id, True, row["schoolsourcedid"])
    kind = CLASS_TYPES.get(row["classtype"].lower())
    if kind is None:
        raise RowError(
            N_("the classType '{value}' is not a OneRoster class type; use homeroom or scheduled."),
            value=row["classtype"],
        )
    name = read_name(row["title"], "title")
    school_source_id = read_required(row, "schoolSourcedId")
    level = optional_text(", ".join(split_list(row["grades"])), "grades", 50)
    subject = None
    if kind is GroupKind.GROUP:
        subject = optional_text(", ".join(split_list(row["subjects"])), "subjects", 100)
    terms = split_list(row["termsourcedids"])
    course = row["coursesourcedid"] or None
    return ClassRecord(
        row.line, source_id, False, school_source_id, kind, name, level, subject, terms, course
    )


#: OneRoster 1.1 and 1.2 roles, lower case, to Préau profiles.
ROLE_PROFILES: dict[str, Profile] = {
    "student": Profile.PUPIL,
    "parent": Profile.PARENT,
    "guardian": Profile.PARENT,
    "relative": Profile.PARENT,
    "teacher": Profile.TEACHER,
    "administrator": Profile.ADMIN,
    "siteadministrator": Profile.ADMIN,
    "principal": Profile.ADMIN,
    "districtadministrator": Profile.ADMIN,
    "systemadministrator": Profile.ADMIN,
    "aide": Profile.STAFF,
    "proctor": Profile.STAFF,
    "counselor": Profile.STAFF,
}


def _role(value: str) -> Profile:
    profile = ROLE_PROFILES.get(value.lower())
    if profile is None:
        if not value:
            raise RowError(
                N_(
                    "the role is empty; use student, teacher, parent, guardian, administrator "
                    "or aide."
                )
            )
        raise RowError(
            N_(
                "the role '{value}' is not a OneRoster role; use student, teacher, parent, "
                "guardian, administrator or aide."
            ),
            value=value,
        )
    return profile


def _enabled(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise RowError(N_("the enabledUser value '{value}' is not true or false."), value=value)


def _user(row: Row, deleted: bool, *, role_column: bool) -> UserRecord:
    source_id = row["sourcedid"]
    orgs = split_list(row["primaryorgsourcedid"]) + split_list(row["orgsourcedids"])
    orgs = tuple(dict.fromkeys(orgs))
    if deleted:
        return UserRecord(row.line, source_id, True, org_source_ids=orgs)
    enabled = _enabled(row["enableduser"])
    profile = _role(row["role"]) if role_column and row["role"] else None
    given_name = read_name(row["givenname"], "givenName")
    family_name = read_name(row["familyname"], "familyName")
    try:
        email = check_email(row["email"])
    except InvalidInput:
        raise RowError(
            N_("the email address '{value}' does not look valid."), value=row["email"]
        ) from None
    return UserRecord(
        row.line,
        source_id,
        False,
        enabled,
        profile,
        orgs,
        row["username"] or None,
        given_name,
        family_name,
        email,
        split_list(row["agentsourcedids"]),
    )


def _role_row(row: Row, deleted: bool) -> RoleRecord:
    source_id = row["sourcedid"]
    user_source_id = read_required(row, "userSourcedId")
    if deleted:
        return RoleRecord(row.line, source_id, True, user_source_id)
    role_type = row["roletype"].lower()
    if role_type not in ("primary", "secondary"):
        raise RowError(
            N_("the roleType '{value}' is not primary or secondary."), value=row["roletype"]
        )
    profile = _role(row["role"])
    org_source_id = read_required(row, "orgSourcedId")
    return RoleRecord(
        row.line, source_id, False, user_source_id, role_type == "primary", profile, org_source_id
    )


ENROLMENT_ROLES = {"student": EnrolmentRole.PUPIL, "teacher": EnrolmentRole.TEACHER}


def _enrollment(row: Row, deleted: bool) -> EnrollmentRecord:
    source_id = row["sourcedid"]
    school_source_id = row["schoolsourcedid"] or None
    if deleted:
        return EnrollmentRecord(
            row.line,
            source_id,
            True,
            row["classsourcedid"],
            row["usersourcedid"],
            school_source_id,
        )
    class_source_id = read_required(row, "classSourcedId")
    user_source_id = read_required(row, "userSourcedId")
    role = ENROLMENT_ROLES.get(row["role"].lower())
    if role is None:
        raise RowError(
            N_("the enrolment role '{value}' is not one Préau records; use student or teacher."),
            value=row["role"],
        )
    return EnrollmentRecord(
        row.line, source_id, False, class_source_id, user_source_id, school_source_id, role
    )


def parse_manifest(data: bytes) -> tuple[Manifest | None, list[RejectedRow]]:
    table, rejected = read_table(MANIFEST, data, ("propertyName", "value"))
    if table is None:
        return None, rejected
    properties: dict[str, tuple[int, str]] = {}
    for line, values in table.records:
        row = Row(table.columns, line, values)
        properties[row["propertyname"]] = (line, row["value"])
    modes: dict[str, FileMode] = {}
    for file in DATA_FILES:
        entry = properties.get("file." + file.removesuffix(".csv"))
        if entry is None:
            continue
        line, value = entry
        try:
            modes[file] = FileMode(value.lower())
        except ValueError:
            rejected.append(
                reject(
                    MANIFEST,
                    line,
                    N_(
                        "the value '{value}' for {property} is not one of bulk, delta or "
                        "absent, so {file} was not read."
                    ),
                    value=value,
                    property="file." + file.removesuffix(".csv"),
                    file=file,
                )
            )
            modes[file] = FileMode.ABSENT
    return (
        Manifest(
            modes,
            system_name=properties.get("source.systemName", (0, ""))[1],
            system_code=properties.get("source.systemCode", (0, ""))[1],
            version=properties.get("oneroster.version", (0, ""))[1],
        ),
        rejected,
    )


def _find(files: Mapping[str, bytes], name: str) -> bytes | None:
    """File names are matched without regard to case (``academicsessions.csv`` is fine)."""
    lowered = name.lower()
    for key, data in files.items():
        if key.lower() == lowered:
            return data
    return None


def parse_roster(files: Mapping[str, bytes]) -> ParsedRoster:
    """Read every file of an upload (``{"users.csv": b"…"}``) into records and refusals."""
    manifest, problems = _read_manifest(files)
    modes = manifest.modes if manifest else {}

    def mode(name: str) -> FileMode:
        return modes.get(name, FileMode.ABSENT)

    def data(name: str) -> bytes | None:
        return _find(files, name)

    users_data = data(USERS)
    role_column = True
    if users_data is not None and mode(USERS) is not FileMode.ABSENT:
        header = users_data.split(b"\n", 1)[0].decode("utf-8-sig", "replace").lower()
        role_column = "role" in [column.strip().strip('"') for column in header.split(",")]
    users_required: tuple[str, ...] = ("sourcedId", "givenName", "familyName")
    if not role_column and mode(ROLES) is FileMode.ABSENT:
        users_required = (*users_required, "role")

    roster = ParsedRoster(
        manifest=manifest,
        orgs=parse_file(ORGS, mode(ORGS), data(ORGS), ("sourcedId", "name", "type"), _org),
        sessions=parse_file(
            SESSIONS,
            mode(SESSIONS),
            data(SESSIONS),
            ("sourcedId", "title", "type", "startDate", "endDate"),
            _session,
        ),
        courses=parse_file(COURSES, mode(COURSES), data(COURSES), ("sourcedId", "title"), _course),
        classes=parse_file(
            CLASSES,
            mode(CLASSES),
            data(CLASSES),
            ("sourcedId", "title", "classType", "schoolSourcedId"),
            _class,
        ),
        users=parse_file(
            USERS,
            mode(USERS),
            users_data,
            users_required,
            lambda row, deleted: _user(row, deleted, role_column=role_column),
        ),
        roles=parse_file(
            ROLES,
            mode(ROLES),
            data(ROLES),
            ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
            _role_row,
        ),
        enrollments=parse_file(
            ENROLLMENTS,
            mode(ENROLLMENTS),
            data(ENROLLMENTS),
            ("sourcedId", "classSourcedId", "userSourcedId", "role"),
            _enrollment,
        ),
        problems=problems,
        other_files=_files_not_read(files, manifest),
    )
    if manifest is None:
        return roster
    subjects_from_courses(roster)
    check_across_files(roster)
    return roster


def _read_manifest(files: Mapping[str, bytes]) -> tuple[Manifest | None, list[RejectedRow]]:
    """The manifest, and the problems that concern the import as a whole."""
    manifest_data = _find(files, MANIFEST)
    if manifest_data is None:
        return None, [
            reject(
                MANIFEST,
                0,
                N_(
                    "manifest.csv is missing, so nothing was imported. A OneRoster export "
                    "always has one; it lists each file as bulk, delta or absent."
                ),
            )
        ]
    manifest, problems = parse_manifest(manifest_data)
    if manifest is None:
        problems.append(
            reject(MANIFEST, 0, N_("manifest.csv could not be read, so nothing was imported."))
        )
    return manifest, problems


def _files_not_read(files: Mapping[str, bytes], manifest: Manifest | None) -> list[RejectedRow]:
    """A note for each CSV file of the upload that is not read, and why."""
    known = {name.lower() for name in (MANIFEST, *DATA_FILES)}
    other_files = [
        reject(name, 0, N_("Préau does not use this file; it was not read."))
        for name in sorted(files)
        if name.lower() not in known and name.lower().endswith(".csv")
    ]
    if manifest is None:
        return other_files
    for name in DATA_FILES:
        if _find(files, name) is None:
            continue
        if name not in manifest.modes:
            other_files.append(
                reject(
                    name,
                    0,
                    N_(
                        "manifest.csv has no file.{entity} row, so this file was not read. Add "
                        "the row with the value bulk or delta."
                    ),
                    entity=name.removesuffix(".csv"),
                )
            )
        elif manifest.modes[name] is FileMode.ABSENT:
            other_files.append(
                reject(
                    name,
                    0,
                    N_("manifest.csv marks this file as absent, so it was not read."),
                )
            )
    return other_files
