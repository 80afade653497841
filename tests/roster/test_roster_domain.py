"""Pure rules of the OneRoster reader: no database, no files, every refusal with its line."""

from __future__ import annotations

import pytest

from preau.domain.people import EnrolmentRole, GroupKind, Profile
from preau.domain.roster.checks import Known, check_references
from preau.domain.roster.parse import parse_roster
from preau.domain.roster.reasons import KIND_CLASS, RejectedRow, reject
from preau.domain.roster.records import FileMode, FileStatus, ParsedRoster, SessionRecord
from preau.domain.roster.rules import parent_link, school_year_of
from preau.domain.roster.table import read_table

MANIFEST_HEAD = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "org-1,,,Collège Victor Hugo,school,0751234A,\n"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)


def manifest(**modes: str) -> bytes:
    rows = "".join(f"file.{name},{mode}\n" for name, mode in modes.items())
    return (MANIFEST_HEAD + rows).encode()


def reasons(rows: list[RejectedRow]) -> list[tuple[str, int, str]]:
    return [(row.file, row.line, row.reason) for row in rows]


# -- reading CSV ------------------------------------------------------------------------------


def test_bom_case_blank_lines_and_spreadsheet_line_numbers() -> None:
    data = b'\xef\xbb\xbfSourcedId , NAME\r\na,"first"\r\n\r\nb,"two\nlines"\r\nc,third\r\n'
    table, rejected = read_table("orgs.csv", data, ("sourcedId", "name"))
    assert rejected == []
    assert table is not None
    assert table.columns == {"sourcedid": 0, "name": 1}
    # A quoted value spanning two physical lines is one spreadsheet row.
    assert table.records == [(2, ["a", "first"]), (4, ["b", "two\nlines"]), (5, ["c", "third"])]


def test_malformed_rows_are_refused_and_reading_goes_on() -> None:
    data = b'sourcedId,name\na,"x"y\nb,two,extra\nc,fine\n'
    table, rejected = read_table("orgs.csv", data, ("sourcedId", "name"))
    assert table is not None
    assert table.records == [(4, ["c", "fine"])]
    assert [(row.line, row.template[:30]) for row in rejected] == [
        (2, "this line could not be read as"),
        (3, "this line has {found} values b"),
    ]
    assert rejected[1].reason.startswith("this line has 3 values but the first line has 2 columns")


def test_a_file_that_is_not_utf8_is_refused_whole_with_the_line() -> None:
    data = "sourcedId,name\na,Zoé\nb,Léa\n".encode("cp1252")
    table, rejected = read_table("users.csv", data, ("sourcedId",))
    assert table is None
    assert len(rejected) == 1
    assert rejected[0].line == 0
    assert rejected[0].describe() == (
        "users.csv: the file is not UTF-8 text (the first problem is on line 2). Save it again "
        "as “CSV UTF-8” from your spreadsheet and import it again."
    )


def test_missing_columns_refuse_the_file_with_one_reason() -> None:
    _, rejected = read_table("users.csv", b"sourcedId,name\n", ("sourcedId", "givenName", "role"))
    assert reasons(rejected) == [
        (
            "users.csv",
            1,
            "the columns givenName, role are missing from the first line, so the file was not "
            "read. Add the columns (they may be left empty where they are optional).",
        )
    ]


def test_empty_file_and_duplicate_column() -> None:
    assert read_table("orgs.csv", b"", ("sourcedId",))[1][0].reason.startswith("the file is empty")
    _, rejected = read_table("orgs.csv", b"sourcedId,name,Name\n", ("sourcedId",))
    assert rejected[0].reason == "the column 'Name' appears twice in the first line."


# -- the manifest -------------------------------------------------------------------------------


def test_without_a_manifest_nothing_is_read() -> None:
    roster = parse_roster({"orgs.csv": ORGS.encode()})
    assert roster.manifest is None
    assert reasons(roster.problems) == [
        (
            "manifest.csv",
            0,
            "manifest.csv is missing, so nothing was imported. A OneRoster export always has "
            "one; it lists each file as bulk, delta or absent.",
        )
    ]


