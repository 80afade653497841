"""One roster import in progress: the upload as parsed, what the database holds for the schools
it touches, what was refused or rolled back so far (to explain the rows that depend on it), and
how one file's writes are applied in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.actions.roster.stored import StoredDirectory
from preau.actions.roster.writes import Progress, Stage, Writes, write_rows
from preau.domain.roster.reasons import N_, RejectedRow, reject
from preau.domain.roster.records import FileStatus, ParsedFile, ParsedRoster
from preau.domain.roster.report import FileReport, RosterReport

_ROLLED_BACK = N_(
    "the database refused this file ({error}), so nothing from it was saved. The other files "
    "were imported as reported; fix the problem and import again."
)

#: Writes one file's statements on the transaction's connection; returns what to do once the
#: transaction is committed (bring the import's copy of the directory up to date).
FileWrite = Callable[[AsyncConnection, Stage], Awaitable[Callable[[], None]]]


class _Deactivatable(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def school_id(self) -> int: ...
    @property
    def active(self) -> bool: ...


class ImportRun:
    """The state one import shares between its files, and the helpers each file uses."""

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
        self.directory = StoredDirectory()
        # sourcedIds written by files the database refused, to explain later refusals.
        self.rolled_back: dict[str, set[str]] = {}
        # (kind, sourcedId) -> (file, line) of rows refused while applying, for the same reason.
        self.refused: dict[tuple[str, str], tuple[str, int]] = {}
        self.sessions = {
            session.source_id: session for session in roster.sessions.records if not session.deleted
        }

    def file_report(self, parsed: ParsedFile[Any], entity: str) -> FileReport:
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

    def restricted_out(self, school_id: int) -> bool:
        return self.restrict is not None and school_id != self.restrict

    def school_id_of(self, source_id: str | None) -> int | None:
        school = self.directory.schools_by_source.get(source_id or "")
        return None if school is None else school.id

    # -- refusals ------------------------------------------------------------------------

    def refuse(self, report: FileReport, kind: str, source_id: str, reason: RejectedRow) -> None:
        report.rejected.append(reason)
        self.refused.setdefault((kind, source_id), (reason.file, reason.line))

    def unknown(self, file: str, line: int, kind: str, source_id: str) -> RejectedRow:
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

    def outside(self, file: str, line: int) -> RejectedRow:
        return reject(
            file,
            line,
            N_(
                "this upload is limited to your school, and this row belongs to another "
                "school; an operator can import it."
            ),
        )

    # -- planning and applying -----------------------------------------------------------

    def deactivate(
        self,
        report: FileReport,
        writes: Writes,
        line: int,
        stored: _Deactivatable | None,
        **also: object,
    ) -> int | None:
        """A row marked tobedeleted deactivates the record it names (with ``also`` written
        too). Returns the record's id, or None when there is nothing this import may
        deactivate."""
        if stored is None:
            report.ignored += 1
            return None
        if self.restricted_out(stored.school_id):
            report.rejected.append(self.outside(report.file, line))
            return None
        if stored.active:
            writes.updates.append({"row_id": stored.id, "active": False, **also})
            report.deactivated += 1
        else:
            report.unchanged += 1
        return stored.id

    async def apply(
        self,
        report: FileReport,
        writes: Writes,
        write: FileWrite,
        source_ids: Iterable[str],
        *also: FileReport,
    ) -> bool:
        """Run one file's writes in one transaction; on a database error, roll it back whole,
        zero its counts and say so."""
        stage = Stage(report.file, writes.total, self.progress)
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

    async def apply_rows(
        self,
        report: FileReport,
        table: sa.Table,
        writes: Writes,
        source_ids: Iterable[str],
        *,
        after_commit: Callable[[Sequence[sa.Row[Any]]], None],
        returning: Sequence[sa.ColumnElement[Any]] = (),
    ) -> None:
        """:meth:`apply` for a file whose writes all go to one table; ``after_commit`` gets the
        inserted rows (their ``returning`` columns)."""

        async def write(connection: AsyncConnection, stage: Stage) -> Callable[[], None]:
            inserted = await write_rows(connection, table, writes, stage, returning)
            return lambda: after_commit(inserted)

        await self.apply(report, writes, write, source_ids)
