"""OneRoster CSV (1.2, and the common 1.1 layout): rows read into typed records, every refusal
a sentence a school administrator can act on, and the import report. Pure: no I/O, no clock.

Reasons are English templates with named placeholders, kept translatable: the French lives in
``translations/fr/LC_MESSAGES/roster.po`` and :meth:`RejectedRow.describe` formats either.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

import msgspec

from preau.domain.people import (
    EnrolmentRole,
    GroupKind,
    InvalidInput,
    Profile,
    check_email,
    check_uai,
)


def N_(template: str) -> str:  # noqa: N802 - the gettext convention for "extract, translate later"
    """Mark a reason template for extraction; it is translated when the report is shown."""
    return template


# ---------------------------------------------------------------------------------------------
# Files, modes and statuses


MANIFEST = "manifest.csv"
ORGS = "orgs.csv"
SESSIONS = "academicSessions.csv"
CLASSES = "classes.csv"
USERS = "users.csv"
ROLES = "roles.csv"
ENROLLMENTS = "enrollments.csv"

#: The files Préau reads, in the order they are applied (each one may refer to the earlier ones).
DATA_FILES = (ORGS, SESSIONS, CLASSES, USERS, ROLES, ENROLLMENTS)


class FileMode(enum.StrEnum):
    BULK = "bulk"  # the whole set of records
    DELTA = "delta"  # only the records that changed; may mark records "tobedeleted"
    ABSENT = "absent"


class FileStatus(enum.StrEnum):
    APPLIED = "applied"  # every accepted row was saved (rejected rows are listed)
    ROLLED_BACK = "rolled_back"  # the database refused the file: nothing from it was saved
    REFUSED = "refused"  # the file could not be read (columns, encoding, missing)
    ABSENT = "absent"  # the manifest marks it absent
    NOT_READ = "not_read"  # in the upload, but not read (marked absent, or not used by Préau)


class RejectedRow(msgspec.Struct, frozen=True):
    """One refused row (or a whole file when ``line`` is 0), with why, in words.

    ``line`` counts as a spreadsheet does: the header is line 1, the first record line 2.
    """

    file: str
    line: int
    template: str
    params: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def reason(self) -> str:
        return self.template.format(**self.params)

    def describe(self, translate: Callable[[str], str] = str) -> str:
        """The full sentence, e.g. ``users.csv line 14: the role 'wizard' is not …``."""
        params = {
            key: translate(value) if key in _TRANSLATED_PARAMS else value
            for key, value in self.params.items()
        }
        reason = translate(self.template).format(**params)
        if self.line:
            return translate(N_("{file} line {line}: {reason}")).format(
                file=self.file, line=self.line, reason=reason
            )
        return translate(N_("{file}: {reason}")).format(file=self.file, reason=reason)

    def __str__(self) -> str:
        return self.describe()


#: What a "{kind}" placeholder names; translated with the sentence around it.
KIND_SCHOOL = N_("school")
KIND_CLASS = N_("class")
KIND_USER = N_("user")
_TRANSLATED_PARAMS = frozenset({"kind"})


def reject(file: str, line: int, template: str, /, **params: object) -> RejectedRow:
    return RejectedRow(file, line, template, {key: str(value) for key, value in params.items()})


# ---------------------------------------------------------------------------------------------
# Records


class OrgRecord(msgspec.Struct, frozen=True, gc=False):
    line: int
    source_id: str
    deleted: bool
    org_type: str  # lower case: school, district, …
    name: str = ""
    uai: str | None = None  # schools only


class SessionRecord(msgspec.Struct, frozen=True, gc=False):
    line: int
    source_id: str
    deleted: bool
    session_type: str  # lower case: schoolyear, term, semester, gradingperiod
    title: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    parent_source_id: str | None = None
    org_source_id: str | None = None

    @property
    def is_school_year(self) -> bool:
        return self.session_type == "schoolyear"


class ClassRecord(msgspec.Struct, frozen=True, gc=False):
    line: int
    source_id: str
    deleted: bool
    school_source_id: str = ""
    kind: GroupKind = GroupKind.CLASS
    name: str = ""
    level: str | None = None
    subject: str | None = None
    term_source_ids: tuple[str, ...] = ()


class UserRecord(msgspec.Struct, frozen=True, gc=False):
    line: int
    source_id: str
    deleted: bool
    enabled: bool = True
    profile: Profile | None = None
    org_source_ids: tuple[str, ...] = ()
    username: str | None = None  # as written in the file; used only if valid and free
    given_name: str = ""
    family_name: str = ""
    email: str | None = None
    agent_source_ids: tuple[str, ...] = ()


class RoleRecord(msgspec.Struct, frozen=True, gc=False):
    line: int
    source_id: str
    deleted: bool
    user_source_id: str = ""
    primary: bool = True
    profile: Profile | None = None
    org_source_id: str = ""


class EnrollmentRecord(msgspec.Struct, frozen=True, gc=False):
    line: int
    source_id: str
    deleted: bool
    class_source_id: str = ""
    user_source_id: str = ""
    school_source_id: str | None = None
    role: EnrolmentRole = EnrolmentRole.PUPIL


class _Record(Protocol):
    @property
    def line(self) -> int: ...
    @property
    def source_id(self) -> str: ...


RecordT = TypeVar("RecordT", bound=_Record)


class ParsedFile(msgspec.Struct, Generic[RecordT]):
    """One CSV file after reading: accepted records, rejected rows, or a whole-file refusal."""

    file: str
    mode: FileMode
    status: FileStatus
    records: list[RecordT] = msgspec.field(default_factory=list)
    rejected: list[RejectedRow] = msgspec.field(default_factory=list)
    problem: RejectedRow | None = None
    rows: int = 0
    refused: dict[str, int] = msgspec.field(default_factory=dict)  # sourcedId -> refused line

    @property
    def readable(self) -> bool:
        return self.status is FileStatus.APPLIED


class Manifest(msgspec.Struct, frozen=True):
    modes: dict[str, FileMode]  # "users.csv" -> bulk; files with no row are absent from it
    system_name: str = ""
    system_code: str = ""
    version: str = ""


class ParsedRoster(msgspec.Struct):
    manifest: Manifest | None
    orgs: ParsedFile[OrgRecord]
    sessions: ParsedFile[SessionRecord]
    classes: ParsedFile[ClassRecord]
    users: ParsedFile[UserRecord]
    roles: ParsedFile[RoleRecord]
    enrollments: ParsedFile[EnrollmentRecord]
    problems: list[RejectedRow] = msgspec.field(default_factory=list)  # the import as a whole
    other_files: list[RejectedRow] = msgspec.field(default_factory=list)  # files not read


# ---------------------------------------------------------------------------------------------
# The report


class FileReport(msgspec.Struct):
    """What one file did to one kind of record. Counts are of database records."""

    file: str
    entity: str  # "schools", "school years", "groups", "people", "parent links", "enrolments"
    mode: FileMode
    status: FileStatus
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    deleted: int = 0
    ignored: int = 0  # rows Préau does not store (districts, terms) or nothing to delete
    rejected: list[RejectedRow] = msgspec.field(default_factory=list)
    problem: RejectedRow | None = None

    @property
    def applied(self) -> bool:
        """True when every accepted row of the file was saved (rejected rows are listed)."""
        return self.status is FileStatus.APPLIED

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deactivated + self.deleted


class RosterReport(msgspec.Struct):
    source_name: str
    started_at: datetime
    seconds: float = 0.0
    import_id: int | None = None
    school_id: int | None = None  # a school admin's upload, limited to this school
    source_system: str = ""  # manifest source.systemName
    files: list[FileReport] = msgspec.field(default_factory=list)
    problems: list[RejectedRow] = msgspec.field(default_factory=list)  # whole-import problems

    @property
    def rejected(self) -> list[RejectedRow]:
        """Every rejected row, file by file in import order, by line within a file."""
        order: dict[str, int] = {}
        for report in self.files:
            order.setdefault(report.file, len(order))
        rows = [row for report in self.files for row in report.rejected]
        return sorted(rows, key=lambda row: (order.get(row.file, len(order)), row.line))

    @property
    def fully_applied(self) -> bool:
        return not self.problems and all(
            report.status in (FileStatus.APPLIED, FileStatus.ABSENT, FileStatus.NOT_READ)
            for report in self.files
        )

    @property
    def changed(self) -> int:
        return sum(report.changed for report in self.files)

    def summary(self) -> dict[str, object]:
        """The JSON stored in ``roster_imports.summary``."""
        return {
            "source_system": self.source_system,
            "seconds": round(self.seconds, 3),
            "fully_applied": self.fully_applied,
            "problems": [msgspec.to_builtins(problem) for problem in self.problems],
            "files": [
                {
                    "file": report.file,
                    "entity": report.entity,
                    "mode": str(report.mode),
                    "status": str(report.status),
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "deactivated": report.deactivated,
                    "deleted": report.deleted,
                    "ignored": report.ignored,
                    "rejected": len(report.rejected),
                    "problem": msgspec.to_builtins(report.problem) if report.problem else None,
                }
                for report in self.files
            ],
        }


# ---------------------------------------------------------------------------------------------
# Reading CSV


class Table(msgspec.Struct):
    file: str
    columns: dict[str, int]  # lower-case column name -> position
    records: list[tuple[int, list[str]]]  # (spreadsheet line, stripped values)

    def has(self, column: str) -> bool:
        return column.lower() in self.columns


def read_table(
    file: str, data: bytes, required: Sequence[str]
) -> tuple[Table | None, list[RejectedRow]]:
    """Decode UTF-8 (with or without BOM), read the header and every record.

    A file that cannot be read at all gives ``None`` and one reason; a record that cannot be
    read gives a rejected row and the others are still read.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, [
            reject(
                file,
                0,
                N_(
                    "the file is not UTF-8 text (the first problem is on line {line}). Save it "
                    "again as “CSV UTF-8” from your spreadsheet and import it again."
                ),
                line=line,
            )
        ]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rejected: list[RejectedRow] = []
    try:
        header = next(reader)
    except StopIteration:
        header = []
    except csv.Error as error:
        return None, [
            reject(file, 1, N_("the first line could not be read as CSV ({error})."), error=error)
        ]
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    if not any(names):
        return None, [
            reject(
                file,
                0,
                N_("the file is empty: it should start with a line of column names."),
            )
        ]
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            continue
        if name in columns:
            return None, [
                reject(
                    file,
                    1,
                    N_("the column '{column}' appears twice in the first line."),
                    column=header[position].strip(),
                )
            ]
        columns[name] = position
    missing = [column for column in required if column.lower() not in columns]
    if missing:
        if len(missing) == 1:
            template = N_(
                "the column {columns} is missing from the first line, so the file was not "
                "read. Add the column (it may be left empty where it is optional)."
            )
        else:
            template = N_(
                "the columns {columns} are missing from the first line, so the file was not "
                "read. Add the columns (they may be left empty where they are optional)."
            )
        return None, [reject(file, 1, template, columns=", ".join(missing))]
    expected = len(header)
    records: list[tuple[int, list[str]]] = []
    line = 1
    while True:
        line += 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            rejected.append(
                reject(
                    file,
                    line,
                    N_("this line could not be read as CSV ({error}); check its quotes."),
                    error=error,
                )
            )
            continue
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # a blank line
        if len(values) != expected:
            rejected.append(
                reject(
                    file,
                    line,
                    N_(
                        "this line has {found} values but the first line has {expected} "
                        "columns. Look for a missing comma, or a comma inside a value that "
                        "is not between quotes."
                    ),
                    found=len(values),
                    expected=expected,
                )
            )
            continue
        records.append((line, [value.strip() for value in values]))
    return Table(file, columns, records), rejected