def test_manifest_modes_missing_files_and_files_not_read() -> None:
    roster = parse_roster(
        {
            "Manifest.csv": manifest(
                orgs="bulk", users="bulk", classes="sometimes", demographics="bulk"
            )
            + b"file.enrollments,absent\n",
            "orgs.csv": ORGS.encode(),
            "demographics.csv": b"sourcedId\n",
            "enrollments.csv": b"sourcedId\n",
            "academicSessions.csv": b"sourcedId\n",
        }
    )
    assert roster.manifest is not None
    assert roster.orgs.status is FileStatus.APPLIED
    assert [org.source_id for org in roster.orgs.records] == ["org-1"]
    assert roster.users.status is FileStatus.REFUSED
    assert roster.users.problem is not None
    assert roster.users.problem.reason == (
        "the manifest marks this file as bulk, but it is not in the upload. Add the file, or "
        "mark it as absent in manifest.csv."
    )
    assert roster.classes.status is FileStatus.ABSENT
    assert reasons(roster.problems) == [
        (
            "manifest.csv",
            6,
            "the value 'sometimes' for file.classes is not one of bulk, delta or absent, so "
            "classes.csv was not read.",
        )
    ]
    assert reasons(roster.other_files) == [
        ("demographics.csv", 0, "Préau does not use this file; it was not read."),
        (
            "academicSessions.csv",
            0,
            "manifest.csv has no file.academicSessions row, so this file was not read. Add the "
            "row with the value bulk or delta.",
        ),
        ("enrollments.csv", 0, "manifest.csv marks this file as absent, so it was not read."),
    ]


# -- rows ---------------------------------------------------------------------------------------


def users_roster(
    rows: str, mode: str = "bulk", extra: dict[str, bytes] | None = None
) -> ParsedRoster:
    files = {
        "manifest.csv": manifest(orgs="bulk", users=mode, **({"roles": "bulk"} if extra else {})),
        "orgs.csv": ORGS.encode(),
        "users.csv": (USERS_HEADER + rows).encode(),
        **(extra or {}),
    }
    return parse_roster(files)


def test_user_rows_each_refusal_names_its_line() -> None:
    roster = users_roster(
        "u1,,,true,org-1,student,zoe,,Zoé,Lefèvre,,,,,,,,\n"
        "u2,,,true,org-1,wizard,,,Harry,Potter,,,,,,,,\n"
        "u3,,,true,org-1,teacher,,,   ,Vide,,,,,,,,\n"
        "u1,,,true,org-1,student,,,Zoé,Bis,,,,,,,,\n"
        "u4,,,yes please,org-1,student,,,A,B,,,,,,,,\n"
        "u5,,,true,org-1,student,,,A,B,,,not-an-email,,,,,\n"
        "u6,tobedeleted,,true,org-1,student,,,A,B,,,,,,,,\n"
        "u7,,2026-13-01,true,org-1,student,,,A,B,,,,,,,,\n"
        "u8,,,FALSE,org-1,Guardian,,,Paul,Lefèvre,,,,,,u1,,\n"
    )
    assert [(user.source_id, user.profile, user.enabled) for user in roster.users.records] == [
        ("u1", Profile.PUPIL, True),
        ("u8", Profile.PARENT, False),
    ]
    assert roster.users.records[1].agent_source_ids == ("u1",)
    assert roster.users.rows == 9
    assert reasons(roster.users.rejected) == [
        (
            "users.csv",
            3,
            "the role 'wizard' is not a OneRoster role; use student, teacher, parent, guardian, "
            "administrator or aide.",
        ),
        ("users.csv", 4, "the column givenName is empty; it is required."),
        (
            "users.csv",
            5,
            "the sourcedId 'u1' is already used on line 2; each row needs its own sourcedId.",
        ),
        ("users.csv", 6, "the enabledUser value 'yes please' is not true or false."),
        ("users.csv", 7, "the email address 'not-an-email' does not look valid."),
        (
            "users.csv",
            8,
            "the status is 'tobedeleted' but the manifest marks users.csv as bulk; deletions "
            "are only read from delta files.",
        ),
        (
            "users.csv",
            9,
            "the date '2026-13-01' in dateLastModified is not a date and time; write it as "
            "YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.",
        ),
    ]
    assert roster.users.refused == {"u2": 3, "u3": 4, "u4": 6, "u5": 7, "u6": 8, "u7": 9}


