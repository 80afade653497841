"""What reading a OneRoster upload gives: the files Préau reads and how the manifest marks
them, one typed record per accepted row, and each file's accepted and refused rows."""

from __future__ import annotations

import enum
from datetime import date
from typing import Generic, Protocol, TypeVar

import msgspec

from preau.domain.people import EnrolmentRole, GroupKind, Profile
from preau.domain.roster.reasons import RejectedRow

MANIFEST = "manifest.csv"
ORGS = "orgs.csv"
SESSIONS = "academicSessions.csv"
COURSES = "courses.csv"
CLASSES = "classes.csv"
USERS = "users.csv"
ROLES = "roles.csv"
ENROLLMENTS = "enrollments.csv"

#: The files Préau reads, in the order they are applied (each one may refer to the earlier ones).
DATA_FILES = (ORGS, SESSIONS, COURSES, CLASSES, USERS, ROLES, ENROLLMENTS)


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


class CourseRecord(msgspec.Struct, frozen=True, gc=False):
    """A course: not stored itself; its subject names the subject of its classes that
    have none of their own (``parse.subjects_from_courses``)."""

    line: int
    source_id: str
    deleted: bool
    subject: str | None = None  # its subjects, or else its title


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
    course_source_id: str | None = None


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
    @property
    def deleted(self) -> bool: ...


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
    courses: ParsedFile[CourseRecord]
    classes: ParsedFile[ClassRecord]
    users: ParsedFile[UserRecord]
    roles: ParsedFile[RoleRecord]
    enrollments: ParsedFile[EnrollmentRecord]
    problems: list[RejectedRow] = msgspec.field(default_factory=list)  # the import as a whole
    other_files: list[RejectedRow] = msgspec.field(default_factory=list)  # files not read