class _Row:
    """Column access by name for one record (absent columns read as empty)."""

    __slots__ = ("columns", "line", "values")

    def __init__(self, columns: Mapping[str, int], line: int, values: list[str]) -> None:
        self.columns = columns
        self.line = line
        self.values = values

    def __getitem__(self, column: str) -> str:
        position = self.columns.get(column)
        return "" if position is None else self.values[position]


class _RowError(Exception):
    """Raised inside a row parser: the row is rejected with this reason."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template)
        self.template = template
        self.params = params


def _list(value: str) -> tuple[str, ...]:
    """OneRoster lists are comma-separated inside one (quoted) value."""
    if not value:
        return ()
    return tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: str, column: str) -> date:
    if _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _RowError(
        N_("the date '{value}' in {column} is not a date; write it as YYYY-MM-DD."),
        value=value,
        column=column,
    )


def _check_date_last_modified(value: str) -> None:
    if not value:
        return
    try:
        if _DATE.match(value):
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        raise _RowError(
            N_(
                "the date '{value}' in dateLastModified is not a date and time; write it as "
                "YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ."
            ),
            value=value,
        ) from None


def _name(value: str, column: str, limit: int = 100) -> str:
    value = " ".join(value.split())
    if not value:
        raise _RowError(N_("the column {column} is empty; it is required."), column=column)
    if len(value) > limit:
        raise _RowError(
            N_("the value in {column} is longer than {limit} characters."),
            column=column,
            limit=limit,
        )
    if any(unicodedata.category(character).startswith("C") for character in value):
        raise _RowError(
            N_("the value in {column} contains invisible control characters."), column=column
        )
    return value


def _optional_text(value: str, column: str, limit: int) -> str | None:
    value = " ".join(value.split())
    if not value:
        return None
    if len(value) > limit:
        raise _RowError(
            N_("the value in {column} is longer than {limit} characters."),
            column=column,
            limit=limit,
        )
    return value


def _required(row: _Row, column: str) -> str:
    value = row[column.lower()]
    if not value:
        raise _RowError(N_("the column {column} is empty; it is required."), column=column)
    return value


def _status(row: _Row, file: str, mode: FileMode) -> bool:
    """True when the row is marked ``tobedeleted``."""
    status = row["status"].lower()
    if status == "tobedeleted":
        if mode is FileMode.BULK:
            raise _RowError(
                N_(
                    "the status is 'tobedeleted' but the manifest marks {file} as bulk; "
                    "deletions are only read from delta files."
                ),
                file=file,
            )
        return True
    if status == "active":
        return False
    if not status:
        if mode is FileMode.DELTA:
            raise _RowError(
                N_("the status is empty, but in a delta file every row says active or tobedeleted.")
            )
        return False
    raise _RowError(
        N_("the status '{value}' is not a OneRoster status; use active or tobedeleted."),
        value=row["status"],
    )


def _parse_file(
    file: str,
    mode: FileMode,
    data: bytes | None,
    required: Sequence[str],
    parse_row: Callable[[_Row, bool], RecordT],
) -> ParsedFile[RecordT]:
    if mode is FileMode.ABSENT:
        return ParsedFile(file, mode, FileStatus.ABSENT)
    if data is None:
        return ParsedFile(
            file,
            mode,
            FileStatus.REFUSED,
            problem=reject(
                file,
                0,
                N_(
                    "the manifest marks this file as {mode}, but it is not in the upload. Add "
                    "the file, or mark it as absent in manifest.csv."
                ),
                mode=mode,
            ),
        )
    columns = list(required)
    if mode is FileMode.DELTA:
        columns.append("status")
    table, rejected = read_table(file, data, columns)
    if table is None:
        return ParsedFile(file, mode, FileStatus.REFUSED, problem=rejected[0])
    unreadable_rows = len(rejected)
    parsed: ParsedFile[RecordT] = ParsedFile(file, mode, FileStatus.APPLIED, rejected=rejected)
    first_line: dict[str, int] = {}
    for line, values in table.records:
        row = _Row(table.columns, line, values)
        source_id = row["sourcedid"]
        try:
            _check_new_source_id(row, first_line)
            first_line[source_id] = line
            deleted = _status(row, file, mode)
            _check_date_last_modified(row["datelastmodified"])
            parsed.records.append(parse_row(row, deleted))
        except _RowError as error:
            parsed.rejected.append(reject(file, line, error.template, **error.params))
            if source_id and first_line.get(source_id) == line:
                parsed.refused[source_id] = line
    parsed.rows = len(table.records) + unreadable_rows
    parsed.rejected.sort(key=lambda rejected_row: rejected_row.line)
    return parsed


def _check_new_source_id(row: _Row, first_line: Mapping[str, int]) -> None:
    source_id = _required(row, "sourcedId")
    if source_id in first_line:
        raise _RowError(
            N_(
                "the sourcedId '{source_id}' is already used on line {first_line}; "
                "each row needs its own sourcedId."
            ),
            source_id=source_id,
            first_line=first_line[source_id],
        )


# ---------------------------------------------------------------------------------------------
# One parser per file


ORG_TYPES = frozenset({"school", "district", "local", "state", "national", "department"})


def _org(row: _Row, deleted: bool) -> OrgRecord:
    source_id = row["sourcedid"]
    org_type = row["type"].lower()
    if deleted:
        return OrgRecord(row.line, source_id, True, org_type)
    if org_type not in ORG_TYPES:
        raise _RowError(
            N_(
                "the org type '{value}' is not a OneRoster org type; use school, district, "
                "local, state, national or department."
            ),
            value=row["type"],
        )
    name = _name(row["name"], "name", limit=200)
    if org_type != "school":
        return OrgRecord(row.line, source_id, False, org_type, name)
    try:
        uai = check_uai(row["identifier"])
    except InvalidInput:
        if not row["identifier"]:
            raise _RowError(
                N_(
                    "the identifier of a school is its UAI and it is empty; a UAI is seven "
                    "digits followed by a letter, like 0751234A."
                )
            ) from None
        raise _RowError(
            N_(
                "the identifier '{value}' is not a valid UAI: a school's UAI is seven digits "
                "followed by a letter, like 0751234A."
            ),
            value=row["identifier"],
        ) from None
    return OrgRecord(row.line, source_id, False, org_type, name, uai)


SESSION_TYPES = frozenset({"schoolyear", "term", "semester", "gradingperiod"})


def _session(row: _Row, deleted: bool) -> SessionRecord:
    source_id = row["sourcedid"]
    session_type = row["type"].lower()
    if deleted:
        return SessionRecord(row.line, source_id, True, session_type)
    if session_type not in SESSION_TYPES:
        raise _RowError(
            N_(
                "the session type '{value}' is not a OneRoster type; use schoolYear, term, "
                "semester or gradingPeriod."
            ),
            value=row["type"],
        )
    title = _name(row["title"], "title")
    starts_on = _date(_required(row, "startDate"), "startDate")
    ends_on = _date(_required(row, "endDate"), "endDate")
    if ends_on < starts_on:
        raise _RowError(
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


CLASS_TYPES = {"homeroom": GroupKind.CLASS, "scheduled": GroupKind.GROUP}


def _class(row: _Row, deleted: bool) -> ClassRecord:
    source_id = row["sourcedid"]
    if deleted:
        return ClassRecord(row.line, source_id, True, row["schoolsourcedid"])
    kind = CLASS_TYPES.get(row["classtype"].lower())
    if kind is None:
        raise _RowError(
            N_("the classType '{value}' is not a OneRoster class type; use homeroom or scheduled."),
            value=row["classtype"],
        )
    name = _name(row["title"], "title")
    school_source_id = _required(row, "schoolSourcedId")
    level = _optional_text(", ".join(_list(row["grades"])), "grades", 50)
    subject = None
    if kind is GroupKind.GROUP:
        subject = _optional_text(", ".join(_list(row["subjects"])), "subjects", 100)
    terms = _list(row["termsourcedids"])
    return ClassRecord(
        row.line, source_id, False, school_source_id, kind, name, level, subject, terms
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
            raise _RowError(
                N_(
                    "the role is empty; use student, teacher, parent, guardian, administrator "
                    "or aide."
                )
            )
        raise _RowError(
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
    raise _RowError(N_("the enabledUser value '{value}' is not true or false."), value=value)


def _user(row: _Row, deleted: bool, *, role_column: bool) -> UserRecord:
    source_id = row["sourcedid"]
    orgs = _list(row["primaryorgsourcedid"]) + _list(row["orgsourcedids"])
    orgs = tuple(dict.fromkeys(orgs))
    if deleted:
        return UserRecord(row.line, source_id, True, org_source_ids=orgs)
    enabled = _enabled(row["enableduser"])
    profile = _role(row["role"]) if role_column and row["role"] else None
    given_name = _name(row["givenname"], "givenName")
    family_name = _name(row["familyname"], "familyName")
    try:
        email = check_email(row["email"])
    except InvalidInput:
        raise _RowError(
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
        _list(row["agentsourcedids"]),
    )


def _role_row(row: _Row, deleted: bool) -> RoleRecord:
    source_id = row["sourcedid"]
    user_source_id = _required(row, "userSourcedId")
    if deleted:
        return RoleRecord(row.line, source_id, True, user_source_id)
    role_type = row["roletype"].lower()
    if role_type not in ("primary", "secondary"):
        raise _RowError(
            N_("the roleType '{value}' is not primary or secondary."), value=row["roletype"]
        )
    profile = _role(row["role"])
    org_source_id = _required(row, "orgSourcedId")
    return RoleRecord(
        row.line, source_id, False, user_source_id, role_type == "primary", profile, org_source_id
    )


ENROLMENT_ROLES = {"student": EnrolmentRole.PUPIL, "teacher": EnrolmentRole.TEACHER}


def _enrollment(row: _Row, deleted: bool) -> EnrollmentRecord:
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
    class_source_id = _required(row, "classSourcedId")
    user_source_id = _required(row, "userSourcedId")
    role = ENROLMENT_ROLES.get(row["role"].lower())
    if role is None:
        raise _RowError(
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
        row = _Row(table.columns, line, values)
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
    manifest_data = _find(files, MANIFEST)
    problems: list[RejectedRow] = []
    manifest: Manifest | None = None
    if manifest_data is None:
        problems.append(
            reject(
                MANIFEST,
                0,
                N_(
                    "manifest.csv is missing, so nothing was imported. A OneRoster export "
                    "always has one; it lists each file as bulk, delta or absent."
                ),
            )
        )
    else:
        manifest, manifest_rejected = parse_manifest(manifest_data)
        problems.extend(manifest_rejected)
        if manifest is None:
            problems.append(
                reject(MANIFEST, 0, N_("manifest.csv could not be read, so nothing was imported."))
            )

    modes = manifest.modes if manifest else {}
    known = {name.lower() for name in (MANIFEST, *DATA_FILES)}
    other_files = [
        reject(name, 0, N_("Préau does not use this file; it was not read."))
        for name in sorted(files)
        if name.lower() not in known and name.lower().endswith(".csv")
    ]
    for name in DATA_FILES:
        if manifest and name not in modes and _find(files, name) is not None:
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
        elif manifest and modes.get(name) is FileMode.ABSENT and _find(files, name) is not None:
            other_files.append(
                reject(
                    name,
                    0,
                    N_("manifest.csv marks this file as absent, so it was not read."),
                )
            )

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
        orgs=_parse_file(ORGS, mode(ORGS), data(ORGS), ("sourcedId", "name", "type"), _org),
        sessions=_parse_file(
            SESSIONS,
            mode(SESSIONS),
            data(SESSIONS),
            ("sourcedId", "title", "type", "startDate", "endDate"),
            _session,
        ),
        classes=_parse_file(
            CLASSES,
            mode(CLASSES),
            data(CLASSES),
            ("sourcedId", "title", "classType", "schoolSourcedId"),
            _class,
        ),
        users=_parse_file(
            USERS,
            mode(USERS),
            users_data,
            users_required,
            lambda row, deleted: _user(row, deleted, role_column=role_column),
        ),
        roles=_parse_file(
            ROLES,
            mode(ROLES),
            data(ROLES),
            ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
            _role_row,
        ),
        enrollments=_parse_file(
            ENROLLMENTS,
            mode(ENROLLMENTS),
            data(ENROLLMENTS),
            ("sourcedId", "classSourcedId", "userSourcedId", "role"),
            _enrollment,
        ),
        problems=problems,
        other_files=other_files,
    )
    if manifest is None:
        return roster
    _check_unique_uai(roster.orgs)
    _merge_roles(roster.users, roster.roles)
    _check_unique_enrolments(roster.enrollments)
    return roster


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
            if role.user_source_id in users.refused:
                reason = reject(
                    roles.file,
                    role.line,
                    N_(
                        "the user '{value}' was refused (users.csv line {line}), so this role "
                        "was not imported either."
                    ),
                    value=role.user_source_id,
                    line=users.refused[role.user_source_id],
                )
            else:
                reason = reject(
                    roles.file,
                    role.line,
                    N_(
                        "the user '{value}' in userSourcedId is not in users.csv; a role is "
                        "imported with its user."
                    ),
                    value=role.user_source_id,
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
    refused_orgs = _refused_ids(roster.orgs)

    def unknown_school(value: str) -> tuple[str, dict[str, object]]:
        if value in refused_orgs:
            return N_(
                "the school '{value}' was refused (orgs.csv line {line}), so this row was not "
                "imported either."
            ), {"value": value, "line": refused_orgs[value]}
        return N_("the school '{value}' is not a school in this import or in Préau."), {
            "value": value
        }

    refused_sessions: list[tuple[SessionRecord, RejectedRow]] = []
    for session in roster.sessions.records:
        if session.deleted or not session.org_source_id:
            continue
        if session.org_source_id not in schools:
            template, params = unknown_school(session.org_source_id)
            refused_sessions.append(
                (session, reject(roster.sessions.file, session.line, template, **params))
            )
    _drop(roster.sessions, refused_sessions)

    refused_classes: list[tuple[ClassRecord, RejectedRow]] = []
    for group in roster.classes.records:
        if group.deleted:
            continue
        if group.school_source_id not in schools:
            template, params = unknown_school(group.school_source_id)
            refused_classes.append(
                (group, reject(roster.classes.file, group.line, template, **params))
            )
    _drop(roster.classes, refused_classes)

    refused_users: list[tuple[UserRecord, RejectedRow]] = []
    for user in roster.users.records:
        if user.deleted or any(org in schools for org in user.org_source_ids):
            continue
        if not user.org_source_ids:
            user_reason = reject(
                roster.users.file,
                user.line,
                N_(
                    "the user belongs to no org: fill in orgSourcedIds (or their roles in "
                    "roles.csv) with their school's sourcedId."
                ),
            )
        else:
            user_reason = reject(
                roster.users.file,
                user.line,
                N_(
                    "none of the orgs '{value}' of this user is a school in this import or in "
                    "Préau."
                ),
                value=", ".join(user.org_source_ids),
            )
        refused_users.append((user, user_reason))
    _drop(roster.users, refused_users)

    classes = set(known.classes)
    classes.update(group.source_id for group in roster.classes.records)
    users = set(known.users)
    users.update(user.source_id for user in roster.users.records)
    refused_class_ids = _refused_ids(roster.classes)
    refused_user_ids = _refused_ids(roster.users)
    refused_enrollments: list[tuple[EnrollmentRecord, RejectedRow]] = []
    for enrollment in roster.enrollments.records:
        if enrollment.deleted:
            continue
        reason: RejectedRow | None = None
        if enrollment.class_source_id not in classes:
            if enrollment.class_source_id in refused_class_ids:
                reason = reject(
                    roster.enrollments.file,
                    enrollment.line,
                    N_(
                        "the class '{value}' was refused (classes.csv line {line}), so this "
                        "enrolment was not imported either."
                    ),
                    value=enrollment.class_source_id,
                    line=refused_class_ids[enrollment.class_source_id],
                )
            else:
                reason = reject(
                    roster.enrollments.file,
                    enrollment.line,
                    N_("the class '{value}' is not in this import or in Préau."),
                    value=enrollment.class_source_id,
                )
        elif enrollment.user_source_id not in users:
            if enrollment.user_source_id in refused_user_ids:
                reason = reject(
                    roster.enrollments.file,
                    enrollment.line,
                    N_(
                        "the user '{value}' was refused (users.csv line {line}), so this "
                        "enrolment was not imported either."
                    ),
                    value=enrollment.user_source_id,
                    line=refused_user_ids[enrollment.user_source_id],
                )
            else:
                reason = reject(
                    roster.enrollments.file,
                    enrollment.line,
                    N_("the user '{value}' is not in this import or in Préau."),
                    value=enrollment.user_source_id,
                )
        if reason is not None:
            refused_enrollments.append((enrollment, reason))
    _drop(roster.enrollments, refused_enrollments)


def _refused_ids(parsed: ParsedFile[RecordT]) -> dict[str, int]:
    return parsed.refused


# ---------------------------------------------------------------------------------------------
# Small rules used when applying


def school_year_of(
    term_source_ids: Sequence[str], sessions: Mapping[str, SessionRecord]
) -> str | None:
    """The school year a class is taught in: its first term that is, or sits inside, one."""
    for term in term_source_ids:
        current: str | None = term
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            session = sessions.get(current)
            if session is None:
                break
            if session.is_school_year:
                return session.source_id
            current = session.parent_source_id
    return None


def parent_link(profile: Profile, agent_profile: Profile) -> tuple[bool, bool]:
    """(is a link, the row's user is the parent) for a user and one of their agents."""
    if profile is Profile.PARENT and agent_profile is Profile.PUPIL:
        return True, True
    if profile is Profile.PUPIL and agent_profile is Profile.PARENT:
        return True, False
    return False, False