def test_delta_rows_need_a_status_and_deleted_rows_need_only_their_id() -> None:
    roster = users_roster(
        "u1,tobedeleted,2026-01-10,,,,,,,,,,,,,,,\n"
        "u2,,2026-01-10,true,org-1,student,,,A,B,,,,,,,,\n"
        "u3,inactive,2026-01-10,true,org-1,student,,,A,B,,,,,,,,\n"
        "u4,Active,,true,org-1,student,,,A,B,,,,,,,,\n",
        mode="delta",
    )
    assert [(user.source_id, user.deleted) for user in roster.users.records] == [
        ("u1", True),
        ("u4", False),
    ]
    assert [row.reason for row in roster.users.rejected] == [
        "the status is empty, but in a delta file every row says active or tobedeleted.",
        "the status 'inactive' is not a OneRoster status; use active or tobedeleted.",
    ]


def test_a_delta_file_without_a_status_column_is_refused() -> None:
    roster = parse_roster(
        {
            "manifest.csv": manifest(orgs="delta"),
            "orgs.csv": b"sourcedId,name,type,identifier\norg-1,X,school,0751234A\n",
        }
    )
    assert roster.orgs.status is FileStatus.REFUSED
    assert roster.orgs.problem is not None
    assert roster.orgs.problem.line == 1
    assert "the column status is missing" in roster.orgs.problem.reason


def test_orgs_sessions_and_classes() -> None:
    roster = parse_roster(
        {
            "manifest.csv": manifest(orgs="bulk", academicSessions="bulk", classes="bulk"),
            "orgs.csv": (
                "sourcedId,name,type,identifier\n"
                "d,Académie,district,\n"
                "s1,Collège,school, 0751234a \n"
                "s2,École,school,12345\n"
                "s3,Lycée,school,\n"
                "s4,Autre,School,0751234A\n"
                "s5,Poudlard,castle,\n"
            ).encode(),
            "academicSessions.csv": (
                b"sourcedId,title,type,startDate,endDate,parentSourcedId\n"
                b"y,2025-2026,schoolYear,2025-09-01,2026-07-04,\n"
                b"t,T1,term,2025-09-01,2025-11-30,y\n"
                b"bad,X,schoolYear,2025-09-01,2025-08-01,\n"
                b"odd,X,holiday,2025-09-01,2025-10-01,\n"
                b"nodate,X,term,01/09/2025,2025-10-01,\n"
            ),
            "classes.csv": (
                b"sourcedId,title,classType,schoolSourcedId,termSourcedIds,grades,subjects\n"
                b'c1,4e B,homeroom,s1,y,"08",\n'
                b'g1,Espagnol,scheduled,s1,"t, y","08,09","Espagnol, LV2"\n'
                b"c2,,homeroom,s1,y,,\n"
                b"c3,Club,club,s1,y,,\n"
            ),
        }
    )
    assert [(org.source_id, org.org_type, org.uai) for org in roster.orgs.records] == [
        ("d", "district", None),
        ("s1", "school", "0751234A"),
    ]
    assert [(row.line, row.reason[:40]) for row in roster.orgs.rejected] == [
        (4, "the identifier '12345' is not a valid UA"),
        (5, "the identifier of a school is its UAI an"),
        (6, "the UAI 0751234A is already used on line"),
        (7, "the org type 'castle' is not a OneRoster"),
    ]
    assert [session.source_id for session in roster.sessions.records] == ["y", "t"]
    assert [row.reason for row in roster.sessions.rejected] == [
        "the end date 2025-08-01 is before the start date 2025-09-01.",
        "the session type 'holiday' is not a OneRoster type; use schoolYear, term, semester or "
        "gradingPeriod.",
        "the date '01/09/2025' in startDate is not a date; write it as YYYY-MM-DD.",
    ]
    c1, g1 = roster.classes.records
    assert (c1.kind, c1.level, c1.subject) == (GroupKind.CLASS, "08", None)
    assert (g1.kind, g1.level, g1.subject, g1.term_source_ids) == (
        GroupKind.GROUP,
        "08, 09",
        "Espagnol, LV2",
        ("t", "y"),
    )
    assert [row.reason for row in roster.classes.rejected] == [
        "the column title is empty; it is required.",
        "the classType 'club' is not a OneRoster class type; use homeroom or scheduled.",
    ]


