"""Import a OneRoster CSV roster (a folder, a .zip, or the bytes of an uploaded zip) into the
directory: schools, school years, groups, people, parent links and enrolments.

Each file is applied in its own transaction, in dependency order; a file the database refuses
is rolled back whole and the report says so. Existing records are found by ``sourcedId`` and
compared value by value, so importing the same data twice changes nothing.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.adapters.sql.schema import (
    enrolments,
    groups,
    parent_links,
    people,
    roster_imports,
    school_years,
    schools,
)
from preau.domain.people import (
    EnrolmentRole,
    InvalidInput,
    Profile,
    check_username,
    username_base,
)
from preau.domain.roster.checks import Known, check_references, referenced_schools
from preau.domain.roster.parse import parse_roster
from preau.domain.roster.reasons import KIND_CLASS, KIND_SCHOOL, KIND_USER, N_, RejectedRow, reject
from preau.domain.roster.records import (
    ROLES,
    ClassRecord,
    EnrollmentRecord,
    FileMode,
    FileStatus,
    ParsedFile,
    ParsedRoster,
    SessionRecord,
    UserRecord,
)
from preau.domain.roster.report import FileReport, RosterReport
from preau.domain.roster.rules import parent_link, school_year_of

Progress = Callable[[str, int, int], None]

#: Rows per statement batch: large enough to amortise round trips, small enough for progress.
CHUNK = 5000
#: Values per ``IN (…)`` look-up.
LOOKUP_CHUNK = 1000
#: Rejected rows kept in ``roster_imports.rejected`` (the returned report keeps them all).
STORED_REJECTED_LIMIT = 10_000
#: An upload larger than this once unzipped is refused (a zip bomb, or not a roster).
MAX_UNZIPPED_BYTES = 1 << 30

_ROLLED_BACK = N_(
    "the database refused this file ({error}), so nothing from it was saved. The other files "
    "were imported as reported; fix the problem and import again."
)


# ---------------------------------------------------------------------------------------------
# Reading the upload


def read_roster_source(source: Path | bytes) -> tuple[dict[str, bytes], RejectedRow | None]:
    """The CSV files of a folder, a .zip file or zip bytes, by file name (blocking I/O)."""
    name = "upload.zip" if isinstance(source, bytes) else source.name
    try:
        if isinstance(source, Path) and source.is_dir():
            found = sorted(source.rglob("*.csv"), key=lambda path: (len(path.parts), str(path)))
            files: dict[str, bytes] = {}
            for path in found:
                files.setdefault(path.name, path.read_bytes())
            return files, None
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        return {}, reject(
            name, 0, N_("there is no such folder or file; check the path and try again.")
        )
    except (zipfile.BadZipFile, OSError):
        return {}, reject(
            name,
            0,
            N_(
                "this is not a zip file or a folder. Upload the OneRoster export as one .zip "
                "file holding manifest.csv and the other CSV files."
            ),
        )
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.lower().endswith(".csv")
            and not Path(info.filename).name.startswith("._")  # macOS resource forks
        ]
        if sum(info.file_size for info in members) > MAX_UNZIPPED_BYTES:
            return {}, reject(
                name,
                0,
                N_("the zip file holds more than 1 GB of CSV once unzipped; it was not read."),
            )
        members.sort(key=lambda info: (info.filename.count("/"), info.filename))
        files = {}
        try:
            for info in members:
                files.setdefault(Path(info.filename).name, archive.read(info))
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as error:
            return {}, reject(
                name,
                0,
                N_("the zip file is damaged or encrypted ({error}); it was not read."),
                error=error,
            )
    return files, None


# ---------------------------------------------------------------------------------------------
# What is already in the database


class _School(NamedTuple):
    id: int
    uai: str
    name: str
    source_id: str | None
    active: bool


class _Year(NamedTuple):
    id: int
    school_id: int
    name: str
    starts_on: date
    ends_on: date
    source_id: str | None


class _Group(NamedTuple):
    id: int
    school_id: int
    kind: str
    name: str
    level: str | None
    subject: str | None
    school_year_id: int | None
    active: bool
    source_id: str | None


class _Person(NamedTuple):
    id: int
    school_id: int
    profile: str
    username: str
    given_name: str
    family_name: str
    email: str | None
    active: bool
    source_id: str | None


class _Enrolment(NamedTuple):
    id: int
    school_id: int
    group_id: int
    person_id: int
    role: str
    subject: str | None
    source_id: str | None


_SCHOOL_COLUMNS = (
    schools.c.id,
    schools.c.uai,
    schools.c.name,
    schools.c.source_id,
    schools.c.active,
)
_YEAR_COLUMNS = (
    school_years.c.id,
    school_years.c.school_id,
    school_years.c.name,
    school_years.c.starts_on,
    school_years.c.ends_on,
    school_years.c.source_id,
)
_GROUP_COLUMNS = (
    groups.c.id,
    groups.c.school_id,
    groups.c.kind,
    groups.c.name,
    groups.c.level,
    groups.c.subject,
    groups.c.school_year_id,
    groups.c.active,
    groups.c.source_id,
)
_PERSON_COLUMNS = (
    people.c.id,
    people.c.school_id,
    people.c.profile,
    people.c.username,
    people.c.given_name,
    people.c.family_name,
    people.c.email,
    people.c.active,
    people.c.source_id,
)
_ENROLMENT_COLUMNS = (
    enrolments.c.id,
    enrolments.c.school_id,
    enrolments.c.group_id,
    enrolments.c.person_id,
    enrolments.c.role,
    enrolments.c.subject,
    enrolments.c.source_id,
)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Directory:
    """The records of the schools an import touches, indexed by sourcedId, kept in step with
    what each committed file wrote."""

    def __init__(self) -> None:
        self.schools_by_source: dict[str, _School] = {}
        self.schools_by_uai: dict[str, _School] = {}
        self.years: dict[tuple[int, str], _Year] = {}
        self.groups: dict[tuple[int, str], _Group] = {}
        self.groups_by_source: dict[str, _Group] = {}
        self.people: dict[tuple[int, str], _Person] = {}
        self.people_by_source: dict[str, _Person] = {}
        self.people_by_id: dict[int, _Person] = {}
        self.enrolments: dict[tuple[int, str], _Enrolment] = {}
        self.enrolments_by_source: dict[str, _Enrolment] = {}
        self.enrolments_by_triple: dict[tuple[int, int, str], _Enrolment] = {}
        self.links: set[tuple[int, int]] = set()
        self.year_use: dict[int, int] = {}  # school_year id -> groups using it

    def add_school(self, school: _School) -> None:
        for old in [s for s in self.schools_by_uai.values() if s.id == school.id]:
            self.schools_by_uai.pop(old.uai, None)
            if old.source_id:
                self.schools_by_source.pop(old.source_id, None)
        self.schools_by_uai[school.uai] = school
        if school.source_id:
            self.schools_by_source[school.source_id] = school

    def add_year(self, year: _Year) -> None:
        if year.source_id:
            self.years[(year.school_id, year.source_id)] = year

    def add_group(self, group: _Group, *, preferred: bool = True) -> None:
        if group.source_id:
            self.groups[(group.school_id, group.source_id)] = group
            if preferred or group.source_id not in self.groups_by_source:
                self.groups_by_source[group.source_id] = group

    def add_person(self, person: _Person, *, preferred: bool = True) -> None:
        self.people_by_id[person.id] = person
        if person.source_id:
            self.people[(person.school_id, person.source_id)] = person
            if preferred or person.source_id not in self.people_by_source:
                self.people_by_source[person.source_id] = person

    def add_enrolment(self, enrolment: _Enrolment) -> None:
        if enrolment.source_id:
            self.enrolments[(enrolment.school_id, enrolment.source_id)] = enrolment
            self.enrolments_by_source[enrolment.source_id] = enrolment
        self.enrolments_by_triple[(enrolment.group_id, enrolment.person_id, enrolment.role)] = (
            enrolment
        )

    def remove_enrolment(self, enrolment: _Enrolment) -> None:
        if enrolment.source_id:
            self.enrolments.pop((enrolment.school_id, enrolment.source_id), None)
            self.enrolments_by_source.pop(enrolment.source_id, None)
        self.enrolments_by_triple.pop(
            (enrolment.group_id, enrolment.person_id, enrolment.role), None
        )

    def person(self, school_id: int | None, source_id: str) -> _Person | None:
        if school_id is not None:
            person = self.people.get((school_id, source_id))
            if person is not None:
                return person
        return self.people_by_source.get(source_id)

    def group(self, school_id: int | None, source_id: str) -> _Group | None:
        if school_id is not None:
            group = self.groups.get((school_id, source_id))
            if group is not None:
                return group
        return self.groups_by_source.get(source_id)

    async def load_schools(self, connection: AsyncConnection) -> None:
        for row in await connection.execute(sa.select(*_SCHOOL_COLUMNS)):
            self.add_school(_School._make(row))

    async def load(self, connection: AsyncConnection, school_ids: Sequence[int]) -> None:
        """Every tenant record of these schools (each query filters on ``school_id``)."""
        if not school_ids:
            return
        ids = sorted(school_ids)
        for year_row in await connection.execute(
            sa.select(*_YEAR_COLUMNS).where(school_years.c.school_id.in_(ids))
        ):
            self.add_year(_Year._make(year_row))
        for group_row in await connection.execute(
            sa.select(*_GROUP_COLUMNS).where(groups.c.school_id.in_(ids))
        ):
            group = _Group._make(group_row)
            self.add_group(group, preferred=False)
            if group.school_year_id is not None:
                self.year_use[group.school_year_id] = self.year_use.get(group.school_year_id, 0) + 1
        for person_row in await connection.execute(
            sa.select(*_PERSON_COLUMNS).where(people.c.school_id.in_(ids))
        ):
            self.add_person(_Person._make(person_row), preferred=False)
        for enrolment_row in await connection.execute(
            sa.select(*_ENROLMENT_COLUMNS).where(enrolments.c.school_id.in_(ids))
        ):
            self.add_enrolment(_Enrolment._make(enrolment_row))
        for row in await connection.execute(
            sa.select(parent_links.c.parent_id, parent_links.c.child_id).where(
                parent_links.c.school_id.in_(ids)
            )
        ):
            self.links.add((row.parent_id, row.child_id))


# ---------------------------------------------------------------------------------------------
# Writing


class _Writes:
    """The statements one file needs, counted for the progress bar."""

    def __init__(self) -> None:
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # each with "row_id"
        self.deletes: list[int] = []

    @property
    def total(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deletes)


class _Stage:
    def __init__(self, name: str, total: int, progress: Progress | None) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self.progress = progress
        if progress is not None:
            progress(name, 0, total)

    def advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.name, min(self.done, self.total), self.total)


async def _update_many(
    connection: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]], stage: _Stage
) -> None:
    """``UPDATE … WHERE id = :row_id`` for many rows; rows with the same keys go together."""
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_keys.setdefault(tuple(sorted(row)), []).append(row)
    for keys, same in by_keys.items():
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({key: sa.bindparam(key) for key in keys if key != "row_id"})
        )
        for chunk in _chunks(same, CHUNK):
            await connection.execute(statement, list(chunk))
            stage.advance(len(chunk))


def _refresh(
    by_id: Mapping[int, Any],
    updates: list[dict[str, Any]],
    inserted: Iterable[Any],
    make: Callable[[Any], Any],
    add: Callable[[Any], None],
) -> None:
    """After a commit: bring the import's in-memory copy of a table up to date with the rows
    it updated (by ``row_id``) and inserted. Only columns the cached record has are copied."""
    for update in updates:
        old = by_id[update["row_id"]]
        add(old._replace(**{k: v for k, v in update.items() if k in old._fields}))
    for row in inserted:
        add(make(row))


async def _insert_many(
    connection: AsyncConnection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    stage: _Stage,
    returning: Sequence[sa.ColumnElement[Any]] = (),
) -> list[sa.Row[Any]]:
    returned: list[sa.Row[Any]] = []
    for chunk in _chunks(rows, CHUNK):
        if returning:
            result = await connection.execute(table.insert().returning(*returning), list(chunk))
            returned.extend(result.all())
        else:
            await connection.execute(table.insert(), list(chunk))
        stage.advance(len(chunk))
    return returned


async def _delete_many(
    connection: AsyncConnection, table: sa.Table, ids: Sequence[int], stage: _Stage
) -> None:
    for chunk in _chunks(ids, LOOKUP_CHUNK):
        await connection.execute(table.delete().where(table.c.id.in_(list(chunk))))
        stage.advance(len(chunk))


async def _taken_usernames(connection: AsyncConnection, candidates: Iterable[str]) -> set[str]:
    """Which of these usernames are already used. Usernames are unique across all schools,
    so this is the one look-up that does not filter on ``school_id``."""
    taken: set[str] = set()
    for chunk in _chunks(sorted(set(candidates)), LOOKUP_CHUNK):
        result = await connection.execute(
            sa.select(people.c.username).where(people.c.username.in_(list(chunk)))
        )
        taken.update(result.scalars())
    return taken


async def allocate_usernames(
    connection: AsyncConnection, wanted: Sequence[tuple[str | None, str]]
) -> list[str]:
    """A free username for each (username from the file, base from the names).

    The file's username is used when it is valid and free; otherwise ``base``, ``base2``,
    ``base3``… as for people created by hand. A few batched look-ups per round, not one per
    person.
    """
    assigned: list[str | None] = [None] * len(wanted)
    used: set[str] = set()
    requested: dict[int, str] = {}
    for index, (username, _) in enumerate(wanted):
        if username:
            try:
                requested[index] = check_username(username)
            except InvalidInput:
                continue
    taken = await _taken_usernames(connection, requested.values())
    for index, username in requested.items():
        if username not in taken and username not in used:
            assigned[index] = username
            used.add(username)
    pending = [index for index, username in enumerate(assigned) if username is None]
    next_number: dict[str, int] = {}
    while pending:
        candidates: dict[int, str] = {}
        for index in pending:
            base = wanted[index][1]
            number = next_number.get(base, 1)
            candidate = base if number == 1 else f"{base}{number}"
            while candidate in used:
                number += 1
                candidate = f"{base}{number}"
            next_number[base] = number + 1
            used.add(candidate)
            candidates[index] = candidate
        taken = await _taken_usernames(connection, candidates.values())
        pending = []
        for index, candidate in candidates.items():
            if candidate in taken:
                pending.append(index)  # ``used`` keeps it, so the next round skips it
            else:
                assigned[index] = candidate
    return [username for username in assigned if username is not None]


# ---------------------------------------------------------------------------------------------
# The import


class _Importer:
    def __init__(
        self,
        engine: AsyncEngine,
        roster: ParsedRoster,
        report: RosterReport,
        *,
        now: datetime,
        restrict_to_school_id: int | None,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.roster = roster
        self.report = report
        self.now = now
        self.restrict = restrict_to_school_id
        self.progress = progress
        self.directory = _Directory()
        # sourcedIds written by files the database refused, to explain later refusals.
        self.rolled_back: dict[str, set[str]] = {}
        # (kind, sourcedId) -> (file, line) of rows refused while applying, for the same reason.
        self.refused: dict[tuple[str, str], tuple[str, int]] = {}
        self.sessions = {
            session.source_id: session for session in roster.sessions.records if not session.deleted
        }

    # -- helpers -------------------------------------------------------------------------

    def _file_report(self, parsed: ParsedFile[Any], entity: str) -> FileReport:
        report = FileReport(
            parsed.file,
            entity,
            parsed.mode,
            parsed.status,
            rows=parsed.rows,
            rejected=list(parsed.rejected),
            problem=parsed.problem,
        )
        self.report.files.append(report)
        return report

    def _restricted_out(self, school_id: int) -> bool:
        return self.restrict is not None and school_id != self.restrict

    def _school_id(self, source_id: str | None) -> int | None:
        school = self.directory.schools_by_source.get(source_id or "")
        return None if school is None else school.id

    def _refuse(self, report: FileReport, kind: str, source_id: str, reason: RejectedRow) -> None:
        report.rejected.append(reason)
        self.refused.setdefault((kind, source_id), (reason.file, reason.line))

    def _unknown(self, file: str, line: int, kind: str, source_id: str) -> RejectedRow:
        refused = self.refused.get((kind, source_id))
        if refused is not None:
            return reject(
                file,
                line,
                N_(
                    "the {kind} '{value}' was refused ({failed} line {failed_line}), so this "
                    "row was not imported either."
                ),
                kind=kind,
                value=source_id,
                failed=refused[0],
                failed_line=refused[1],
            )
        for failed_file, source_ids in self.rolled_back.items():
            if source_id in source_ids:
                return reject(
                    file,
                    line,
                    N_(
                        "the {kind} '{value}' was not saved because {failed} was rolled back, "
                        "so this row was not imported either."
                    ),
                    kind=kind,
                    value=source_id,
                    failed=failed_file,
                )
        return reject(
            file,
            line,
            N_("the {kind} '{value}' is not in this import or in Préau."),
            kind=kind,
            value=source_id,
        )

    def _outside(self, file: str, line: int) -> RejectedRow:
        return reject(
            file,
            line,
            N_(
                "this upload is limited to your school, and this row belongs to another "
                "school; an operator can import it."
            ),
        )

    async def _apply(
        self,
        report: FileReport,
        writes: _Writes,
        write: Callable[[AsyncConnection, _Stage], Awaitable[Callable[[], None]]],
        source_ids: Iterable[str],
        *also: FileReport,
    ) -> bool:
        """Run one file's writes in one transaction; on a database error, roll it back whole,
        zero its counts and say so."""
        stage = _Stage(report.file, writes.total, self.progress)
        try:
            async with self.engine.begin() as connection:
                after_commit = await write(connection, stage)
        except (SQLAlchemyError, OSError) as error:
            message = str(getattr(error, "orig", None) or error).strip().splitlines()
            problem = reject(report.file, 0, _ROLLED_BACK, error=(message or ["?"])[0][:300])
            for failed in (report, *also):
                failed.status = FileStatus.ROLLED_BACK
                failed.problem = problem
                failed.created = failed.updated = failed.unchanged = 0
                failed.deactivated = failed.deleted = 0
            self.rolled_back[report.file] = set(source_ids)
            return False
        after_commit()
        return True

    # -- the steps -----------------------------------------------------------------------

    async def run(self) -> None:
        async with self.engine.connect() as connection:
            await self.directory.load_schools(connection)
            school_ids = {
                school.id
                for source_id in referenced_schools(self.roster)
                if (school := self.directory.schools_by_source.get(source_id)) is not None
            }
            if self.restrict is not None:
                school_ids = {self.restrict}
            else:
                school_ids |= await self._schools_of_deleted_rows(connection)
            await self.directory.load(connection, sorted(school_ids))
        check_references(
            self.roster,
            Known(
                schools=frozenset(self.directory.schools_by_source),
                classes=frozenset(self.directory.groups_by_source),
                users=frozenset(self.directory.people_by_source),
            ),
        )
        await self._schools()
        await self._school_years()
        await self._groups()
        await self._people()
        await self._enrolments()
        for note in self.roster.other_files:
            self.report.files.append(
                FileReport(note.file, "", FileMode.ABSENT, FileStatus.NOT_READ, problem=note)
            )

    async def _schools_of_deleted_rows(self, connection: AsyncConnection) -> set[int]:
        """A delta row marked tobedeleted may carry only its sourcedId: find its school."""
        wanted: list[tuple[sa.Table, list[str]]] = [
            (groups, [r.source_id for r in self.roster.classes.records if r.deleted]),
            (people, [r.source_id for r in self.roster.users.records if r.deleted]),
            (enrolments, [r.source_id for r in self.roster.enrollments.records if r.deleted]),
        ]
        found: set[int] = set()
        for table, source_ids in wanted:
            for chunk in _chunks(source_ids, LOOKUP_CHUNK):
                result = await connection.execute(
                    sa.select(table.c.school_id)
                    .distinct()
                    .where(table.c.source_id.in_(list(chunk)))
                )
                found.update(result.scalars())
        return found

    async def _schools(self) -> None:
        parsed = self.roster.orgs
        report = self._file_report(parsed, "schools")
        if not parsed.readable:
            return
        writes = _Writes()
        directory = self.directory
        for org in parsed.records:
            existing = directory.schools_by_source.get(org.source_id)
            if org.deleted:
                if existing is None:
                    report.ignored += 1
                elif self._restricted_out(existing.id):
                    report.rejected.append(self._outside(parsed.file, org.line))
                elif existing.active:
                    writes.updates.append({"row_id": existing.id, "active": False})
                    report.deactivated += 1
                else:
                    report.unchanged += 1
                continue
            if org.org_type != "school" or org.uai is None:
                report.ignored += 1  # districts and other orgs are not stored
                continue
            holder = directory.schools_by_uai.get(org.uai)
            if holder is not None and (existing is None or holder.id != existing.id):
                if existing is None and holder.source_id is None:
                    existing = holder  # a school created by hand: this import adopts it
                else:
                    self._refuse(
                        report,
                        KIND_SCHOOL,
                        org.source_id,
                        reject(
                            parsed.file,
                            org.line,
                            N_(
                                "the UAI {uai} already belongs to the school '{name}', whose "
                                "sourcedId is '{other}'."
                            ),
                            uai=org.uai,
                            name=holder.name,
                            other=holder.source_id or "",
                        ),
                    )
                    continue
            if self.restrict is not None:
                if existing is None:
                    self._refuse(
                        report,
                        KIND_SCHOOL,
                        org.source_id,
                        reject(
                            parsed.file,
                            org.line,
                            N_(
                                "this upload is limited to your school, so it cannot create "
                                "the new school '{value}'; an operator can."
                            ),
                            value=org.source_id,
                        ),
                    )
                    continue
                if existing.id != self.restrict:
                    self._refuse(
                        report, KIND_SCHOOL, org.source_id, self._outside(parsed.file, org.line)
                    )
                    continue
            if existing is None:
                writes.inserts.append(
                    {
                        "uai": org.uai,
                        "name": org.name,
                        "source_id": org.source_id,
                        "active": True,
                        "created_at": self.now,
                    }
                )
                report.created += 1
            elif (existing.uai, existing.name, existing.source_id, existing.active) != (
                org.uai,
                org.name,
                org.source_id,
                True,
            ):
                writes.updates.append(
                    {
                        "row_id": existing.id,
                        "uai": org.uai,
                        "name": org.name,
                        "source_id": org.source_id,
                        "active": True,
                    }
                )
                report.updated += 1
            else:
                report.unchanged += 1

        async def write(connection: AsyncConnection, stage: _Stage) -> Callable[[], None]:
            await _update_many(connection, schools, writes.updates, stage)
            inserted = await _insert_many(
                connection, schools, writes.inserts, stage, returning=_SCHOOL_COLUMNS
            )

            def after_commit() -> None:
                by_id = {s.id: s for s in directory.schools_by_uai.values()}
                _refresh(by_id, writes.updates, inserted, _School._make, directory.add_school)

            return after_commit

        await self._apply(report, writes, write, (org.source_id for org in parsed.records))

    def _schools_of_year(self, session: SessionRecord) -> tuple[set[int], RejectedRow | None]:
        file = self.roster.sessions.file
        if session.org_source_id:
            school_id = self._school_id(session.org_source_id)
            if school_id is None:
                return set(), self._unknown(file, session.line, KIND_SCHOOL, session.org_source_id)
            if self._restricted_out(school_id):
                return set(), self._outside(file, session.line)
            return {school_id}, None
        if self.restrict is not None:
            return {self.restrict}, None
        used_by: set[int] = set()
        for group in self.roster.classes.records:
            if group.deleted:
                continue
            if school_year_of(group.term_source_ids, self.sessions) == session.source_id:
                school_id = self._school_id(group.school_source_id)
                if school_id is not None:
                    used_by.add(school_id)
        if not used_by:
            for org in self.roster.orgs.records:
                school_id = self._school_id(org.source_id) if org.org_type == "school" else None
                if school_id is not None and not org.deleted:
                    used_by.add(school_id)
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

    async def _school_years(self) -> None:
        parsed = self.roster.sessions
        report = self._file_report(parsed, "school years")
        if not parsed.readable:
            return
        writes = _Writes()
        directory = self.directory
        deleted_years: list[_Year] = []
        for session in parsed.records:
            if session.deleted:
                matches = [
                    year
                    for (school_id, source_id), year in directory.years.items()
                    if source_id == session.source_id and not self._restricted_out(school_id)
                ]
                if not matches:
                    report.ignored += 1
                for year in matches:
                    in_use = directory.year_use.get(year.id, 0)
                    if in_use:
                        report.rejected.append(
                            reject(
                                parsed.file,
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
                        deleted_years.append(year)
                        report.deleted += 1
                continue
            if not session.is_school_year:
                report.ignored += 1  # terms and grading periods are not stored
                continue
            school_ids, problem = self._schools_of_year(session)
            if problem is not None:
                report.rejected.append(problem)
                continue
            assert session.starts_on is not None
            assert session.ends_on is not None
            for school_id in sorted(school_ids):
                existing = directory.years.get((school_id, session.source_id))
                values = {
                    "name": session.title,
                    "starts_on": session.starts_on,
                    "ends_on": session.ends_on,
                }
                if existing is None:
                    writes.inserts.append(
                        {"school_id": school_id, "source_id": session.source_id, **values}
                    )
                    report.created += 1
                elif (existing.name, existing.starts_on, existing.ends_on) != tuple(
                    values.values()
                ):
                    writes.updates.append({"row_id": existing.id, **values})
                    report.updated += 1
                else:
                    report.unchanged += 1
        report.rejected.sort(key=lambda row: row.line)

        async def write(connection: AsyncConnection, stage: _Stage) -> Callable[[], None]:
            await _delete_many(connection, school_years, writes.deletes, stage)
            await _update_many(connection, school_years, writes.updates, stage)
            inserted = await _insert_many(
                connection, school_years, writes.inserts, stage, returning=_YEAR_COLUMNS
            )

            def after_commit() -> None:
                for year in deleted_years:
                    directory.years.pop((year.school_id, year.source_id or ""), None)
                by_id = {year.id: year for year in directory.years.values()}
                _refresh(by_id, writes.updates, inserted, _Year._make, directory.add_year)

            return after_commit

        await self._apply(report, writes, write, (s.source_id for s in parsed.records))

    def _school_year_id(self, school_id: int, group: ClassRecord) -> tuple[bool, int | None]:
        """(known, id) of the school year a class is taught in, in its school."""
        year_source_id = school_year_of(group.term_source_ids, self.sessions)
        if year_source_id is not None:
            year = self.directory.years.get((school_id, year_source_id))
            if year is not None:
                return True, year.id
        for term in group.term_source_ids:  # a school year known from an earlier import
            year = self.directory.years.get((school_id, term))
            if year is not None:
                return True, year.id
        return False, None

    async def _groups(self) -> None:
        parsed = self.roster.classes
        report = self._file_report(parsed, "groups")
        if not parsed.readable:
            return
        writes = _Writes()
        directory = self.directory
        for group in parsed.records:
            school_id = self._school_id(group.school_source_id)
            if group.deleted:
                existing = directory.group(school_id, group.source_id)
                if existing is None:
                    report.ignored += 1
                elif self._restricted_out(existing.school_id):
                    report.rejected.append(self._outside(parsed.file, group.line))
                elif existing.active:
                    writes.updates.append({"row_id": existing.id, "active": False})
                    report.deactivated += 1
                else:
                    report.unchanged += 1
                continue
            if school_id is None:
                self._refuse(
                    report,
                    KIND_CLASS,
                    group.source_id,
                    self._unknown(parsed.file, group.line, KIND_SCHOOL, group.school_source_id),
                )
                continue
            if self._restricted_out(school_id):
                self._refuse(
                    report, KIND_CLASS, group.source_id, self._outside(parsed.file, group.line)
                )
                continue
            existing = directory.groups.get((school_id, group.source_id))
            known, year_id = self._school_year_id(school_id, group)
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
            if existing is None:
                writes.inserts.append(
                    {"school_id": school_id, "source_id": group.source_id, **values}
                )
                report.created += 1
            elif (
                existing.kind,
                existing.name,
                existing.level,
                existing.subject,
                existing.school_year_id,
                existing.active,
            ) != tuple(values.values()):
                writes.updates.append({"row_id": existing.id, **values})
                report.updated += 1
            else:
                report.unchanged += 1
        report.rejected.sort(key=lambda row: row.line)

        async def write(connection: AsyncConnection, stage: _Stage) -> Callable[[], None]:
            await _update_many(connection, groups, writes.updates, stage)
            inserted = await _insert_many(
                connection, groups, writes.inserts, stage, returning=_GROUP_COLUMNS
            )

            def after_commit() -> None:
                by_id = {g.id: g for g in directory.groups.values()}
                _refresh(by_id, writes.updates, inserted, _Group._make, directory.add_group)

            return after_commit

        await self._apply(report, writes, write, (g.source_id for g in parsed.records))

    def _school_of_user(self, user: UserRecord) -> tuple[int | None, RejectedRow | None]:
        file = self.roster.users.file
        candidates = [
            school_id
            for org in user.org_source_ids
            if (school_id := self._school_id(org)) is not None
        ]
        if self.restrict is not None:
            if self.restrict in candidates:
                return self.restrict, None
            if candidates:
                return None, self._outside(file, user.line)
        if not candidates:
            orgs = user.org_source_ids or ("",)
            return None, self._unknown(file, user.line, KIND_SCHOOL, orgs[0])
        return candidates[0], None

    async def _people(self) -> None:
        parsed = self.roster.users
        report = self._file_report(parsed, "people")
        links_report = FileReport(
            parsed.file,
            "parent links",
            parsed.mode,
            parsed.status,
            rows=sum(len(user.agent_source_ids) for user in parsed.records),
        )
        self.report.files.append(links_report)
        roles_report = self._file_report(self.roster.roles, "roles")
        if not parsed.readable:
            if roles_report.status is FileStatus.APPLIED:
                roles_report.status = parsed.status
                roles_report.problem = reject(
                    ROLES, 0, N_("users.csv was not read, so roles.csv was not used either.")
                )
            return
        directory = self.directory
        writes = _Writes()
        new_people: list[tuple[UserRecord, int]] = []
        accepted: list[tuple[UserRecord, int | None]] = []  # (row, person id when known)
        deactivated_ids: set[int] = set()
        for user in parsed.records:
            if user.deleted:
                school_ids = [self._school_id(org) for org in user.org_source_ids]
                existing = next(
                    (
                        person
                        for school_id in school_ids
                        if school_id is not None
                        and (person := directory.people.get((school_id, user.source_id)))
                    ),
                    directory.people_by_source.get(user.source_id),
                )
                if existing is None:
                    report.ignored += 1
                elif self._restricted_out(existing.school_id):
                    report.rejected.append(self._outside(parsed.file, user.line))
                else:
                    deactivated_ids.add(existing.id)
                    if existing.active:
                        writes.updates.append(
                            {"row_id": existing.id, "active": False, "updated_at": self.now}
                        )
                        report.deactivated += 1
                    else:
                        report.unchanged += 1
                continue
            school_id, problem = self._school_of_user(user)
            if problem is not None:
                self._refuse(report, KIND_USER, user.source_id, problem)
                continue
            assert school_id is not None
            assert user.profile is not None
            existing = directory.people.get((school_id, user.source_id))
            values = {
                "profile": str(user.profile),
                "given_name": user.given_name,
                "family_name": user.family_name,
                "email": user.email,
                "active": user.enabled,
            }
            if existing is None:
                new_people.append((user, school_id))
                report.created += 1
                accepted.append((user, None))
                continue
            accepted.append((user, existing.id))
            if (
                existing.profile,
                existing.given_name,
                existing.family_name,
                existing.email,
                existing.active,
            ) != tuple(values.values()):
                writes.updates.append({"row_id": existing.id, **values, "updated_at": self.now})
                report.updated += 1
            else:
                report.unchanged += 1
        report.rejected.sort(key=lambda row: row.line)
        # The inserts are counted for the progress bar; their usernames are found in the
        # transaction, just before they are written.
        writes.inserts = [{} for _ in new_people]

        async def write(connection: AsyncConnection, stage: _Stage) -> Callable[[], None]:
            await _update_many(connection, people, writes.updates, stage)
            usernames = await allocate_usernames(
                connection,
                [
                    (user.username, username_base(user.given_name, user.family_name))
                    for user, _ in new_people
                ],
            )
            rows = [
                {
                    "school_id": school_id,
                    "profile": str(user.profile),
                    "username": username,
                    "given_name": user.given_name,
                    "family_name": user.family_name,
                    "email": user.email,
                    "active": user.enabled,
                    "source_id": user.source_id,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
                for (user, school_id), username in zip(new_people, usernames, strict=True)
            ]
            inserted = [
                _Person._make(row)
                for row in await _insert_many(
                    connection, people, rows, stage, returning=_PERSON_COLUMNS
                )
            ]
            # Parent links need everyone's id, so they are worked out once people are written.
            view = _PeopleView(directory, writes.updates, inserted)
            link_writes, link_rejected, link_counts = self._plan_links(
                view, accepted, deactivated_ids
            )
            links_stage = _Stage(f"{parsed.file} (parent links)", link_writes.total, self.progress)
            await self._write_links(connection, link_writes, links_stage)

            def after_commit() -> None:
                _refresh(
                    directory.people_by_id, writes.updates, [], _Person._make, directory.add_person
                )
                for person in inserted:
                    directory.add_person(person)
                links_report.rejected.extend(link_rejected)
                (
                    links_report.created,
                    links_report.unchanged,
                    links_report.deleted,
                ) = link_counts
                for parent_id, child_id, _ in link_writes.inserts_tuples:
                    directory.links.add((parent_id, child_id))
                for pair in link_writes.deleted_pairs:
                    directory.links.discard(pair)

            return after_commit

        await self._apply(
            report,
            writes,
            write,
            (user.source_id for user in parsed.records),
            links_report,
            roles_report,
        )

    def _plan_links(
        self,
        view: _PeopleView,
        accepted: Sequence[tuple[UserRecord, int | None]],
        deactivated_ids: set[int],
    ) -> tuple[_LinkWrites, list[RejectedRow], tuple[int, int, int]]:
        """Parent links as the file gives them (a parent's agents are their children, a
        pupil's agents their parents). In bulk, links between two people of the file that the
        file no longer gives are deleted; in delta, only the links of deleted people."""
        file = self.roster.users.file
        rejected: list[RejectedRow] = []
        wanted: dict[tuple[int, int], int] = {}
        in_file: set[int] = set()
        for user, person_id in accepted:
            person = view.person(person_id, user)
            if person is None:
                continue
            in_file.add(person.id)
            for agent_source_id in user.agent_source_ids:
                agent = view.lookup(person.school_id, agent_source_id)
                if agent is None:
                    refused_line = self.roster.users.refused.get(agent_source_id)
                    if refused_line is not None:
                        rejected.append(
                            reject(
                                file,
                                user.line,
                                N_(
                                    "the agent '{agent}' was refused (line {agent_line}), so no "
                                    "parent link was made; the user itself was imported."
                                ),
                                agent=agent_source_id,
                                agent_line=refused_line,
                            )
                        )
                    else:
                        rejected.append(
                            reject(
                                file,
                                user.line,
                                N_(
                                    "the agent '{agent}' is not a user in this import or in "
                                    "Préau, so no parent link was made; the user itself was "
                                    "imported."
                                ),
                                agent=agent_source_id,
                            )
                        )
                    continue
                is_link, row_is_parent = parent_link(
                    Profile(person.profile), Profile(agent.profile)
                )
                if not is_link:
                    rejected.append(
                        reject(
                            file,
                            user.line,
                            N_(
                                "the agent '{agent}' cannot be linked: a parent link joins a "
                                "parent or guardian to a pupil. The user itself was imported."
                            ),
                            agent=agent_source_id,
                        )
                    )
                    continue
                parent, child = (person, agent) if row_is_parent else (agent, person)
                wanted[(parent.id, child.id)] = child.school_id
        links = view.directory.links
        writes = _LinkWrites()
        for pair, school_id in wanted.items():
            if pair not in links:
                writes.inserts_tuples.append((pair[0], pair[1], school_id))
        unchanged = len(wanted) - len(writes.inserts_tuples)
        if self.roster.users.mode is FileMode.BULK:
            stale = {
                pair
                for pair in links
                if pair[0] in in_file and pair[1] in in_file and pair not in wanted
            }
        else:
            stale = set()
        stale |= {
            pair for pair in links if pair[0] in deactivated_ids or pair[1] in deactivated_ids
        }
        writes.deleted_pairs = sorted(stale)
        rejected.sort(key=lambda row: row.line)
        return writes, rejected, (len(writes.inserts_tuples), unchanged, len(stale))

    async def _write_links(
        self, connection: AsyncConnection, writes: _LinkWrites, stage: _Stage
    ) -> None:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = insert(parent_links).on_conflict_do_nothing()
        rows = [
            {"parent_id": parent_id, "child_id": child_id, "school_id": school_id}
            for parent_id, child_id, school_id in writes.inserts_tuples
        ]
        for chunk in _chunks(rows, CHUNK):
            await connection.execute(statement, list(chunk))
            stage.advance(len(chunk))
        for chunk in _chunks(writes.deleted_pairs, LOOKUP_CHUNK):
            await connection.execute(
                parent_links.delete().where(
                    sa.tuple_(parent_links.c.parent_id, parent_links.c.child_id).in_(list(chunk))
                )
            )
            stage.advance(len(chunk))

    async def _enrolments(self) -> None:
        parsed = self.roster.enrollments
        report = self._file_report(parsed, "enrolments")
        if not parsed.readable:
            return
        directory = self.directory
        writes = _Writes()
        deleted: list[_Enrolment] = []
        file_source_ids = {record.source_id for record in parsed.records}
        for enrollment in parsed.records:
            outcome = self._plan_enrolment(enrollment, writes, deleted, file_source_ids)
            if isinstance(outcome, RejectedRow):
                report.rejected.append(outcome)
            else:
                setattr(report, outcome, getattr(report, outcome) + 1)
        report.rejected.sort(key=lambda row: row.line)

        async def write(connection: AsyncConnection, stage: _Stage) -> Callable[[], None]:
            await _delete_many(connection, enrolments, writes.deletes, stage)
            await _update_many(connection, enrolments, writes.updates, stage)
            await _insert_many(connection, enrolments, writes.inserts, stage)

            def after_commit() -> None:
                for enrolment in deleted:
                    directory.remove_enrolment(enrolment)

            return after_commit

        await self._apply(report, writes, write, file_source_ids)

    def _plan_enrolment(
        self,
        enrollment: EnrollmentRecord,
        writes: _Writes,
        deleted: list[_Enrolment],
        file_source_ids: set[str],
    ) -> str | RejectedRow:
        """Plan one enrolment row; returns the count it adds to, or why it was refused."""
        file = self.roster.enrollments.file
        directory = self.directory
        school_id = self._school_id(enrollment.school_source_id)
        group = directory.group(school_id, enrollment.class_source_id)
        if enrollment.deleted:
            existing = (
                directory.enrolments.get((group.school_id, enrollment.source_id))
                if group is not None
                else None
            ) or directory.enrolments_by_source.get(enrollment.source_id)
            if existing is None:
                return "ignored"
            if self._restricted_out(existing.school_id):
                return self._outside(file, enrollment.line)
            writes.deletes.append(existing.id)
            deleted.append(existing)
            return "deleted"
        if group is None:
            return self._unknown(file, enrollment.line, KIND_CLASS, enrollment.class_source_id)
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
        if self._restricted_out(group.school_id):
            return self._outside(file, enrollment.line)
        person = directory.person(group.school_id, enrollment.user_source_id)
        if person is None:
            return self._unknown(file, enrollment.line, KIND_USER, enrollment.user_source_id)
        role = str(enrollment.role)
        subject = group.subject if enrollment.role is EnrolmentRole.TEACHER else None
        existing = directory.enrolments.get((group.school_id, enrollment.source_id))
        holder = directory.enrolments_by_triple.get((group.id, person.id, role))
        if holder is not None and existing is not None and holder.id != existing.id:
            return reject(
                file,
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
        if existing is None and holder is not None:
            if holder.source_id is not None and holder.source_id in file_source_ids:
                return reject(
                    file,
                    enrollment.line,
                    N_(
                        "the user '{user}' is already enrolled in the class '{group}' as "
                        "{role} (enrolment '{other}')."
                    ),
                    user=enrollment.user_source_id,
                    group=enrollment.class_source_id,
                    role=enrollment.role,
                    other=holder.source_id,
                )
            existing = holder  # made by hand or under an older sourcedId: adopt it
        if existing is None:
            writes.inserts.append(
                {
                    "school_id": group.school_id,
                    "group_id": group.id,
                    "person_id": person.id,
                    "role": role,
                    "subject": subject,
                    "source_id": enrollment.source_id,
                }
            )
            return "created"
        if (
            existing.group_id,
            existing.person_id,
            existing.role,
            existing.subject,
            existing.source_id,
        ) == (group.id, person.id, role, subject, enrollment.source_id):
            return "unchanged"
        writes.updates.append(
            {
                "row_id": existing.id,
                "group_id": group.id,
                "person_id": person.id,
                "role": role,
                "subject": subject,
                "source_id": enrollment.source_id,
            }
        )
        return "updated"


class _LinkWrites:
    def __init__(self) -> None:
        self.inserts_tuples: list[tuple[int, int, int]] = []  # (parent, child, school)
        self.deleted_pairs: list[tuple[int, int]] = []

    @property
    def total(self) -> int:
        return len(self.inserts_tuples) + len(self.deleted_pairs)


class _PeopleView:
    """People as they stand inside the users.csv transaction (updates and inserts applied)."""

    def __init__(
        self,
        directory: _Directory,
        updates: Sequence[Mapping[str, Any]],
        inserted: Sequence[_Person],
    ) -> None:
        self.directory = directory
        self.changed: dict[int, _Person] = {}
        for update in updates:
            old = directory.people_by_id[update["row_id"]]
            fields = {k: v for k, v in update.items() if k not in ("row_id", "updated_at")}
            self.changed[old.id] = old._replace(**fields)
        self.inserted = {person.source_id: person for person in inserted}
        self.inserted_by_key = {(person.school_id, person.source_id): person for person in inserted}

    def fresh(self, person: _Person | None) -> _Person | None:
        if person is None:
            return None
        return self.changed.get(person.id, person)

    def person(self, person_id: int | None, user: UserRecord) -> _Person | None:
        if person_id is not None:
            return self.fresh(self.directory.people_by_id.get(person_id))
        return self.inserted.get(user.source_id)

    def lookup(self, school_id: int, source_id: str) -> _Person | None:
        """An agent: in the same school first, then anywhere; this file's people first."""
        for person in (
            self.inserted_by_key.get((school_id, source_id)),
            self.directory.people.get((school_id, source_id)),
            self.inserted.get(source_id),
            self.directory.people_by_source.get(source_id),
        ):
            if person is not None:
                return self.fresh(person)
        return None


# ---------------------------------------------------------------------------------------------
# Entry point


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
            await _Importer(
                engine,
                roster,
                report,
                now=now,
                restrict_to_school_id=restrict_to_school_id,
                progress=progress,
            ).run()
    report.seconds = time.perf_counter() - started
    await _store_report(engine, report)
    return report


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