def test_roles_csv_gives_the_primary_role_and_orders_the_orgs() -> None:
    users = (
        "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName,"
        "primaryOrgSourcedId,agentSourcedIds\n"
        "u1,,,true,,Marc,Dupont,,\n"
        "u2,,,true,,Inès,Bernard,org-2,\n"
        "u3,,,true,,Sans,Rôle,,\n"
    )
    roles = (
        "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
        "orgSourcedId,userProfileSourcedId\n"
        "r1,,,u1,secondary,teacher,,,org-2,\n"
        "r2,,,u1,primary,teacher,,,org-1,\n"
        "r3,,,u2,primary,principal,,,org-1,\n"
        "r4,,,ghost,primary,student,,,org-1,\n"
        "r5,,,u2,primary,sorcerer,,,org-1,\n"
    )
    roster = parse_roster(
        {
            "manifest.csv": manifest(users="bulk", roles="bulk"),
            "users.csv": users.encode(),
            "roles.csv": roles.encode(),
        }
    )
    by_id = {user.source_id: user for user in roster.users.records}
    assert by_id["u1"].profile is Profile.TEACHER
    assert by_id["u1"].org_source_ids == ("org-1", "org-2")
    assert by_id["u2"].profile is Profile.ADMIN
    assert by_id["u2"].org_source_ids == ("org-2", "org-1")  # primaryOrgSourcedId comes first
    assert reasons(roster.users.rejected) == [
        (
            "users.csv",
            4,
            "the user has no role: fill in the role column or add a row for them in roles.csv.",
        )
    ]
    assert [(row.line, row.reason[:36]) for row in roster.roles.rejected] == [
        (5, "the user 'ghost' in userSourcedId is"),
        (6, "the role 'sorcerer' is not a OneRost"),
    ]


def test_users_without_role_column_or_roles_file_are_refused_whole() -> None:
    roster = parse_roster(
        {
            "manifest.csv": manifest(users="bulk"),
            "users.csv": b"sourcedId,givenName,familyName\nu1,A,B\n",
        }
    )
    assert roster.users.status is FileStatus.REFUSED
    assert roster.users.problem is not None
    assert "the column role is missing" in roster.users.problem.reason


def test_enrolments_roles_and_duplicates() -> None:
    roster = parse_roster(
        {
            "manifest.csv": manifest(enrollments="bulk"),
            "enrollments.csv": (
                b"sourcedId,classSourcedId,schoolSourcedId,userSourcedId,role\n"
                b"e1,c1,s1,u1,student\n"
                b"e2,c1,s1,u2,Teacher\n"
                b"e3,c1,s1,u1,student\n"
                b"e4,c1,s1,u3,proctor\n"
                b"e5,,s1,u3,student\n"
            ),
        }
    )
    assert [(e.source_id, e.role) for e in roster.enrollments.records] == [
        ("e1", EnrolmentRole.PUPIL),
        ("e2", EnrolmentRole.TEACHER),
    ]
    assert [row.reason for row in roster.enrollments.rejected] == [
        "the user 'u1' is already enrolled in the class 'c1' as student on line 2.",
        "the enrolment role 'proctor' is not one Préau records; use student or teacher.",
        "the column classSourcedId is empty; it is required.",
    ]


# -- references between files ---------------------------------------------------------------------


def test_references_to_unknown_or_refused_rows() -> None:
    roster = parse_roster(
        {
            "manifest.csv": manifest(orgs="bulk", classes="bulk", users="bulk", enrollments="bulk"),
            "orgs.csv": (ORGS + "org-bad,,,Sans UAI,school,12,\n").encode(),
            "classes.csv": (
                b"sourcedId,title,classType,schoolSourcedId\n"
                b"c1,4e B,homeroom,org-1\n"
                b"c2,5e A,homeroom,org-db\n"
                b"c3,6e A,homeroom,org-nowhere\n"
                b"c4,3e A,homeroom,org-bad\n"
            ),
            "users.csv": (
                USERS_HEADER
                + "u1,,,true,org-1,student,,,A,B,,,,,,,,\n"
                + "u2,,,true,org-x,student,,,A,B,,,,,,,,\n"
                + "u3,,,true,,student,,,A,B,,,,,,,,\n"
                + "u4,,,true,org-1,wizard,,,A,B,,,,,,,,\n"
            ).encode(),
            "enrollments.csv": (
                b"sourcedId,classSourcedId,userSourcedId,role\n"
                b"e1,c1,u1,student\n"
                b"e2,c-db,u-db,student\n"
                b"e3,c3,u1,student\n"
                b"e4,c1,u4,student\n"
                b"e5,c-none,u1,student\n"
                b"e6,c1,u-none,student\n"
            ),
        }
    )
    check_references(
        roster,
        Known(
            schools=frozenset({"org-db"}),
            classes=frozenset({"c-db"}),
            users=frozenset({"u-db"}),
        ),
    )
    assert [group.source_id for group in roster.classes.records] == ["c1", "c2"]
    assert [row.reason for row in roster.classes.rejected] == [
        "the school 'org-nowhere' is not a school in this import or in Préau.",
        "the school 'org-bad' was refused (orgs.csv line 3), so this row was not imported either.",
    ]
    assert [user.source_id for user in roster.users.records] == ["u1"]
    assert [row.reason for row in roster.users.rejected] == [
        "none of the orgs 'org-x' of this user is a school in this import or in Préau.",
        "the user belongs to no org: fill in orgSourcedIds (or their roles in roles.csv) with "
        "their school's sourcedId.",
        "the role 'wizard' is not a OneRoster role; use student, teacher, parent, guardian, "
        "administrator or aide.",
    ]
    assert [e.source_id for e in roster.enrollments.records] == ["e1", "e2"]
    assert reasons(roster.enrollments.rejected) == [
        (
            "enrollments.csv",
            4,
            "the class 'c3' was refused (classes.csv line 4), so this enrolment was not "
            "imported either.",
        ),
        (
            "enrollments.csv",
            5,
            "the user 'u4' was refused (users.csv line 5), so this enrolment was not imported "
            "either.",
        ),
        ("enrollments.csv", 6, "the class 'c-none' is not in this import or in Préau."),
        ("enrollments.csv", 7, "the user 'u-none' is not in this import or in Préau."),
    ]


def test_school_year_of_follows_parents_and_survives_cycles() -> None:
    sessions = {
        "y": SessionRecord(2, "y", False, "schoolyear"),
        "s": SessionRecord(3, "s", False, "semester", parent_source_id="y"),
        "t": SessionRecord(4, "t", False, "term", parent_source_id="s"),
        "a": SessionRecord(5, "a", False, "term", parent_source_id="b"),
        "b": SessionRecord(6, "b", False, "term", parent_source_id="a"),
    }
    assert school_year_of(("t",), sessions) == "y"
    assert school_year_of(("unknown", "s"), sessions) == "y"
    assert school_year_of(("a",), sessions) is None
    assert school_year_of((), sessions) is None


def test_parent_links_join_a_parent_and_a_pupil_only() -> None:
    assert parent_link(Profile.PARENT, Profile.PUPIL) == (True, True)
    assert parent_link(Profile.PUPIL, Profile.PARENT) == (True, False)
    assert parent_link(Profile.TEACHER, Profile.PUPIL) == (False, False)
    assert parent_link(Profile.PARENT, Profile.PARENT) == (False, False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (14, "[users.csv] [14] «the [classe] 'c1' is not in this import or in Préau.»"),
        (0, "[users.csv] «the [classe] 'c1' is not in this import or in Préau.»"),
    ],
)
def test_describe_translates_the_template_the_prefix_and_the_kind(line: int, expected: str) -> None:
    french = {
        "{file} line {line}: {reason}": "[{file}] [{line}] «{reason}»",
        "{file}: {reason}": "[{file}] «{reason}»",
        "class": "[classe]",
    }
    row = reject(
        "users.csv",
        line,
        "the {kind} '{value}' is not in this import or in Préau.",
        kind=KIND_CLASS,
        value="c1",
    )
    assert row.describe(lambda message: french.get(message, message)) == expected
    assert row.reason == "the class 'c1' is not in this import or in Préau."


def test_file_modes_are_read_case_insensitively() -> None:
    roster = parse_roster({"manifest.csv": manifest(orgs="BULK"), "orgs.csv": ORGS.encode()})
    assert roster.orgs.mode is FileMode.BULK
